"""``WebhookNotifier``: signed JSON POSTs, delivered on a background thread with bounded retries.

``publish`` only encodes the event and queues it, so a slow or dead receiver never holds up a
run. Connection errors and 5xx answers are retried with exponential backoff; 4xx are not (the
receiver refused this request, sending it again will not help); redirects are never followed.
A delivery that finally fails is logged, never raised.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, Field, SecretStr, ValidationError

from mlsmith.backends.local.egress import EgressRefused, pin
from mlsmith.backends.local.notifier.envelope import encode_event
from mlsmith.backends.local.notifier.signing import sign
from mlsmith.core.backends import BuildContext
from mlsmith.core.errors import ConfigError

log = logging.getLogger(__name__)

SECRET_SETTING = "MLSMITH_NOTIFIER_OPTIONS__SECRET"  # noqa: S105 - a setting name, not a secret


@dataclass(frozen=True)
class _Delivery:
    event: str
    body: bytes
    delivery_id: str


_STOP = object()


class WebhookNotifier:
    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        retries: int = 3,
        backoff_s: float = 0.2,
        timeout_s: float = 5.0,
        flush_timeout_s: float = 10.0,
        queue_size: int = 1000,
        allow_private_networks: bool = False,
    ) -> None:
        self._url = httpx.URL(url)
        # Logs name the origin only: webhook paths and queries often carry tokens (Slack, ...).
        self._origin = f"{self._url.scheme}://{self._url.host}"
        self._secret = secret
        self._retries = retries
        self._backoff_s = backoff_s
        self._flush_timeout_s = flush_timeout_s
        self._allow_private = allow_private_networks
        # trust_env=False: a proxy from the environment would bypass the address checks.
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._abort = threading.Event()  # set when close() gives up waiting: stop retrying
        self._lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None

    def publish(self, event: str, payload: dict[str, Any]) -> None:
        try:
            delivery = _Delivery(str(event), encode_event(event, payload), uuid.uuid4().hex)
            with self._lock:
                if self._closed:
                    log.warning("webhook notifier is closed; event %r dropped", delivery.event)
                    return
                self._ensure_thread()
                self._queue.put_nowait(delivery)
        except queue.Full:
            log.warning("webhook queue is full; event %r dropped", event)
        except Exception:
            log.warning("could not queue webhook event %r", event, exc_info=True)

    def close(self) -> None:
        """Deliver what is queued, waiting at most ``flush_timeout_s``, then stop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(self._flush_timeout_s)
            if thread.is_alive():
                log.warning("webhook deliveries still pending at close were abandoned")
                self._abort.set()
                thread.join(1.0)
        self._client.close()

    # -- delivery thread ------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._drain, name="mlsmith-webhook", daemon=True)
            self._thread.start()

    def _drain(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            if self._abort.is_set():
                continue
            try:
                self._deliver(item)
            except Exception:
                log.warning("webhook delivery of %r failed", item.event, exc_info=True)

    def _deliver(self, delivery: _Delivery) -> None:
        attempts = self._retries + 1
        reason = "not attempted"
        for attempt in range(attempts):
            if attempt and self._abort.wait(self._backoff_s * 2 ** (attempt - 1)):
                break
            try:
                response = self._post(delivery)
            except EgressRefused as exc:
                log.warning("webhook to %s refused: %s", self._origin, exc)
                return
            except (httpx.TransportError, OSError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                continue
            if response.is_success:
                return
            reason = f"HTTP {response.status_code}"
            if response.status_code < 500:  # 3xx (not followed) and 4xx: retrying cannot help
                break
        log.warning(
            "webhook delivery %s of %r to %s failed (%s)",
            delivery.delivery_id,
            delivery.event,
            self._origin,
            reason,
        )

    def _post(self, delivery: _Delivery) -> httpx.Response:
        url, host, extensions = pin(self._url, self._allow_private)
        timestamp = str(int(time.time()))
        headers = {
            **host,
            "Content-Type": "application/json",
            "User-Agent": "mlsmith-webhook",
            "X-Mlsmith-Event": delivery.event,
            "X-Mlsmith-Delivery": delivery.delivery_id,  # same on retries: receivers dedupe
            "X-Mlsmith-Timestamp": timestamp,
            "X-Mlsmith-Signature": sign(self._secret, timestamp, delivery.body),
        }
        response = self._client.post(
            url, content=delivery.body, headers=headers, extensions=extensions
        )
        response.close()
        return response


class WebhookOptions(BaseModel, extra="forbid"):
    secret: SecretStr = Field(min_length=16)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_s: float = Field(default=0.2, ge=0, le=60)
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    flush_timeout_s: float = Field(default=10.0, ge=0)
    queue_size: int = Field(default=1000, ge=1)
    allow_private_networks: bool = False


def build_webhook(url: str, options: Mapping[str, Any], ctx: BuildContext) -> WebhookNotifier:
    scheme, _, rest = url.partition("://")
    target_scheme = scheme.lower().partition("+")[2]
    if target_scheme not in ("http", "https") or not rest:
        raise ConfigError(
            "MLSMITH_NOTIFIER_URL: a webhook URL looks like webhook+https://host/path",
            setting="MLSMITH_NOTIFIER_URL",
        )
    if not options.get("secret"):
        raise ConfigError(
            f"{SECRET_SETTING} is required for webhook notifications "
            "(receivers verify the X-Mlsmith-Signature header with it)",
            setting=SECRET_SETTING,
        )
    try:
        opts = WebhookOptions.model_validate(dict(options))
    except ValidationError as exc:
        # Built from locations and messages only: never echo the input, it may be the secret.
        problems = "; ".join(
            f"MLSMITH_NOTIFIER_OPTIONS__{'__'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(problems, setting="MLSMITH_NOTIFIER_OPTIONS") from None
    return WebhookNotifier(
        f"{target_scheme}://{rest}",
        opts.secret.get_secret_value().encode(),
        retries=opts.retries,
        backoff_s=opts.backoff_s,
        timeout_s=opts.timeout_s,
        flush_timeout_s=opts.flush_timeout_s,
        queue_size=opts.queue_size,
        allow_private_networks=opts.allow_private_networks,
    )
