"""SnsNotifier passes the notifier contract on a moto server (over HTTP): ``delivered`` reads an SQS
queue subscribed to the topic with raw message delivery. Plus the event attribute, an unreachable
endpoint, and building from settings."""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from mlsmith.backends.aws.notifier import SnsNotifier
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.errors import ConfigError
from mlsmith.core.ports.notifier import Notifier
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.notifier import Delivered, NotifierContract, delivered_where

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto accepts any credentials; never let boto3 find real ones."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


class _Subscriber:
    """A fresh topic and an SQS queue subscribed to it; collects what arrives."""

    def __init__(self, endpoint: str) -> None:
        name = f"t{uuid.uuid4().hex[:12]}"
        self.sns = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
        self.topic_arn = self.sns.create_topic(Name=name)["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.sns.subscribe(
            TopicArn=self.topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        self.messages: list[dict[str, Any]] = []

    def receive(self) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        for message in got.get("Messages", []):
            self.messages.append(message)
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return self.messages

    def delivered(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in self.receive()]


@pytest.fixture
def subscriber(moto_server_url: str) -> _Subscriber:
    return _Subscriber(moto_server_url)


def _build(url: str, options: dict[str, Any]) -> Notifier:
    ctx = BuildContext(settings=Settings(notifier_url=url, notifier_options=options))
    return resolve_builder("notifier", url)(url, options, ctx)


class TestSnsNotifier(NotifierContract):
    __test__ = True

    @pytest.fixture
    def notifier(self, subscriber: _Subscriber, moto_server_url: str) -> Iterator[Notifier]:
        notifier = _build(f"sns://{subscriber.topic_arn}", {"endpoint_url": moto_server_url})
        yield notifier
        notifier.close()

    @pytest.fixture
    def delivered(self, subscriber: _Subscriber) -> Delivered:
        return subscriber.delivered


def test_the_event_name_rides_as_a_message_attribute(
    subscriber: _Subscriber, moto_server_url: str
) -> None:
    notifier = _build(f"sns://{subscriber.topic_arn}", {"endpoint_url": moto_server_url})

    notifier.publish("deployment.created", {"slug": "churn"})

    delivered_where(subscriber.delivered, lambda seen: len(seen) >= 1)
    [message] = subscriber.messages
    assert message["MessageAttributes"]["event"]["StringValue"] == "deployment.created"


def test_an_unreachable_endpoint_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    notifier = _build(
        "sns://arn:aws:sns:us-east-1:123456789012:nowhere",
        {"endpoint_url": f"http://127.0.0.1:{port}", "retries": 2},
    )

    with caplog.at_level(logging.WARNING, logger="mlsmith.backends.aws.notifier"):
        assert notifier.publish("run.failed", {"run_id": "r"}) is None

    assert any("run.failed" in r.getMessage() for r in caplog.records)


def test_sns_kind_resolves_from_settings_to_the_sns_notifier() -> None:
    notifier = _build("sns://arn:aws:sns:eu-west-1:123456789012:mlsmith-events", {})

    assert isinstance(notifier, SnsNotifier) and isinstance(notifier, Notifier)


@pytest.mark.parametrize(
    ("url", "options", "setting"),
    [
        ("sns://", {}, "MLSMITH_NOTIFIER_URL"),
        ("sns://mlsmith-events", {}, "MLSMITH_NOTIFIER_URL"),
        ("sns://arn:aws:sqs:us-east-1:123456789012:q", {}, "MLSMITH_NOTIFIER_URL"),
        (
            "sns://arn:aws:sns:us-east-1:123456789012:t",
            {"retries": 0},
            "MLSMITH_NOTIFIER_OPTIONS__RETRIES",
        ),
        (
            "sns://arn:aws:sns:us-east-1:123456789012:t",
            {"secret": "x"},
            "MLSMITH_NOTIFIER_OPTIONS__SECRET",
        ),
    ],
)
def test_bad_sns_settings_fail_naming_the_setting(url: str, options: dict, setting: str) -> None:
    with pytest.raises(ConfigError, match=setting):
        _build(url, options)
