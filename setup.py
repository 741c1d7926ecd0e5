"""Only one build step pyproject.toml cannot declare: ship the sample city's sources.

They live in ``data_samples/`` at the root of the checkout (next to their
provenance, shared with the tests and notebooks); the wheel carries the ones
``gridwatch samples build`` reads in ``grids/samples/data/``, where
``grids.samples.sources`` finds them when there is no checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: grids.samples.sources.TOWNS and TAXONOMY, and where they come from.
SOURCES = ("dongguan_towns.geojson", "taxonomy.toml", "PROVENANCE.md")


class BuildWithSamples(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "grids" / "samples" / "data"
        target.mkdir(parents=True, exist_ok=True)
        for name in SOURCES:
            shutil.copyfile(ROOT / "data_samples" / name, target / name)


setup(cmdclass={"build_py": BuildWithSamples})
