"""Synthetic people and duty rosters of the sample city.

Officers (网格员) cover grids, chiefs (网格长) communities and dispatchers the
town dispatch centres.  Gaps are deliberate — ~3% of grids have no officer,
~5% of communities no chief, nights and Sundays are mostly uncovered — so the
routing fallbacks (officer → chief → community → town) are exercised, while
the demo grid always has an officer on duty.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grids.city.people import PEOPLE_COLUMNS, ROSTER_COLUMNS

SURNAMES = (
    "陈李黄张梁林刘吴罗何郑杨叶钟邓曾谢冯蔡周王袁莫彭卢赖朱苏麦方卓邱余许温欧潘胡徐郭简翟古祁江"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂华建文志国海俊婷辉鹏锋雪玲慧宇"
    "浩嘉欣晓梓健永家燕佳锦荣坤铭晖颖琳彬东"
)
PHONE_PREFIXES = ("138", "139", "137", "136", "135", "150", "158", "186", "188", "189")

VALID_FROM = "2025-11-01"
HANDOVER_UNTIL = "2026-06-30"
HANDOVER_FROM = "2026-07-01"

#: Officer shift patterns: (share, [(weekdays, start, end), ...]).
OFFICER_SHIFTS: tuple[tuple[float, tuple[tuple[str, str, str], ...]], ...] = (
    (0.60, (("12345", "08:30", "17:30"),)),
    (0.12, (("123456", "08:30", "17:30"),)),
    (0.10, (("34567", "09:00", "18:00"),)),
    (0.08, (("12345", "13:00", "22:00"),)),
    (0.07, (("12345", "08:30", "17:30"), ("67", "09:00", "17:00"))),
    (0.03, (("567", "22:00", "06:00"),)),  # night patrol: Fri/Sat/Sun night
)
DEMO_ROTA = (
    ("1234567", "08:00", "16:00"),
    ("1234567", "16:00", "00:00"),
    ("1234567", "00:00", "08:00"),
)
CHIEF_ROTA = (("1234567", "08:00", "22:00"),)
DISPATCH_ROTAS = {
    2: (("1234567", "08:00", "20:00"), ("1234567", "20:00", "08:00")),
    3: DEMO_ROTA,
}


def synthetic_names(rng: np.random.Generator, n: int) -> list[str]:
    """Plausible but synthetic Chinese names: surname + one or two given characters."""
    sur = rng.integers(len(SURNAMES), size=n)
    g1 = rng.integers(len(GIVEN_CHARS), size=n)
    g2 = rng.integers(len(GIVEN_CHARS), size=n)
    two = rng.random(n) < 0.7
    return [
        SURNAMES[s] + GIVEN_CHARS[a] + (GIVEN_CHARS[b] if t else "")
        for s, a, b, t in zip(sur, g1, g2, two, strict=True)
    ]


def synthetic_phones(rng: np.random.Generator, n: int) -> list[str]:
    """Unique fake 11-digit mobile numbers (prefix + 8 random digits)."""
    pre = rng.integers(len(PHONE_PREFIXES), size=n)
    tail = rng.choice(10**8, size=n, replace=False)
    return [f"{PHONE_PREFIXES[p]}{t:08d}" for p, t in zip(pre, tail, strict=True)]


def build_people(
    rng: np.random.Generator,
    towns: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    demo_grid_code: str,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """people.csv and rosters.csv as DataFrames, plus counts for the manifest."""
    n = len(grids)
    gcodes = grids["code"].to_numpy(dtype=object)
    parents = grids["parent_code"].to_numpy(dtype=object)
    geoms = np.asarray(grids.geometry.values, dtype=object)
    demo = np.flatnonzero(gcodes == demo_grid_code)
    is_demo = np.zeros(n, dtype=bool)
    is_demo[demo] = True

    no_officer = (rng.random(n) < 0.03) & ~is_demo
    # share the previous grid's officer when it is a touching neighbour in the same community
    prev_ok = np.zeros(n, dtype=bool)
    if n > 1:
        prev_ok[1:] = (parents[1:] == parents[:-1]) & shapely.intersects(geoms[1:], geoms[:-1])
        prev_ok[1:] &= ~no_officer[:-1] & ~is_demo[:-1]
    share = prev_ok & ~no_officer & ~is_demo & (rng.random(n) < 0.12)
    share &= ~np.roll(share, 1)  # no chains: an officer covers at most two grids
    own = ~no_officer & ~share & ~is_demo
    officer_of = np.cumsum(own) - 1  # shared grids inherit the previous grid's officer

    shift_p = np.array([s for s, _ in OFFICER_SHIFTS])
    n_off = int(own.sum())
    shift_of = rng.choice(len(OFFICER_SHIFTS), size=n_off, p=shift_p / shift_p.sum())
    handover = rng.random(n_off) < 0.02

    people: list[tuple[int, str, str]] = []  # (person index, role, unit)
    rosters: list[tuple[int, str, str, str, str, str, str]] = []
    persons: list[str] = []

    def new_person(role: str) -> int:
        persons.append(role)
        return len(persons) - 1

    officer_pid = np.full(n_off, -1)
    successor_pid = np.full(n_off, -1)
    for gi in range(n):
        if no_officer[gi]:
            continue
        unit = str(gcodes[gi])
        if is_demo[gi]:
            for rota in DEMO_ROTA:
                pid = new_person("officer")
                people.append((pid, "officer", unit))
                rosters.append((pid, unit, *rota, VALID_FROM, ""))
            continue
        k = int(officer_of[gi])
        if officer_pid[k] < 0:
            officer_pid[k] = new_person("officer")
            if handover[k]:
                successor_pid[k] = new_person("officer")
        for pid, vf, vu in (
            (officer_pid[k], VALID_FROM, HANDOVER_UNTIL if handover[k] else ""),
            (successor_pid[k], HANDOVER_FROM, ""),
        ):
            if pid < 0:
                continue
            people.append((int(pid), "officer", unit))
            for rota in OFFICER_SHIFTS[int(shift_of[k])][1]:
                rosters.append((int(pid), unit, *rota, vf, vu))

    ccodes = communities["code"].to_numpy(dtype=object)
    no_chief = rng.random(len(ccodes)) < 0.05
    for c, skip in zip(ccodes, no_chief, strict=True):
        if skip:
            continue
        pid = new_person("chief")
        people.append((pid, "chief", str(c)))
        for rota in CHIEF_ROTA:
            rosters.append((pid, str(c), *rota, VALID_FROM, ""))

    n_disp = rng.integers(2, 4, size=len(towns))
    for t, k in zip(towns["code"], n_disp, strict=True):
        for rota in DISPATCH_ROTAS[int(k)]:
            pid = new_person("dispatcher")
            people.append((pid, "dispatcher", str(t)))
            rosters.append((pid, str(t), *rota, VALID_FROM, ""))

    codes = [f"P{i + 1:05d}" for i in range(len(persons))]
    names = synthetic_names(rng, len(persons))
    phones = synthetic_phones(rng, len(persons))
    pdf = pd.DataFrame(
        [(codes[p], names[p], phones[p], role, unit) for p, role, unit in people],
        columns=list(PEOPLE_COLUMNS),
    )
    rdf = pd.DataFrame(
        [(codes[r[0]], *r[1:]) for r in rosters],
        columns=list(ROSTER_COLUMNS),
    )
    roles = pd.Series(persons).value_counts()
    counts = {
        "people": len(persons),
        "people_rows": len(pdf),
        "officers": int(roles.get("officer", 0)),
        "chiefs": int(roles.get("chief", 0)),
        "dispatchers": int(roles.get("dispatcher", 0)),
        "grids_without_officer": int(no_officer.sum()),
        "grids_sharing_officer": int(share.sum()),
        "communities_without_chief": int(no_chief.sum()),
    }
    return pdf, rdf, counts
