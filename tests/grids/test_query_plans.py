"""The query plans of a store at size: a million cases on PostgreSQL, each of the five
questions of issue 15 asked through the service's own code, and the SQL it sent explained.

The intended index must appear, and neither ``cases`` nor ``case_events`` may be read by a
sequential scan. The store is built in bulk on the server (about 70 s on two cores, under
the ~90 s a test of ``make test`` may cost, so it is not marked slow); without the indexes
of migration 0011 the summary, month and nearby cases fail.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grids.cases.models import Case
from grids.samples.at_size import fill_cases
from grids.samples.plans import OPERATIONS, Sample, captured, explain, plan_nodes
from tests.conftest import HISTORY_AS_OF, Store, load_city, make_store

pytestmark = pytest.mark.xdist_group("size")

N_CASES = 1_000_000
WATCHED = ("cases", "case_events")
#: The index each operation is meant to use (besides primary keys).
INTENDED = {
    "dispatch queue of a town": {"ix_cases_town_status"},
    "a case's history": {"ix_case_events_case"},
    "nearby duplicates": {"ix_cases_open_category"},
    "a week's summary of a town": {"ix_cases_town_updated", "ix_case_events_action_at"},
    "hot spots of a month (a town's points)": {"ix_cases_town_reported"},
}


@pytest.fixture(scope="module")
def size_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sample_city_dir: Path
) -> Iterator[Store]:
    store = make_store("postgis", tmp_path_factory.mktemp("size"), request)
    load_city(store, sample_city_dir)
    with store.engine.begin() as conn:
        fill_cases(conn, N_CASES, end=HISTORY_AS_OF, history_share=0.2)
    yield store


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_operation_uses_its_index_and_never_scans_the_case_tables(
    size_store: Store, name: str
) -> None:
    used: set[str] = set()
    with size_store.sessions() as session:
        sample = Sample.load(session, HISTORY_AS_OF)
        for seed in range(3):
            with captured(size_store.engine) as sent:
                OPERATIONS[name](session, sample, random.Random(seed))
            watched = [(s, p) for s, p in sent if any(t in s for t in WATCHED)]
            assert watched, "the operation sent no query on the case tables"
            for statement, parameters in watched:
                nodes = list(plan_nodes(explain(session, statement, parameters)))
                scans = [n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"]
                assert not set(scans) & set(WATCHED), f"sequential scan in:\n{statement}"
                used |= {n["Index Name"] for n in nodes if "Index Name" in n}
    assert INTENDED[name] <= used, f"{name}: used {sorted(used)}"


def test_the_store_is_at_size(size_store: Store) -> None:
    with size_store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == N_CASES
