"""The rules of issue 9 at every door: merges, reassignment, duty time, verification,
rewards, apps acting for their users and identities that a phone number cannot take."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from geo.crs import from_wgs84
from grids.accounts.users import create_api_key, create_user
from grids.cases.models import Case, RewardEntry
from grids.city.models import Assignment, Person, Unit
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import CaseEnv


@dataclass
class Rules:
    """The module's app plus a few more users: officers of the demo grid and town, an app."""

    env: CaseEnv
    tokens: dict[str, str]
    town_officer: str  # the person code of an officer of another grid of the demo town
    other_town_officer: str
    town_dispatcher_person: str

    def headers(self, who: str) -> dict[str, str]:
        token = self.tokens.get(who) or self.env.tokens[who]
        return {"Authorization": f"Bearer {token}"}

    def get(self, path: str, who: str, **params: Any) -> Any:
        return self.env.client.get(path, params=params, headers=self.headers(who))

    def post(self, path: str, who: str, body: dict[str, Any]) -> Any:
        return self.env.client.post(path, json=body, headers=self.headers(who))

    def report(self, who: str = "citizen", **fields: Any) -> dict[str, Any]:
        body = {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled", **fields}
        response = self.post("/api/v1/cases", who, body)
        assert response.status_code == 201, response.text
        return response.json()

    def act(self, case: dict[str, Any], action: str, who: str, **body: Any) -> Any:
        fresh = self.get(f"/api/v1/cases/{case['id']}", "admin").json()
        return self.post(
            f"/api/v1/cases/{case['id']}/{action}", who, {"version": fresh["version"], **body}
        )

    def case(self, case_id: int) -> dict[str, Any]:
        return self.get(f"/api/v1/cases/{case_id}", "admin").json()

    def verify(self, case: dict[str, Any], who: str = "admin", **body: Any) -> Any:
        assert self.act(case, "acknowledge", who).status_code == 200
        return self.act(
            case, "verify", who, **{"valid": True, "lat": DEMO_LAT, "lon": DEMO_LON, **body}
        )


@pytest.fixture(scope="module")
def rules(case_env: CaseEnv) -> Iterator[Rules]:
    with case_env.store.transaction() as session:
        demo = session.scalar(select(Unit).where(Unit.code == case_env.demo_grid))
        assert demo is not None and demo.parent is not None and demo.parent.parent is not None
        town = demo.parent.parent

        def first_officer(*conditions: Any) -> str:
            code = session.scalar(
                select(Person.code)
                .join(Assignment, Assignment.person_id == Person.id)
                .join(Unit, Unit.id == Assignment.unit_id)
                .where(Assignment.role == "officer", *conditions)
                .order_by(Person.code)
            )
            assert code is not None
            return code

        town_officer = first_officer(
            Unit.code.startswith(town.code + "-"), Unit.code != case_env.demo_grid
        )
        other_town_officer = first_officer(~Unit.code.startswith(town.code + "-"))
        dispatcher = session.scalar(
            select(Person.code)
            .join(Assignment, Assignment.person_id == Person.id)
            .where(Assignment.role == "dispatcher", Assignment.unit_id == town.id)
        )
        assert dispatcher is not None
        tokens = {
            "town_officer": create_user(
                session, "town officer", "officer", person_code=town_officer
            )[1]
        }
        duty = session.scalars(
            select(Person.code)
            .join(Assignment, Assignment.person_id == Person.id)
            .where(Assignment.unit_id == demo.id, Assignment.role == "officer")
        ).all()
        for code in duty:
            tokens[code] = create_user(session, code, "officer", person_code=code)[1]
    yield Rules(case_env, tokens, town_officer, other_town_officer, dispatcher)


def make_app(rules: Rules, name: str) -> str:
    """A reporter app (e.g. 微信小程序) whose token submits for its own users."""
    with rules.env.store.transaction() as session:
        _user, token = create_user(session, name, "reporter", app=True)
    rules.tokens[name] = token
    return name


def steps(rules: Rules, who: str, case_id: int, **params: Any) -> dict[str, Any]:
    mine = rules.get("/api/v1/my/cases", who, **params)
    assert mine.status_code == 200, mine.text
    return next(m for m in mine.json() if m["id"] == case_id)


# 1. merge ------------------------------------------------------------------------------


def test_merge_back_into_ones_own_duplicate_is_refused_whatever_the_states(rules: Rules) -> None:
    first = rules.report(category="illegal_flyers")
    second = rules.report(category="illegal_flyers")
    assert rules.act(second, "merge", "dispatcher", duplicate_of=first["id"]).status_code == 200
    cycle = rules.act(first, "merge", "dispatcher", duplicate_of=second["id"])
    assert cycle.status_code == 409, cycle.text
    assert "cycle" in cycle.json()["detail"] or "itself" in cycle.json()["detail"]
    assert rules.case(first["id"])["status"] == "routed"


def test_merge_follows_the_chain_to_its_root(rules: Rules) -> None:
    root = rules.report(category="street_vending")
    middle = rules.report(category="street_vending")
    last = rules.report(category="street_vending")
    assert rules.act(middle, "merge", "dispatcher", duplicate_of=root["id"]).status_code == 200
    merged = rules.act(last, "merge", "dispatcher", duplicate_of=middle["id"])
    assert merged.status_code == 200, merged.text
    assert merged.json()["duplicate_of"] == root["id"]


def test_merging_a_case_that_has_duplicates_moves_them_to_the_new_root(rules: Rules) -> None:
    root = rules.report(category="uncivil_dog_keeping")
    middle = rules.report(category="uncivil_dog_keeping")
    leaf = rules.report(category="uncivil_dog_keeping")
    assert rules.act(leaf, "merge", "dispatcher", duplicate_of=middle["id"]).status_code == 200
    assert rules.act(middle, "merge", "dispatcher", duplicate_of=root["id"]).status_code == 200
    assert rules.case(leaf["id"])["duplicate_of"] == root["id"]


def test_merge_into_a_rejected_original_is_refused_with_the_reason(rules: Rules) -> None:
    rejected = rules.report(category="construction_nuisance")
    assert rules.act(rejected, "acknowledge", "dispatcher").status_code == 200
    assert (
        rules.act(
            rejected,
            "verify",
            "dispatcher",
            valid=False,
            reason="invalid",
            lat=DEMO_LAT,
            lon=DEMO_LON,
        ).status_code
        == 200
    )
    late = rules.report(category="construction_nuisance")
    refused = rules.act(late, "merge", "dispatcher", duplicate_of=rejected["id"])
    assert refused.status_code == 409, refused.text
    assert "rejected" in refused.json()["detail"]
    assert rules.case(late["id"])["status"] == "routed"


def test_merge_into_a_case_out_of_scope_is_404_as_for_reading(rules: Rules) -> None:
    lat, lon = rules.env.other_point
    far = rules.report(category="garbage_piled", lat=lat, lon=lon)
    near = rules.report(category="garbage_piled")
    assert rules.get(f"/api/v1/cases/{far['id']}", "dispatcher").status_code == 404
    refused = rules.act(near, "merge", "dispatcher", duplicate_of=far["id"])
    assert refused.status_code == 404, refused.text
    assert rules.case(near["id"])["status"] == "routed"


def test_rejecting_an_original_takes_its_duplicates_with_it(rules: Rules) -> None:
    original = rules.report(category="ebike_charging_hazard")
    duplicate = rules.report(category="ebike_charging_hazard")
    assert (
        rules.act(duplicate, "merge", "dispatcher", duplicate_of=original["id"]).status_code == 200
    )
    assert rules.act(original, "acknowledge", "dispatcher").status_code == 200
    rejected = rules.act(
        original, "verify", "dispatcher", valid=False, reason="invalid", lat=DEMO_LAT, lon=DEMO_LON
    )
    assert rejected.status_code == 200, rejected.text
    follower = rules.case(duplicate["id"])
    assert follower["status"] == "rejected" and follower["duplicate_of"] is None
    assert follower["reject_reason"] == "invalid"


def test_the_reporter_of_a_merged_duplicate_is_told_so_and_sees_each_step_once(
    rules: Rules,
) -> None:
    original = rules.report(who="other_citizen", category="billboard_hazard")
    duplicate = rules.report(category="billboard_hazard")
    assert (
        rules.act(duplicate, "merge", "dispatcher", duplicate_of=original["id"]).status_code == 200
    )
    assert rules.act(original, "acknowledge", "dispatcher").status_code == 200
    mine = steps(rules, "citizen", duplicate["id"])
    notes = [s["note"] for s in mine["steps"]]
    assert not any("不予立案" in n for n in notes), notes
    assert any("合并" in n and "existing" in n for n in notes), notes
    assert len(notes) == len(set(notes)), notes
    assert [s["status"] for s in mine["steps"]].count("reported") == 1
    assert mine["status"] == "acknowledged"  # follows the original


# 2. reassign ---------------------------------------------------------------------------


def test_reassign_to_an_officer_moves_the_routing_block_and_the_right_to_act(
    rules: Rules,
) -> None:
    case = rules.report()
    before = case["routing"]["assignee"]["person"]["code"]
    moved = rules.act(case, "reassign", "dispatcher", officer=rules.town_officer)
    assert moved.status_code == 200, moved.text
    routing = moved.json()["routing"]
    assert routing["assignee"]["person"]["code"] == rules.town_officer
    assert routing["officer"]["code"] == rules.town_officer
    assert routing["assignee"]["kind"] == "officer"
    assert rules.get(f"/api/v1/cases/{case['id']}", "town_officer").status_code == 200
    queue = rules.get("/api/v1/cases", "town_officer", limit=500).json()
    assert case["id"] in {c["id"] for c in queue["cases"]}
    old = rules.act(case, "acknowledge", before)
    assert old.status_code == 403, old.text
    assert rules.act(case, "acknowledge", "town_officer").status_code == 200


@pytest.mark.parametrize("who", ["dispatcher_person", "other_town_officer", "nobody"])
def test_reassign_accepts_only_officers_of_grids_in_the_dispatchers_scope(
    rules: Rules, who: str
) -> None:
    code = {
        "dispatcher_person": rules.town_dispatcher_person,
        "other_town_officer": rules.other_town_officer,
        "nobody": "P99999",
    }[who]
    case = rules.report()
    refused = rules.act(case, "reassign", "dispatcher", officer=code)
    assert refused.status_code == 422, refused.text
    assert code in refused.json()["detail"]
    assert rules.case(case["id"])["routing"] == case["routing"]


def test_reassign_to_a_grid_of_another_town_moves_everything_together(rules: Rules) -> None:
    case = rules.report()
    moved = rules.act(case, "reassign", "dispatcher", grid=rules.env.other_grid)
    assert moved.status_code == 200, moved.text
    seen = rules.case(case["id"])
    routing = seen["routing"]
    other_town = rules.env.other_grid.split("-")[0]
    assert routing["grid"]["code"] == rules.env.other_grid
    assert routing["town"]["code"] == other_town
    assert routing["community"]["code"] == "-".join(rules.env.other_grid.split("-")[:2])
    assignee = routing["assignee"]
    assert assignee["unit"]["code"].startswith(other_town)
    if assignee["person"] is not None:
        assert routing["officer"] == assignee["person"] or assignee["kind"] != "officer"
    far = rules.get(f"/api/v1/cases/{case['id']}", "far_dispatcher")
    assert far.status_code == 200, far.text
    queue = rules.get("/api/v1/cases", "far_dispatcher", grid=rules.env.other_grid, limit=500)
    assert case["id"] in {c["id"] for c in queue.json()["cases"]}


# 3. duty time --------------------------------------------------------------------------


def test_the_officer_on_duty_is_chosen_by_the_time_of_the_report(rules: Rules) -> None:
    def on_duty() -> str:
        routed = rules.get("/api/v1/locate", "admin", lat=DEMO_LAT, lon=DEMO_LON).json()
        return routed["assignee"]["person"]["code"]

    eight_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=8)
    then = rules.get(
        "/api/v1/locate", "admin", lat=DEMO_LAT, lon=DEMO_LON, at=eight_hours_ago.isoformat()
    ).json()["assignee"]["person"]["code"]
    before = on_duty()
    case = rules.report(occurred_at=eight_hours_ago.isoformat())
    after = on_duty()
    assert before != then or after != then  # the demo grid has three eight-hour shifts
    assert case["routing"]["assignee"]["person"]["code"] in {before, after}
    assert case["occurred_at"].startswith(eight_hours_ago.strftime("%Y-%m-%dT"))


@pytest.mark.parametrize(
    ("occurred", "message"),
    [("1970-01-01T00:00:00+08:00", "before"), ("2999-01-01T00:00:00+08:00", "future")],
)
def test_implausible_occurred_at_is_refused(rules: Rules, occurred: str, message: str) -> None:
    response = rules.post(
        "/api/v1/cases",
        "citizen",
        {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled", "occurred_at": occurred},
    )
    assert response.status_code == 422, response.text
    assert "occurred_at" in response.json()["detail"] and message in response.json()["detail"]


# 4. verify on site -----------------------------------------------------------------------


def test_verify_from_far_away_is_refused_and_pays_nothing(rules: Rules) -> None:
    case = rules.report(category="fire_exit_blocked")
    assert rules.act(case, "acknowledge", "dispatcher").status_code == 200
    far = rules.act(case, "verify", "dispatcher", valid=True, lat=DEMO_LAT + 0.27, lon=DEMO_LON)
    assert far.status_code == 422, far.text
    assert "km" in far.json()["detail"] and "within" in far.json()["detail"]
    assert rules.case(case["id"])["status"] == "acknowledged"
    with rules.env.store.sessions() as session:
        assert session.scalar(select(RewardEntry).where(RewardEntry.case_id == case["id"])) is None


def test_action_positions_take_a_crs_and_are_stored_in_wgs84(rules: Rules) -> None:
    case = rules.report(category="illegal_parking")
    gcj_lat, gcj_lon = (float(v) for v in from_wgs84(DEMO_LAT, DEMO_LON, "gcj02"))
    assert rules.act(case, "acknowledge", "dispatcher").status_code == 200
    verified = rules.act(
        case, "verify", "dispatcher", valid=True, lat=gcj_lat, lon=gcj_lon, crs="gcj02"
    )
    assert verified.status_code == 200, verified.text
    history = rules.get(f"/api/v1/cases/{case['id']}/history", "admin").json()
    position = history[-1]["position"]
    assert position["lat"] == pytest.approx(DEMO_LAT, abs=1e-6)
    assert position["lon"] == pytest.approx(DEMO_LON, abs=1e-6)
    bad = rules.act(case, "start", "dispatcher", lat=DEMO_LAT, lon=DEMO_LON, crs="utm")
    assert bad.status_code == 422 and "coordinate system" in bad.json()["detail"]


# 5. rewards ------------------------------------------------------------------------------


def test_reward_totals_stay_in_the_callers_scope(rules: Rules) -> None:
    case = rules.report(category="billboard_hazard")
    assert rules.verify(case).status_code == 200
    demo_town = case["routing"]["town"]["code"]
    mine = rules.get("/api/v1/rewards/totals", "dispatcher", by="town").json()
    assert [row["town"] for row in mine] == [demo_town]
    far = rules.get("/api/v1/rewards/totals", "far_dispatcher", by="town").json()
    assert demo_town not in {row["town"] for row in far}
    far_reporters = rules.get("/api/v1/rewards/totals", "far_dispatcher", by="reporter").json()
    assert far_reporters == []


def test_reporters_see_their_rewards_in_totals_my_cases_and_the_case(rules: Rules) -> None:
    case = rules.report(who="other_citizen", category="fire_exit_blocked")
    assert rules.verify(case).status_code == 200
    totals = rules.get("/api/v1/rewards/totals", "other_citizen")
    assert totals.status_code == 200, totals.text
    [row] = totals.json()
    assert float(row["yuan"]) >= 20 and row["points"] >= 10
    reward = steps(rules, "other_citizen", case["id"])["reward"]
    assert reward["yuan"] == "20.00" and reward["points"] == 10
    seen = rules.get(f"/api/v1/cases/{case['id']}", "other_citizen").json()
    assert seen["reward"] == reward


def test_the_verify_audit_row_records_the_award_or_why_none(rules: Rules) -> None:
    paid = rules.report(category="illegal_construction")
    assert rules.verify(paid).status_code == 200
    unpaid = rules.report(who="officer", category="illegal_construction")  # staff: no reporter
    assert rules.verify(unpaid).status_code == 200

    def verify_row(case_id: int) -> dict[str, Any]:
        history = rules.get(f"/api/v1/cases/{case_id}/history", "admin").json()
        return next(h for h in history if h["action"] == "verify")["data"]

    assert verify_row(paid["id"])["reward"] == {"yuan": "30.00", "points": 15, "note": ""}
    none = verify_row(unpaid["id"])
    assert none["reward"] is None and "reporter" in none["no_reward"]


# 6. apps act for their users -----------------------------------------------------------


def test_an_app_acts_for_each_of_its_users(rules: Rules) -> None:
    app = make_app(rules, "微信小程序")
    alice = rules.report(who=app, reporter={"id": "wx-alice", "phone": "13811110001"})
    bob = rules.report(who=app, reporter={"id": "wx-bob"})
    nobody = rules.report(who=app, category="fire_exit_blocked")
    needs = rules.get("/api/v1/my/cases", app)
    assert needs.status_code == 422 and "reporter" in needs.json()["detail"]
    as_alice = rules.get("/api/v1/my/cases", app, reporter="wx-alice").json()
    assert [m["id"] for m in as_alice] == [alice["id"]]
    as_bob = rules.get("/api/v1/my/cases", app, reporter="wx-bob").json()
    assert [m["id"] for m in as_bob] == [bob["id"]]
    assert rules.get(f"/api/v1/cases/{bob['id']}", app, reporter="wx-alice").status_code == 404
    assert rules.get(f"/api/v1/cases/{bob['id']}", app, reporter="wx-bob").status_code == 200
    assert rules.verify(nobody).status_code == 200
    with rules.env.store.sessions() as session:
        assert (
            session.scalar(select(RewardEntry).where(RewardEntry.case_id == nobody["id"])) is None
        )
    assert rules.verify(alice).status_code == 200
    alice_totals = rules.get("/api/v1/rewards/totals", app, reporter="wx-alice").json()
    assert len(alice_totals) == 1 and float(alice_totals[0]["yuan"]) == 5.0
    assert rules.get("/api/v1/rewards/totals", app, reporter="wx-bob").json() == []


# 10. a phone number is contact data, never identity -----------------------------------


def test_a_phone_number_cannot_take_someone_elses_history_or_rewards(rules: Rules) -> None:
    phone = "13811112222"
    first = rules.report(category="garbage_piled", reporter={"phone": phone})
    app = make_app(rules, "另一个应用")
    claimed = rules.report(
        who=app, category="fire_exit_blocked", reporter={"id": "x", "phone": phone}
    )
    stranger = rules.report(
        who="other_citizen", category="fire_exit_blocked", reporter={"phone": phone}
    )
    mine = rules.get("/api/v1/my/cases", "citizen").json()
    assert first["id"] in {m["id"] for m in mine}
    assert not {claimed["id"], stranger["id"]} & {m["id"] for m in mine}
    for case in (claimed, stranger):
        assert rules.get(f"/api/v1/cases/{case['id']}", "citizen").status_code == 404
        assert rules.verify(case).status_code == 200
    with rules.env.store.sessions() as session:
        owners = {
            c.id: c.reporter_id
            for c in session.scalars(
                select(Case).where(Case.id.in_([first["id"], claimed["id"], stranger["id"]]))
            )
        }
    assert len(set(owners.values())) == 3
    admin = rules.case(stranger["id"])
    assert admin["reporter"]["phone"] == phone  # kept as contact data, for admins only


def test_open311_clients_act_for_their_own_users_only(rules: Rules) -> None:
    with rules.env.store.transaction() as session:
        keys = [create_api_key(session, name) for name in ("client-a", "client-b")]

    def post(key: str, **fields: str) -> int:
        response = rules.env.client.post(
            "/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "garbage_piled",
                "lat": str(DEMO_LAT),
                "long": str(DEMO_LON),
                **fields,
            },
        )
        assert response.status_code == 201, response.text
        return int(response.json()[0]["service_request_id"])

    first = post(keys[0], account_id="u-1", phone="13822223333")
    again = post(keys[0], email="", account_id="u-1")
    other_client = post(keys[1], account_id="u-1")
    by_phone = post(keys[1], phone="13822223333")
    with rules.env.store.sessions() as session:
        reporter = {
            c.id: c.reporter_id
            for c in session.scalars(
                select(Case).where(Case.id.in_([first, again, other_client, by_phone]))
            )
        }
    assert reporter[first] == reporter[again] is not None
    assert reporter[other_client] not in (None, reporter[first])
    assert reporter[by_phone] is None  # a phone alone is nobody's identity
