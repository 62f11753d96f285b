"""The webhook notifier against a real HTTP server on 127.0.0.1 (a thread of this test)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlsmith.backends.local.notifier import WebhookNotifier
from mlsmith.backends.local.notifier.signing import verify
from mlsmith.core.testing.contracts.notifier import Delivered, NotifierContract, delivered_where

SECRET = b"webhook-secret-for-tests-0123456789"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next scripted status (then 200) and records it."""

    url: str
    statuses: list[int] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    answered_ok: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with state.lock:
                state.requests.append(request)
                status = state.statuses.pop(0) if state.statuses else 200
                if status == 200:
                    state.answered_ok.append(request)
            self.send_response(status)
            if status in (301, 302, 307):
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/mlsmith?t=tok")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _notifier(url: str, **overrides: object) -> WebhookNotifier:
    options = {"retries": 3, "backoff_s": 0.01, "allow_private_networks": True, **overrides}
    return WebhookNotifier(url, SECRET, **options)  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


class TestWebhookNotifier(NotifierContract):
    __test__ = True

    @pytest.fixture
    def notifier(self, receiver: Receiver) -> Iterator[WebhookNotifier]:
        notifier = _notifier(receiver.url)
        yield notifier
        notifier.close()

    @pytest.fixture
    def delivered(self, receiver: Receiver) -> Delivered:
        def bodies() -> list[dict]:
            with receiver.lock:
                return [json.loads(r.body) for r in receiver.answered_ok]

        return bodies


def test_a_delivery_is_signed_with_the_secret_over_timestamp_and_body(receiver: Receiver):
    notifier = _notifier(receiver.url)

    notifier.publish("run.succeeded", {"run_id": "r1"})
    notifier.close()

    [request] = receiver.requests
    assert request.path == "/hooks/mlsmith?t=tok"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-mlsmith-event"] == "run.succeeded"
    timestamp = request.headers["x-mlsmith-timestamp"]
    assert abs(int(timestamp) - time.time()) < 300
    signature = request.headers["x-mlsmith-signature"]
    assert signature.startswith("sha256=")
    assert verify(SECRET, timestamp, request.body, signature)
    assert not verify(b"another-secret-entirely-000000", timestamp, request.body, signature)
    assert not verify(SECRET, str(int(timestamp) + 1), request.body, signature)
    assert json.loads(request.body) == {"event": "run.succeeded", "payload": {"run_id": "r1"}}


def test_a_server_error_is_retried_and_the_event_delivered_once(receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    notifier = _notifier(receiver.url)

    notifier.publish("run.failed", {"run_id": "r2"})
    notifier.close()

    assert [r.body for r in receiver.requests] == [receiver.requests[0].body] * 3
    assert len({r.headers["x-mlsmith-delivery"] for r in receiver.requests}) == 1
    assert len(receiver.answered_ok) == 1


@pytest.mark.parametrize("status", [400, 404, 410, 302])
def test_a_client_error_or_redirect_is_not_retried(
    receiver: Receiver, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.statuses = [status]
    notifier = _notifier(receiver.url)

    notifier.publish("run.failed", {"run_id": "r3"})
    notifier.close()

    assert len(receiver.requests) == 1
    assert f"HTTP {status}" in caplog.text


def test_retries_are_bounded(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.statuses = [500] * 10
    notifier = _notifier(receiver.url, retries=2)

    notifier.publish("run.failed", {"run_id": "r4"})
    notifier.close()

    assert len(receiver.requests) == 3
    assert "HTTP 500" in caplog.text


def test_an_unreachable_receiver_neither_raises_nor_leaks_the_secret_or_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    notifier = _notifier(f"http://127.0.0.1:{_closed_port()}/hooks/T0KEN", retries=2)

    notifier.publish("run.succeeded", {"run_id": "r5"})
    notifier.close()

    assert "failed" in caplog.text
    assert SECRET.decode() not in caplog.text
    assert "T0KEN" not in caplog.text


def test_publish_does_not_wait_for_a_slow_receiver(receiver: Receiver) -> None:
    receiver.statuses = [500] * 10
    notifier = _notifier(receiver.url, retries=10, backoff_s=0.5, flush_timeout_s=0.1)

    notifier.publish("run.started", {"run_id": "r6"})
    notifier.publish("run.progress", {"run_id": "r6"})
    # Both returned while the first delivery is still retrying: nothing reached a 200 yet.
    assert receiver.answered_ok == []
    notifier.close()  # gives up after flush_timeout_s instead of retrying for seconds


def test_loopback_is_refused_unless_private_networks_are_allowed(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = _notifier(receiver.url, allow_private_networks=False)

    notifier.publish("run.succeeded", {"run_id": "r7"})
    notifier.close()

    assert receiver.requests == []
    assert "refused" in caplog.text


@pytest.mark.parametrize("host", ["169.254.169.254", "[fe80::1]", "[::ffff:169.254.169.254]"])
def test_link_local_and_metadata_addresses_are_always_refused(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = _notifier(f"http://{host}/latest/meta-data", allow_private_networks=True)

    notifier.publish("run.succeeded", {"run_id": "r8"})
    notifier.close()

    assert "refused" in caplog.text


def test_the_receiver_sees_deliveries_in_publish_order(receiver: Receiver) -> None:
    notifier = _notifier(receiver.url)
    for n in range(20):
        notifier.publish("run.progress", {"step": n})

    seen = delivered_where(
        lambda: [json.loads(r.body) for r in receiver.answered_ok],
        lambda s: len(s) >= 20,
    )
    notifier.close()

    assert [item["payload"]["step"] for item in seen] == list(range(20))
