"""The store's cases as a Parquet history for analysts (and for the Dask engine).

Layout: hive-style partitions by the month in the city's time zone,
``DIR/month=YYYY-MM/part-0.parquet``, one file per month, so Dask, pandas,
DuckDB or Spark read ``DIR`` as one table with a ``month`` column.

Columns (:data:`EXPORT_SCHEMA`): the case's H3 cell at resolution 12 as the
store keeps it (int64; the analytics read it as uint64), when it was reported
(UTC), its category code, status and reject reason, whether it is a duplicate,
whether it ``counted`` as a report of a problem (the analytics' own rule,
:func:`grids.analytics.cases.counted_cases`, evaluated by the store), and the
codes of its grid, community and town.

Nothing else leaves the store: no reporter, contact or account, no
description or other free text, no exact position beyond the ~300 m² cell.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grids.analytics.cases import counted_cases, window_conditions
from grids.analytics.selection import Selection
from grids.cases.models import Case
from grids.city.models import Category, Unit
from grids.errors import InvalidInput

EXPORT_SCHEMA = pa.schema(
    [
        ("cell", pa.int64()),
        ("reported_at", pa.timestamp("us", tz="UTC")),
        ("category", pa.string()),
        ("status", pa.string()),
        ("reject_reason", pa.string()),
        ("duplicate", pa.bool_()),
        ("counted", pa.bool_()),
        ("grid_code", pa.string()),
        ("community_code", pa.string()),
        ("town_code", pa.string()),
    ]
)
#: Rows read from the store at a time (bounded memory on any history).
CHUNK_ROWS = 200_000
PART_FILE = "part-0.parquet"


@dataclass
class ExportResult:
    """What an export wrote: rows per month (``YYYY-MM``)."""

    directory: Path
    months: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.months.values())


def prepare_directory(out: Path, *, force: bool) -> None:
    """Refuse a directory that holds anything unless ``force``; with it, remove the
    ``month=...`` partitions of an earlier export (nothing else)."""
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} is a file; name a directory to export into")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise InvalidInput(f"{out} is not empty; choose a new directory or pass --force")
        for old in out.glob("month=*"):
            shutil.rmtree(old)
    out.mkdir(parents=True, exist_ok=True)


def export_cases(
    session: Session,
    out: Path,
    *,
    selection: Selection | None = None,
    tz: str,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Write the cases reported in the selection's window to ``out`` (see the module
    docstring); ``progress(done, total)`` after each chunk of rows."""
    prepare_directory(out, force=force)
    conditions = window_conditions(selection or Selection())
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    codes: dict[int, str] = dict(session.execute(select(Unit.id, Unit.code)).all())  # type: ignore[arg-type]
    query = (
        select(
            Case.h3_cell,
            Case.reported_at,
            Category.code,
            Case.status,
            Case.reject_reason,
            Case.duplicate_of_id.is_not(None),
            counted_cases(),
            Case.grid_id,
            Case.community_id,
            Case.town_id,
        )
        .join(Category, Category.id == Case.category_id)
        .where(*conditions)
        .order_by(Case.id)
        .execution_options(yield_per=CHUNK_ROWS)
    )
    result = ExportResult(out)
    writers: dict[str, pq.ParquetWriter] = {}
    done = 0
    try:
        for rows in session.execute(query).partitions():
            frame = _frame(rows, codes)
            months = frame["reported_at"].dt.tz_convert(tz).dt.strftime("%Y-%m")
            for month, part in frame.groupby(months.to_numpy(), sort=True):
                if month not in writers:
                    (out / f"month={month}").mkdir()
                    path = out / f"month={month}" / PART_FILE
                    writers[month] = pq.ParquetWriter(path, EXPORT_SCHEMA)
                table = pa.Table.from_pandas(part, schema=EXPORT_SCHEMA, preserve_index=False)
                writers[month].write_table(table)
                result.months[month] = result.months.get(month, 0) + len(part)
            done += len(rows)
            if progress is not None:
                progress(done, total)
    finally:
        for writer in writers.values():
            writer.close()
    result.months = dict(sorted(result.months.items()))
    return result


def _frame(rows: Sequence[Any], codes: dict[int, str]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows,
        columns=[
            "cell",
            "reported_at",
            "category",
            "status",
            "reject_reason",
            "duplicate",
            "counted",
            "grid_id",
            "community_id",
            "town_id",
        ],
    )
    frame["cell"] = frame["cell"].astype("int64")
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    frame["duplicate"] = frame["duplicate"].astype(bool)
    frame["counted"] = frame["counted"].astype(bool)
    for level in ("grid", "community", "town"):
        ids = frame.pop(f"{level}_id")
        frame[f"{level}_code"] = ids.map(codes).astype(object).where(ids.notna(), None)
    return frame
