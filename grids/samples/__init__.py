"""The seeded sample city: Dongguan's real towns with synthetic grids, people and reports.

Entry points: ``build_sample_city`` (``generate``), ``load.load_sample_city``,
``load.load_sample_patrols``, ``history.load_sample_history`` (the year as cases, with
``lifecycles`` and ``patrol_history``) and the demo accounts in ``accounts``; ``sources``
finds the towns and the taxonomy (the checkout's ``data_samples/`` or the copies shipped in
the package).
"""

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
