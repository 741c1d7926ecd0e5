"""The community file: the shipped defaults, kinds by code or label, a broken file refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from grids.community.config import load_config
from grids.errors import InvalidInput


def test_the_shipped_defaults() -> None:
    config = load_config()
    assert set(config.kinds.values()) == {"义警", "平安志愿者", "劝导队员", "楼栋长", "信息员"}
    assert [r.stars for r in config.stars] == [2, 3, 4, 5]
    assert config.kind_code("义警") == config.kind_code("yijing") == "yijing"
    with pytest.raises(InvalidInput, match="unknown volunteer kind '保安'; use one of yijing"):
        config.kind_code("保安")


def test_a_citys_own_file(tmp_path: Path) -> None:
    own = tmp_path / "community.toml"
    own.write_text('[kinds]\nxunluo = "巡逻队员"\n\n[[stars]]\nstars = 3\nhours = 5\n')
    config = load_config(own)
    assert config.kinds == {"xunluo": "巡逻队员"} and config.stars[0].hours == 5
    own.write_text('[kinds]\nx = "X"\n\n[[stars]]\nstars = 7\nhours = 5\n')
    with pytest.raises(InvalidInput, match=r"\[\[stars\]\] 1: stars 2-5"):
        load_config(own)
    own.write_text("[kinds\n")
    with pytest.raises(InvalidInput, match="GRIDWATCH_COMMUNITY_FILE"):
        load_config(own)
