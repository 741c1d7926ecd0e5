"""How much data a hot-spot analysis needs before it says anything, and how it infers.

The minimums are those of the reference tools, ArcGIS Pro's Hot Spot Analysis
(at least 30 features — here: cells holding at least one report) and
Emerging Hot Spot Analysis (at least 10 time steps). Below them an analysis
is refused with the reason (:class:`TooLittleData`, HTTP 422, CLI exit 2),
never shown as a 99 % hot spot.

Inference: ``normal`` (the z-score's normal p-value, the default) or
``permutation`` — conditional permutations, esda's pseudo p-values, with
``permutations`` draws from ``seed`` (for sparse fields, where the normal
approximation is poor); the classes then come from those p-values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from grids.errors import InvalidInput

#: ArcGIS Pro's minimum for Hot Spot Analysis: features (cells) holding reports.
MIN_HOTSPOT_CELLS = 30
#: ArcGIS Pro's minimum for Emerging Hot Spot Analysis: time steps of the cube.
MIN_TIME_STEPS = 10
INFERENCES = ("normal", "permutation")
PERMUTATIONS_RANGE = (99, 9999)
DEFAULT_PERMUTATIONS = 999


class TooLittleData(InvalidInput):
    """A selection below the minimum of the analysis (HTTP 422); ``body`` says what the
    selection held (its reports, cells with reports or time steps, the minimum)."""

    def __init__(self, message: str, body: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.body = dict(body)


@dataclass(frozen=True)
class Inference:
    """How significance is judged: ``normal`` or ``permutation`` (with its draws and seed)."""

    method: str = "normal"
    permutations: int = DEFAULT_PERMUTATIONS
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.method not in INFERENCES:
            raise InvalidInput(
                f"inference must be one of {', '.join(INFERENCES)}, got {self.method!r}"
            )
        lo, hi = PERMUTATIONS_RANGE
        if self.method == "permutation" and not lo <= self.permutations <= hi:
            raise InvalidInput(f"permutations must be from {lo} to {hi}, got {self.permutations}")

    @property
    def draws(self) -> int:
        """The permutations to run (0 for normal inference)."""
        return self.permutations if self.method == "permutation" else 0

    def describe(self) -> dict[str, object]:
        if self.method == "normal":
            return {"inference": "normal"}
        return {"inference": self.method, "permutations": self.permutations, "seed": self.seed}


def check_hotspot_field(counts: ArrayLike, about: Mapping[str, Any] | None = None) -> int:
    """The number of cells holding reports; refuses a field with fewer than the minimum
    (``about``, e.g. the selection and its reports, goes into the refusal's body)."""
    held = int(np.count_nonzero(np.asarray(counts)))
    if held < MIN_HOTSPOT_CELLS:
        raise TooLittleData(
            f"Gi* needs reports in at least {MIN_HOTSPOT_CELLS} cells (the minimum of "
            f"ArcGIS Pro's Hot Spot Analysis); this selection has reports in {held}: widen "
            "the period or the unit, choose a finer res, or leave out the category",
            {**(about or {}), "cells_with_reports": held, "minimum": MIN_HOTSPOT_CELLS},
        )
    return held


def check_time_steps(steps: int, freq: str, about: Mapping[str, Any] | None = None) -> int:
    """Refuses a space-time cube with fewer time steps than the minimum."""
    if steps < MIN_TIME_STEPS:
        raise TooLittleData(
            f"emerging hot spots need at least {MIN_TIME_STEPS} time steps (the minimum of "
            f"ArcGIS Pro's Emerging Hot Spot Analysis); this selection spans {steps} "
            f"{freq}{'s' if steps != 1 else ''}: choose a shorter freq or a longer period",
            {**(about or {}), "time_steps": steps, "minimum": MIN_TIME_STEPS},
        )
    return steps
