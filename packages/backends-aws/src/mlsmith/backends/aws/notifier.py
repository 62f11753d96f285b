"""``SnsNotifier`` (kind ``sns``): each event is published to an Amazon SNS topic.

``MLSMITH_NOTIFIER_URL=sns://arn:aws:sns:eu-west-1:123456789012:mlsmith-events`` with options
``endpoint_url``, ``region`` (default: the topic ARN's), ``retries`` (attempts per event).

The message is the shared JSON envelope ``{"event": ..., "payload": ...}`` (anything JSON cannot hold
is stringified); the event name also rides as the ``event`` message attribute, so subscriptions can
filter on it (``FilterPolicy: {"event": ["run.failed"]}``). Publishing is synchronous with short
timeouts and botocore's bounded retries (standard mode: backoff on throttling and 5xx); a delivery
that finally fails is logged, never raised, because a notification must not fail a run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlsmith.backends.local.notifier.envelope import encode_event
from mlsmith.core.backends import BuildContext
from mlsmith.core.errors import ConfigError

log = logging.getLogger(__name__)

_SETTING = "MLSMITH_NOTIFIER_URL"
_TOPIC_ARN = re.compile(
    r"^arn:aws[a-z-]*:sns:(?P<region>[a-z]{2}(-[a-z0-9]+){1,3}-\d{1,2}):\d{12}:[A-Za-z0-9_-]{1,256}"
    r"(\.fifo)?$"
)
MAX_ATTRIBUTE_CHARS = 256


class SnsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+/?$")
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z0-9]+){1,3}-\d{1,2}$")
    retries: int = Field(default=3, ge=1, le=10)


class SnsNotifier:
    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn
        self._closed = False

    def publish(self, event: str, payload: dict[str, Any]) -> None:
        try:
            if self._closed:
                log.warning("notifier closed; dropping event %r", event)
                return
            body = encode_event(event, payload).decode()
            name = _attribute(event)
            attributes = {"event": {"DataType": "String", "StringValue": name}} if name else {}
            self._sns.publish(TopicArn=self._topic_arn, Message=body, MessageAttributes=attributes)
        except Exception as exc:
            log.warning("could not publish event %r to SNS: %s", _attribute(event), exc)

    def close(self) -> None:
        self._closed = True


def _attribute(event: Any) -> str:
    try:
        return str(event)[:MAX_ATTRIBUTE_CHARS]
    except Exception:
        return ""


def build(url: str, options: Mapping[str, Any], ctx: BuildContext) -> SnsNotifier:
    import boto3  # lazy: choosing another notifier never imports it
    from botocore.config import Config

    arn = url.split("://", 1)[1] if "://" in url else ""
    match = _TOPIC_ARN.match(arn)
    if match is None:
        raise ConfigError(
            f"{_SETTING}={url}: expected sns://<topic ARN>, e.g. "
            "sns://arn:aws:sns:eu-west-1:123456789012:mlsmith-events",
            setting=_SETTING,
        )
    try:
        opts = SnsOptions.model_validate(dict(options))
    except ValidationError as exc:
        problems = "; ".join(
            f"MLSMITH_NOTIFIER_OPTIONS__{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(
            f"invalid SNS notifier options: {problems}", setting="MLSMITH_NOTIFIER_OPTIONS"
        ) from None
    config = Config(
        retries={"mode": "standard", "total_max_attempts": opts.retries},
        connect_timeout=3,
        read_timeout=5,
    )
    sns = boto3.session.Session().client(
        "sns",
        region_name=opts.region or match["region"],
        endpoint_url=opts.endpoint_url,
        config=config,
    )
    return SnsNotifier(sns, arn)
