"""Outbound webhooks: case events recorded in an outbox, delivered with retries.

A delivery row is written in the same transaction as the change it reports,
so an event exists exactly when its change does; a worker (inside the
service, or ``gridwatch webhooks deliver --once``) posts due rows and backs
off exponentially while a receiver is down. Nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from grids.cases.models import WebhookDelivery
from grids.db import transaction, utcnow

MAX_BACKOFF = dt.timedelta(hours=1)


def enqueue(
    session: Session, subscriptions: dict[str, list[str]], event: str, payload: dict[str, Any]
) -> int:
    """Record one delivery per URL subscribed to ``event`` (or to ``*``)."""
    urls = sorted(set(subscriptions.get(event, [])) | set(subscriptions.get("*", [])))
    now = utcnow()
    body = {"event": event, "at": now.isoformat(timespec="seconds"), **payload}
    for url in urls:
        session.add(
            WebhookDelivery(url=url, event=event, payload=body, attempts=0, next_attempt_at=now)
        )
    return len(urls)


def deliver_due(
    sessions: sessionmaker[Session],
    *,
    secret: str,
    client: httpx.Client | None = None,
    now: dt.datetime | None = None,
    limit: int = 100,
) -> tuple[int, int]:
    """Post the deliveries that are due; returns (delivered, failed). A 2xx marks one done."""
    now = now or utcnow()
    own_client = client is None
    client = client or httpx.Client(timeout=5.0)
    delivered = failed = 0
    try:
        with transaction(sessions) as session:
            due = session.scalars(
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.delivered_at.is_(None), WebhookDelivery.next_attempt_at <= now
                )
                .order_by(WebhookDelivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in due:
                body = json.dumps(row.payload, ensure_ascii=False).encode()
                signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                row.attempts += 1
                try:
                    response = client.post(
                        row.url,
                        content=body,
                        headers={
                            "Content-Type": "application/json",
                            "X-Gridwatch-Event": row.event,
                            "X-Gridwatch-Signature": f"sha256={signature}",
                            "X-Gridwatch-Delivery": str(row.id),
                        },
                    )
                    ok = 200 <= response.status_code < 300
                    error = None if ok else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, error = False, f"{type(exc).__name__}: {exc}"
                if ok:
                    row.delivered_at = now
                    row.last_error = None
                    delivered += 1
                else:
                    backoff = min(dt.timedelta(seconds=10 * 2 ** (row.attempts - 1)), MAX_BACKOFF)
                    row.next_attempt_at = now + backoff
                    row.last_error = error
                    failed += 1
    finally:
        if own_client:
            client.close()
    return delivered, failed
