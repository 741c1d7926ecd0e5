"""The conversation on a case: who may write, who sees whom, the audit row, the webhook."""

from __future__ import annotations

from sqlalchemy import select

from grids.accounts.users import create_user, user_for_token
from grids.cases.conversation import post_message
from grids.cases.intake import CaseConfig
from grids.cases.models import Case, CaseEvent, WebhookDelivery
from grids.events import LiveEvent
from tests.api.conftest import CaseEnv


def messages(env: CaseEnv, case: dict, who: str) -> list[dict]:
    response = env.client.get(f"/api/v1/cases/{case['id']}/messages", headers=env.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


def write(env: CaseEnv, case: dict, who: str, body: str) -> object:
    return env.client.post(
        f"/api/v1/cases/{case['id']}/messages", json={"body": body}, headers=env.headers(who)
    )


def test_reporter_and_officer_talk_and_the_reporter_stays_a_pseudonym(case_env: CaseEnv) -> None:
    case = case_env.report()
    asked = write(case_env, case, "officer", "请问具体在几号楼？")
    assert asked.status_code == 201, asked.text
    answered = write(case_env, case, "citizen", "3号楼东侧")
    assert answered.status_code == 201, answered.text

    seen_by_officer = messages(case_env, case, "officer")
    assert [m["body"] for m in seen_by_officer] == ["请问具体在几号楼？", "3号楼东侧"]
    pseudonym = case["reporter"]["pseudonym"]
    assert seen_by_officer[1]["author"] == pseudonym and seen_by_officer[1]["side"] == "reporter"
    assert seen_by_officer[0]["author"] == "officer (officer)" and seen_by_officer[0]["mine"]
    text = str(seen_by_officer)
    assert "张三" not in text and "13800001111" not in text and "wx-001" not in text

    seen_by_reporter = messages(case_env, case, "citizen")
    assert seen_by_reporter[0]["author"] == "网格员 / grid officer"  # a role, not a name
    assert seen_by_reporter[1]["author"] == "我 / me" and seen_by_reporter[1]["mine"]
    assert messages(case_env, case, "dispatcher") == [m | {"mine": False} for m in seen_by_officer]

    history = case_env.client.get(
        f"/api/v1/cases/{case['id']}/history", headers=case_env.headers("dispatcher")
    ).json()
    rows = [h for h in history if h["action"] == "message"]
    assert [r["note"] for r in rows] == ["请问具体在几号楼？", "3号楼东侧"]
    assert [r["data"]["side"] for r in rows] == ["staff", "reporter"]
    with case_env.store.sessions() as session:
        kinds = session.scalars(
            select(LiveEvent.kind).where(LiveEvent.case_id == case["id"]).order_by(LiveEvent.id)
        ).all()
    assert kinds == ["case.created", "case.message", "case.message"]


def test_outsiders_cannot_read_or_write(case_env: CaseEnv) -> None:
    case = case_env.report()
    for who in ("stranger", "other_citizen", "far_dispatcher"):
        assert write(case_env, case, who, "hello").status_code == 404, who
        response = case_env.client.get(
            f"/api/v1/cases/{case['id']}/messages", headers=case_env.headers(who)
        )
        assert response.status_code == 404, who
    planner = write(case_env, case, "planner", "hello")
    assert planner.status_code == 403 and "planner" in planner.json()["detail"]
    assert write(case_env, case, "officer", "   ").status_code == 422
    too_long = write(case_env, case, "officer", "字" * 2001)
    assert too_long.status_code == 422
    assert (
        case_env.client.post(f"/api/v1/cases/{case['id']}/messages", json={"body": "x"}).status_code
        == 401
    )
    assert messages(case_env, case, "officer") == []
    with case_env.store.sessions() as session:
        assert not session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case["id"], CaseEvent.action == "message")
        ).all()


def test_a_message_to_the_reporter_is_offered_to_the_webhooks(case_env: CaseEnv) -> None:
    with case_env.store.transaction() as session:
        app_token = create_user(session, "微信小程序-会话", "reporter", app=True)[1]
    case_env.tokens["mini_program"] = app_token  # an app acting for its user "wx-001"
    case = case_env.report("mini_program")
    config = CaseConfig(secret="s", webhooks={"case.message": ["http://127.0.0.1:9/gateway"]})
    with case_env.store.transaction() as session:
        item = session.get(Case, case["id"])
        officer = user_for_token(session, case_env.tokens["officer"])
        app = user_for_token(session, app_token)
        sent = post_message(session, config, item, "已到现场", user=officer)
        post_message(session, config, item, "谢谢", user=app)
    with case_env.store.sessions() as session:
        rows = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.event == "case.message")
        ).all()
    offered = [r.payload for r in rows if r.payload["case_id"] == case["id"]]
    assert len(offered) == 1  # the reporter's own message is not sent back to them
    assert offered[0]["message_id"] == sent.id and offered[0]["text"] == "已到现场"
    assert offered[0]["to"]["pseudonym"] == case["reporter"]["pseudonym"]
    assert offered[0]["to"]["app_user_id"] == "wx-001"  # the gateway needs the address
