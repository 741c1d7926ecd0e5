"""Where the sample city's sources are: the checkout's ``data_samples/`` or the package's copy.

A source checkout has them in ``data_samples/`` beside the packages; a wheel
ships the ones ``gridwatch samples build`` reads (the towns and the taxonomy,
with their provenance) inside this package, under ``data/``, copied there by
``setup.py`` when the wheel is built. A directory the user names
(``GRIDWATCH_SAMPLES_DIR``) is looked in first.
"""

from __future__ import annotations

from pathlib import Path

from grids.errors import InvalidInput

TOWNS = "dongguan_towns.geojson"
TAXONOMY = "taxonomy.toml"

CHECKOUT_DIR = Path(__file__).resolve().parents[2] / "data_samples"
PACKAGED_DIR = Path(__file__).resolve().parent / "data"


class SampleSourceMissing(InvalidInput):
    """A source file of the sample city is in none of the places looked in."""


def bundled_dir() -> Path:
    """The sources that came with gridwatch: the checkout's, else the package's copy."""
    return CHECKOUT_DIR if CHECKOUT_DIR.is_dir() else PACKAGED_DIR


def source_path(name: str, samples_dir: Path | None = None) -> Path:
    """The source ``name`` from ``samples_dir`` if it has it, else the bundled copy."""
    places = [Path(samples_dir)] if samples_dir is not None else []
    places.append(bundled_dir())
    for place in places:
        if (place / name).is_file():
            return place / name
    looked = " and ".join(str(p) for p in dict.fromkeys(places))
    raise SampleSourceMissing(
        f"the sample city's source {name} is missing (looked in {looked}); set "
        "GRIDWATCH_SAMPLES_DIR to a directory holding it, e.g. the data_samples/ of a "
        "gridwatch checkout"
    )
