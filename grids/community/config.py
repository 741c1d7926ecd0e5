"""The community's settings file: kinds of volunteers and the star-rating thresholds.

The defaults ship as ``grids/community/community.toml``; a city points
``GRIDWATCH_COMMUNITY_FILE`` at its own copy.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grids.errors import InvalidInput

DEFAULT_FILE = Path(__file__).with_name("community.toml")


@dataclass(frozen=True)
class StarRule:
    """``stars`` need at least ``hours`` in the year and, if given, this mean evaluation."""

    stars: int
    hours: float
    mean_score: float | None = None


@dataclass(frozen=True)
class CommunityConfig:
    kinds: dict[str, str] = field(default_factory=dict)  # code -> label
    stars: tuple[StarRule, ...] = ()
    secret: str = ""  # signs volunteers' pseudonyms
    timezone: str = "Asia/Shanghai"

    def kind_code(self, value: str) -> str:
        """A kind given by its code (``yijing``) or its label (``义警``)."""
        if value in self.kinds:
            return value
        for code, label in self.kinds.items():
            if label == value:
                return code
        shown = ", ".join(f"{c} ({label})" for c, label in self.kinds.items())
        raise InvalidInput(f"unknown volunteer kind {value!r}; use one of {shown}")


def load_config(
    path: Path | None = None, *, secret: str = "", timezone: str = "Asia/Shanghai"
) -> CommunityConfig:
    """Read the settings file (the shipped defaults without one); refuses a broken file."""
    path = path or DEFAULT_FILE
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"GRIDWATCH_COMMUNITY_FILE {path}: {exc}") from exc
    kinds = {str(k): str(v) for k, v in data.get("kinds", {}).items()}
    if not kinds:
        raise InvalidInput(f"{path}: [kinds] names no kind of volunteer")
    rules = []
    for n, rule in enumerate(data.get("stars", []), start=1):
        try:
            stars, hours = int(rule["stars"]), float(rule["hours"])
            score = float(rule["mean_score"]) if "mean_score" in rule else None
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{path}: [[stars]] {n} needs stars and hours ({exc})") from exc
        if not 2 <= stars <= 5 or hours < 0 or (score is not None and not 1 <= score <= 5):
            raise InvalidInput(f"{path}: [[stars]] {n}: stars 2-5, hours >= 0, mean_score 1-5")
        rules.append(StarRule(stars, hours, score))
    return CommunityConfig(
        kinds, tuple(sorted(rules, key=lambda r: r.stars)), secret=secret, timezone=timezone
    )
