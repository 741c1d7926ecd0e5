"""The seeded sample city: Dongguan's real towns with synthetic grids, people and reports."""

from grids.samples.generate import (
    DEFAULT_SEED,
    DEMO_LAT,
    DEMO_LON,
    GENERATOR_VERSION,
    SampleCityManifest,
    build_sample_city,
    expected_grid_count,
)

__all__ = [
    "DEFAULT_SEED",
    "DEMO_LAT",
    "DEMO_LON",
    "GENERATOR_VERSION",
    "SampleCityManifest",
    "build_sample_city",
    "expected_grid_count",
]
