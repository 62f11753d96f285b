import pytest

from mlsmith.core.ports.notifier import Notifier
from mlsmith.core.testing.contracts.notifier import Delivered, NotifierContract
from mlsmith.core.testing.fakes.notifier import RecordingNotifier


class TestRecordingNotifier(NotifierContract):
    __test__ = True

    @pytest.fixture
    def notifier(self) -> RecordingNotifier:
        return RecordingNotifier()

    @pytest.fixture
    def delivered(self, notifier: RecordingNotifier) -> Delivered:
        return lambda: [{"event": e, "payload": p} for e, p in notifier.events]


def test_recording_notifier_is_a_notifier_and_finds_events_by_name() -> None:
    notifier = RecordingNotifier()
    assert isinstance(notifier, Notifier)

    notifier.publish("run.started", {"run_id": "a"})
    notifier.publish("run.failed", {"run_id": "a", "error": "boom"})
    notifier.publish("run.started", {"run_id": "b"})

    assert notifier.named("run.started") == [{"run_id": "a"}, {"run_id": "b"}]
    assert notifier.named("run.failed") == [{"run_id": "a", "error": "boom"}]
