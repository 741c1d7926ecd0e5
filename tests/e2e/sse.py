"""A server-sent events client for tests: reads a stream in a thread, parses its events."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Event:
    id: str | None
    kind: str
    data: dict[str, Any]


class EventReader:
    """``GET url`` as an event stream in a background thread; ``wait_for`` the events."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []
        self.status: int | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()
        assert self._ready.wait(30), "the event stream did not open"

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._read(url, headers)
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise
        finally:
            self._ready.set()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(30, read=60)) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            self._response = response
            self.status = response.status_code
            self.content_type = response.headers.get("content-type", "")
            self._ready.set()
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if not line:
                    if "event" in fields or "data" in fields:
                        self.events.put(
                            Event(
                                fields.get("id"),
                                fields.get("event", "message"),
                                json.loads(fields.get("data") or "{}"),
                            )
                        )
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")

    def wait_for(self, matches: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The first event (seen or to come) that ``matches``; fails after ``timeout``."""
        for event in self.seen:
            if matches(event):
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(event)
            if matches(event):
                return event
        raise AssertionError(f"no matching event in {timeout} s; saw {self.seen}")

    def drain(self, wait: float = 1.0) -> list[Event]:
        """Every event that arrives within ``wait`` seconds from now."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                self.seen.append(self.events.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                break
        return self.seen

    def close(self) -> None:
        """Drop the connection, as a browser that goes offline would."""
        self._stop.set()
        self._response.close()
        self._thread.join(timeout=5)
