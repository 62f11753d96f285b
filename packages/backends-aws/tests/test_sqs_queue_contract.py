"""SqsJobQueue passes the queue port contract on a moto server (over HTTP), with its job records in
a SQLite metadata database; ``make_queue`` gives the contract a second worker (its own store,
engine and boto3 client) on the same queues and database. Plus: redrive to the dead-letter queue,
long polling, and building from settings."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from mlsmith.backends.aws.queue import SqsJobQueue
from mlsmith.backends.local.db import SqlMetadataStore
from mlsmith.backends.local.db import build as build_db
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.domain import JobStatus
from mlsmith.core.errors import BackendUnavailable, ConfigError, InvalidInput
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.queue import LONG_LEASE, JobQueueContract, wait_out
from mlsmith.core.testing.fakes.metadata import InMemoryMetadataStore

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto accepts any credentials; never let boto3 find real ones."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


class _Queues:
    """Builds SQS queues (fresh queue name per test) over one SQLite database."""

    def __init__(self, endpoint: str, db_url: str, **options: Any) -> None:
        self.name = f"t{uuid.uuid4().hex[:12]}"
        self.options = {"endpoint_url": endpoint, "region": REGION, "wait_time_s": 0}
        self.options |= {"create": True} | options
        self.db_url = db_url
        self.stores: list[SqlMetadataStore] = []

    def __call__(self) -> SqsJobQueue:
        ctx = BuildContext(settings=Settings(database_url=self.db_url))
        store = build_db(self.db_url, {}, ctx)
        self.stores.append(store)
        if len(self.stores) == 1:
            store.migrate()
        ctx.built["db"] = store
        return resolve_builder("queue", "sqs://x")(f"sqs://{self.name}", self.options, ctx)

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture
def queues(moto_server_url: str, tmp_path: Path) -> Iterator[_Queues]:
    q = _Queues(moto_server_url, f"sqlite:///{tmp_path / 'mlsmith.db'}")
    yield q
    q.close()


@pytest.fixture
def sqs(moto_server_url: str) -> Any:
    return boto3.client("sqs", endpoint_url=moto_server_url, region_name=REGION)


class TestSqsJobQueue(JobQueueContract):
    __test__ = True
    lease_s = 1.0  # SQS visibility timeouts are whole seconds

    @pytest.fixture
    def queue(self, queues: _Queues) -> SqsJobQueue:
        return queues()

    @pytest.fixture
    def make_queue(self, queues: _Queues) -> Callable[[], SqsJobQueue]:
        return queues


def _bodies(sqs: Any, queue_name: str) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_a_job_whose_leases_keep_expiring_is_redriven_to_the_dead_letter_queue(
    queues: _Queues, sqs: Any
) -> None:
    queue = queues()
    job = queue.enqueue("train", {"run_id": "r1"}, max_attempts=2)
    for _ in range(2):
        assert queue.claim(1.0) is not None
        wait_out(1.0)

    assert queue.claim(1.0) is None  # the third receive moves it instead of handing it out

    assert _bodies(sqs, f"{queues.name}_dlq") == [
        {"job_id": job.id, "kind": "train", "payload": {"run_id": "r1"}}
    ]
    assert _bodies(sqs, f"{queues.name}-train") == []
    stored = queue.get(job.id)
    assert (stored.status, stored.attempts, stored.last_error) == (
        JobStatus.DEAD,
        2,
        "lease expired",
    )


def test_a_nack_without_retry_moves_the_message_to_the_named_dead_letter_queue(
    queues: _Queues, sqs: Any
) -> None:
    queues.options["dead_letter_queue"] = f"{queues.name}-graveyard"
    queue = queues()
    job = queue.enqueue("eda", {"report_id": "rep"})
    got = queue.claim(LONG_LEASE)
    assert got is not None and got.lease_token

    assert queue.nack(got.id, got.lease_token, "bad input", retry=False) is True

    [body] = _bodies(sqs, f"{queues.name}-graveyard")
    assert body["job_id"] == job.id
    assert _bodies(sqs, f"{queues.name}-eda") == []


def test_a_retried_nack_makes_the_message_visible_again_in_sqs(queues: _Queues, sqs: Any) -> None:
    queue = queues()
    job = queue.enqueue("train", {})
    got = queue.claim(LONG_LEASE)
    assert got is not None and got.lease_token

    assert queue.nack(got.id, got.lease_token, "flaky") is True

    assert [b["job_id"] for b in _bodies(sqs, f"{queues.name}-train")] == [job.id]


def test_a_long_poll_hands_out_a_job_enqueued_while_it_waits(queues: _Queues) -> None:
    queues.options["wait_time_s"] = 10
    waiting, producer = queues(), queues()
    producer.enqueue("train", {"warm": True})  # creates the queue and the kind record
    first = waiting.claim(LONG_LEASE)
    assert first is not None and first.lease_token
    waiting.ack(first.id, first.lease_token)

    later = threading.Timer(0.5, lambda: producer.enqueue("train", {"n": 2}))
    later.start()
    try:
        got = waiting.claim(LONG_LEASE, kinds=("train",))
    finally:
        later.join()

    assert got is not None and got.payload == {"n": 2}


def test_jobs_of_each_kind_go_to_their_own_sqs_queue(queues: _Queues, sqs: Any) -> None:
    queue = queues()
    queue.enqueue("train", {"k": "t"})
    queue.enqueue("profile", {"k": "p"})

    assert [b["payload"] for b in _bodies(sqs, f"{queues.name}-train")] == [{"k": "t"}]
    assert [b["payload"] for b in _bodies(sqs, f"{queues.name}-profile")] == [{"k": "p"}]


def test_a_kind_that_cannot_name_a_queue_is_refused(queues: _Queues) -> None:
    with pytest.raises(InvalidInput):
        queues().enqueue("no spaces/or slashes", {})


def test_without_create_a_missing_queue_is_reported_and_nothing_is_recorded(
    queues: _Queues,
) -> None:
    queues.options["create"] = False
    queue = queues()

    with pytest.raises(BackendUnavailable, match="does not exist"):
        queue.enqueue("train", {}, job_id="job_nowhere")

    assert queue.claim(LONG_LEASE) is None
    with pytest.raises(Exception, match="not found"):
        queue.get("job_nowhere")


def test_sqs_kind_resolves_from_settings_to_the_sqs_queue(
    moto_server_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        queue_url="sqs://from-settings",
        queue_options={"endpoint_url": moto_server_url, "create": True, "wait_time_s": 0},
    )
    ctx = BuildContext(settings=settings)
    store = resolve_builder("db", settings.url_for("db"))(settings.url_for("db"), {}, ctx)
    try:
        store.migrate()
        ctx.built["db"] = store
        url = settings.url_for("queue")
        queue = resolve_builder("queue", url)(url, settings.options_for("queue"), ctx)
        assert isinstance(queue, SqsJobQueue)
        job = queue.enqueue("train", {"run_id": "r"})
        got = queue.claim(LONG_LEASE)
        assert got is not None and got.id == job.id
    finally:
        store.close()


def test_the_sqs_queue_needs_an_sql_metadata_store() -> None:
    ctx = BuildContext(settings=Settings())
    ctx.built["db"] = InMemoryMetadataStore()
    with pytest.raises(ConfigError, match="MLSMITH_QUEUE_URL"):
        resolve_builder("queue", "sqs://q")("sqs://q", {}, ctx)


@pytest.mark.parametrize(
    ("url", "options", "setting"),
    [
        ("sqs://", {}, "MLSMITH_QUEUE_URL"),
        ("sqs://bad/name", {}, "MLSMITH_QUEUE_URL"),
        ("sqs://q", {"wait_time_s": 21}, "MLSMITH_QUEUE_OPTIONS__WAIT_TIME_S"),
        ("sqs://q", {"visibility": 3}, "MLSMITH_QUEUE_OPTIONS__VISIBILITY"),
    ],
)
def test_bad_sqs_settings_fail_naming_the_setting(url: str, options: dict, setting: str) -> None:
    ctx = BuildContext(settings=Settings())
    with pytest.raises(ConfigError, match=setting):
        resolve_builder("queue", url)(url, options, ctx)
