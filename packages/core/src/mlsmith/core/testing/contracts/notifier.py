"""Contract of the notifier port: every notifier (recording fake, log, webhook, SNS) passes it.

Subclass with ``__test__ = True`` and two fixtures: ``notifier`` (the notifier under test; the
fixture closes it afterwards) and ``delivered``, a callable returning what the destination has
received so far as decoded envelopes ``{"event": ..., "payload": ...}``. Delivery may be
asynchronous, so the contract polls ``delivered`` with a generous deadline.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import pytest

from mlsmith.core.ports.notifier import Notifier

DEADLINE_S = 30.0

Delivered = Callable[[], list[dict[str, Any]]]


def delivered_where(
    delivered: Delivered, condition: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """Poll ``delivered()`` until ``condition`` holds; return the last list seen either way."""
    deadline = time.monotonic() + DEADLINE_S
    seen = delivered()
    while not condition(seen) and time.monotonic() < deadline:
        time.sleep(0.02)
        seen = delivered()
    return seen


def _named(event: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda seen: any(item.get("event") == event for item in seen)


class _Opaque:
    def __str__(self) -> str:
        return "opaque-thing"


class _Hostile:
    def __str__(self) -> str:
        raise RuntimeError("no string for you")


class NotifierContract:
    __test__ = False

    @pytest.fixture
    def notifier(self) -> Notifier:
        raise NotImplementedError

    @pytest.fixture
    def delivered(self) -> Delivered:
        raise NotImplementedError

    def test_an_event_with_a_nested_payload_is_delivered_as_published(
        self, notifier: Notifier, delivered: Delivered
    ) -> None:
        payload = {
            "run_id": "run-1",
            "metrics": {"roc_auc": 0.91, "folds": [0.9, 0.92], "best": {"model": "lgbm"}},
            "tags": ["nightly", "é✓"],
            "ok": True,
            "note": None,
        }

        assert notifier.publish("run.succeeded", payload) is None

        seen = delivered_where(delivered, _named("run.succeeded"))
        assert {"event": "run.succeeded", "payload": payload} in seen

    def test_values_json_cannot_hold_are_stringified_instead_of_raising(
        self, notifier: Notifier, delivered: Delivered
    ) -> None:
        when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
        run = uuid.UUID("12345678-1234-5678-1234-567812345678")
        payload = {
            "when": when,
            "run": run,
            "path": PurePosixPath("/data/x.csv"),
            "thing": _Opaque(),
            "nested": {"deeper": [_Opaque(), {"set": {3}}]},
            "nan": float("nan"),
        }

        notifier.publish("run.odd", payload)

        seen = delivered_where(delivered, _named("run.odd"))
        [envelope] = [item for item in seen if item["event"] == "run.odd"]
        got = envelope["payload"]
        assert "2024-05-01" in got["when"]
        assert got["run"] == str(run)
        assert got["path"] == "/data/x.csv"
        assert got["thing"] == "opaque-thing"
        assert got["nested"]["deeper"][0] == "opaque-thing"
        assert got["nested"]["deeper"][1]["set"] == [3]
        assert got["nan"] is None

    def test_payloads_that_cannot_be_encoded_at_all_do_not_raise(
        self, notifier: Notifier, delivered: Delivered
    ) -> None:
        cycle: dict[str, Any] = {"name": "loop"}
        cycle["self"] = cycle

        notifier.publish("run.cycle", cycle)
        notifier.publish("run.hostile", {"value": _Hostile()})

        seen = delivered_where(
            delivered, lambda s: _named("run.cycle")(s) and _named("run.hostile")(s)
        )
        assert _named("run.cycle")(seen)
        assert _named("run.hostile")(seen)

    def test_every_event_is_delivered_once_in_order(
        self, notifier: Notifier, delivered: Delivered
    ) -> None:
        for n in range(5):
            notifier.publish("run.progress", {"step": n})

        seen = delivered_where(
            delivered, lambda s: sum(i["event"] == "run.progress" for i in s) >= 5
        )
        steps = [i["payload"]["step"] for i in seen if i["event"] == "run.progress"]
        assert steps == [0, 1, 2, 3, 4]

    def test_publish_after_close_does_not_raise(self, notifier: Notifier) -> None:
        notifier.close()

        notifier.publish("run.late", {"run_id": "r"})
