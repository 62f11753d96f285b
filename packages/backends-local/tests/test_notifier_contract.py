"""The log notifier on the notifier contract, and both notifier kinds built from settings.

The webhook notifier runs the same contract in ``test_webhook_delivery.py``, next to its receiver.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from mlsmith.backends.local.notifier import LogNotifier, WebhookNotifier
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.errors import ConfigError
from mlsmith.core.ports.notifier import Notifier
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.notifier import Delivered, NotifierContract

SECRET = "webhook-secret-for-tests-0123456789"


class TestLogNotifier(NotifierContract):
    __test__ = True

    @pytest.fixture
    def notifier(self, caplog: pytest.LogCaptureFixture) -> LogNotifier:
        caplog.set_level(logging.INFO, logger="mlsmith.events")
        return LogNotifier()

    @pytest.fixture
    def delivered(self, caplog: pytest.LogCaptureFixture) -> Delivered:
        def lines() -> list[dict]:
            return [
                json.loads(r.getMessage()) for r in caplog.records if r.name == "mlsmith.events"
            ]

        return lines


def test_each_event_is_one_json_log_line_tagged_with_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mlsmith.events")

    LogNotifier().publish("deployment.created", {"slug": "churn", "multi": "line\nbreak"})

    [record] = [r for r in caplog.records if r.name == "mlsmith.events"]
    assert "\n" not in record.getMessage()
    assert record.mlsmith_event == "deployment.created"
    assert json.loads(record.getMessage())["payload"]["multi"] == "line\nbreak"


def _build(url: str, options: dict, tmp_path: Path) -> Notifier:
    ctx = BuildContext(settings=Settings(data_dir=tmp_path, notifier_url=url))
    return resolve_builder("notifier", url)(url, options, ctx)


def test_log_and_webhook_notifiers_build_from_settings(tmp_path: Path) -> None:
    log_notifier = _build("log://", {}, tmp_path)
    webhook = _build("webhook+https://hooks.example.com/x", {"secret": SECRET}, tmp_path)

    assert isinstance(log_notifier, LogNotifier) and isinstance(log_notifier, Notifier)
    assert isinstance(webhook, WebhookNotifier) and isinstance(webhook, Notifier)
    webhook.close()


@pytest.mark.parametrize("options", [{}, {"secret": ""}])
def test_a_webhook_without_a_secret_fails_naming_the_setting(options: dict, tmp_path: Path):
    with pytest.raises(ConfigError, match="MLSMITH_NOTIFIER_OPTIONS__SECRET"):
        _build("webhook+https://hooks.example.com/x", options, tmp_path)


def test_bad_webhook_options_never_echo_the_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _build("webhook+http://h/x", {"secret": "short-secret", "retries": -1}, tmp_path)

    assert "short-secret" not in str(caught.value)
    assert "short-secret" not in repr(caught.value.details)
    assert "MLSMITH_NOTIFIER_OPTIONS__RETRIES" in str(caught.value)


@pytest.mark.parametrize("url", ["webhook+ftp://h/x", "webhook+https://", "webhook://h/x"])
def test_a_webhook_url_must_be_http_or_https(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MLSMITH_NOTIFIER_URL"):
        _build(url, {"secret": SECRET}, tmp_path)
