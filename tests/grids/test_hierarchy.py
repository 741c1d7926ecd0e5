"""Importing units from files: field mapping, coordinate systems, the validation report,
and refusals that leave the store untouched. Both backends."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import func, select

from geo.crs import from_wgs84
from geo.errors import CRSError, GeoInputError, GeometryError
from grids.city.hierarchy import FieldMap, ensure_city, import_units
from grids.city.models import Unit
from grids.errors import ImportRefused
from tests.conftest import Store

TOWN_A = shapely.box(113.70, 23.00, 113.80, 23.10)
TOWN_B = shapely.box(113.80, 23.00, 113.90, 23.10)


def write(path: Path, records: list[dict], driver: str | None = None, crs: int = 4326) -> Path:
    frame = gpd.GeoDataFrame(records, geometry="geometry", crs=4326)
    if crs != 4326:
        frame = frame.to_crs(crs)
    frame.to_file(path, driver=driver) if driver else frame.to_file(path)
    return path


def count_units(store: Store) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(Unit)) or 0


def city_with_towns(store: Store, tmp_path: Path) -> None:
    towns = write(
        tmp_path / "towns.geojson",
        [
            {"TOWN_ID": "A", "TOWN_NAME": "甲镇", "geometry": TOWN_A},
            {"TOWN_ID": "B", "TOWN_NAME": "乙镇", "geometry": TOWN_B},
        ],
    )
    with store.transaction() as session:
        ensure_city(session, "C", "城市")
        import_units(
            session, towns, level="town", fields=FieldMap(code="TOWN_ID", name="TOWN_NAME")
        )


def test_imports_with_field_mapping_and_links_parents(store: Store, tmp_path: Path) -> None:
    city_with_towns(store, tmp_path)
    with store.sessions() as session:
        towns = session.scalars(select(Unit).where(Unit.level == "town").order_by(Unit.code)).all()
        assert [(t.code, t.name, t.parent.code) for t in towns] == [
            ("A", "甲镇", "C"),
            ("B", "乙镇", "C"),
        ]
        assert towns[0].area_m2 == pytest.approx(0.1 * 102_450 * 0.1 * 110_750, rel=0.01)
        assert shapely.equals(towns[0].geom, TOWN_A)


def test_report_finds_repairs_overlaps_gaps_and_children_outside(
    store: Store, tmp_path: Path
) -> None:
    city_with_towns(store, tmp_path)
    bowtie = shapely.Polygon(
        [(113.70, 23.00), (113.74, 23.04), (113.74, 23.00), (113.70, 23.04), (113.70, 23.00)]
    )
    communities = write(
        tmp_path / "communities.gpkg",
        [
            {"code": "A1", "name": "一村", "parent_code": "A", "geometry": bowtie},
            # overlaps A1's right triangle by 0.01 x 0.04 degrees, sticks out of town A
            {
                "code": "A2",
                "name": "二村",
                "parent_code": "A",
                "geometry": shapely.box(113.73, 23.00, 113.81, 23.04),
            },
        ],
    )
    with store.transaction() as session:
        report = import_units(session, communities, level="community")
    assert report.created == 2
    assert [r["code"] for r in report.repaired] == ["A1"]
    assert "Self-intersection" in report.repaired[0]["reason"]
    assert len(report.overlaps) == 1
    overlap = report.overlaps[0]
    assert {overlap["a"], overlap["b"]} == {"A1", "A2"}
    # the part of the right triangle east of 113.73: a trapezoid of 0.01 x (0.02 + 0.04) / 2 degrees
    assert overlap["area_m2"] == pytest.approx(0.01 * 0.03 * 102_450 * 110_750, rel=0.01)
    assert [o["code"] for o in report.outside_parent] == ["A2"]
    assert report.outside_parent[0]["area_m2"] == pytest.approx(
        0.01 * 0.04 * 102_400 * 110_700, rel=0.05
    )
    gaps = [g for g in report.gaps if g["parent"] == "A"]
    assert gaps and sum(g["area_m2"] for g in gaps) > 50e6  # most of town A is not covered
    with store.sessions() as session:
        stored = session.scalar(select(Unit.geom).where(Unit.code == "A1"))
    assert stored.is_valid and stored.geom_type == "MultiPolygon"


def test_reimport_updates_by_code(store: Store, tmp_path: Path) -> None:
    city_with_towns(store, tmp_path)
    towns = write(
        tmp_path / "towns2.geojson",
        [{"code": "A", "name": "甲街道", "geometry": TOWN_A}],
    )
    with store.transaction() as session:
        report = import_units(session, towns, level="town")
    assert (report.created, report.updated) == (0, 1)
    with store.sessions() as session:
        assert session.scalar(select(Unit.name).where(Unit.code == "A")) == "甲街道"


def test_gcj02_and_projected_files_are_stored_in_wgs84(store: Store, tmp_path: Path) -> None:
    with store.transaction() as session:
        ensure_city(session, "C", "城市")
    lat, lon = from_wgs84(
        np.array([23.0, 23.0, 23.1, 23.1]), np.array([113.7, 113.8, 113.8, 113.7]), "gcj02"
    )
    shifted = shapely.Polygon(np.column_stack([lon, lat]))
    gcj = write(tmp_path / "gcj.geojson", [{"code": "G", "name": "火星", "geometry": shifted}])
    utm = write(
        tmp_path / "utm.shp", [{"code": "U", "name": "投影", "geometry": TOWN_B}], crs=32649
    )
    with store.transaction() as session:
        import_units(session, gcj, level="town", crs="gcj02")
        import_units(session, utm, level="town")
    with store.sessions() as session:
        g = session.scalar(select(Unit.geom).where(Unit.code == "G"))
        u = session.scalar(select(Unit.geom).where(Unit.code == "U"))
    np.testing.assert_allclose(shapely.bounds(g), shapely.bounds(TOWN_A), atol=1e-7)
    np.testing.assert_allclose(shapely.bounds(u), shapely.bounds(TOWN_B), atol=1e-6)


@pytest.mark.parametrize(
    ("records", "kwargs", "error", "message"),
    [
        (
            [{"code": "X", "geometry": TOWN_A}],
            {},
            ImportRefused,
            r"no attribute 'name'.*\['code'\]",
        ),
        (
            [{"code": "X", "name": "x", "geometry": TOWN_A}],
            {"parent_code": "NOPE"},
            ImportRefused,
            "parent codes not in the store: \\['NOPE'\\]",
        ),
        (
            [{"code": "X", "name": "x", "geometry": shapely.Point(113.7, 23.0)}],
            {},
            GeometryError,
            "Point is not a polygon",
        ),
        (
            [
                {"code": "X", "name": "x", "geometry": TOWN_A},
                {"code": "X", "name": "y", "geometry": TOWN_B},
            ],
            {},
            ImportRefused,
            "codes appear twice",
        ),
        ([{"code": "X", "name": "x", "geometry": TOWN_A}], {"crs": "gcj-99"}, CRSError, "wgs84"),
    ],
)
def test_refusals_name_the_problem_and_write_nothing(
    store: Store, tmp_path: Path, records: list, kwargs: dict, error: type, message: str
) -> None:
    city_with_towns(store, tmp_path)
    before = count_units(store)
    path = write(tmp_path / "bad.geojson", records)
    with pytest.raises(error, match=message), store.transaction() as session:
        import_units(session, path, level="community", **{"parent_code": "A", **kwargs})
    assert count_units(store) == before


def test_refuses_empty_files_and_unlabelled_projected_coordinates(
    store: Store, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(GeoInputError, match="no features"), store.transaction() as session:
        import_units(session, empty, level="town", parent_code="C")
    projected = tmp_path / "projected.geojson"
    projected.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"code": "P", "name": "p"}, "geometry": {"type": "Polygon", "coordinates": '
        "[[[500000, 2500000], [501000, 2500000], [501000, 2501000], [500000, 2500000]]]}}]}"
    )
    with pytest.raises(CRSError, match="--source-epsg"), store.transaction() as session:
        import_units(session, projected, level="town", parent_code="C")
