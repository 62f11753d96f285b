"""Celery compute against the compute contracts, on a real ``mlsmith worker`` subprocess.

The broker is this machine's Redis (``MLSMITH_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379``)
on a database picked per test session, with a queue name and status-key prefix unique to the
session, all deleted afterwards; one more test runs a task through RabbitMQ
(``MLSMITH_TEST_AMQP_URL``). A missing service skips locally and fails when ``CI=true``.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlsmith.backends.aws.celery_compute import CeleryCompute, CeleryOptions, build
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.errors import ConfigError
from mlsmith.core.ports.compute import Compute, TaskState
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.compute import (
    DEADLINE_S,
    TASKS,
    ComputeContract,
    PreemptiveComputeContract,
    eventually,
    new_id,
)

REDIS_URL = os.environ.get("MLSMITH_TEST_REDIS_URL", "redis://127.0.0.1:6379")
AMQP_URL = os.environ.get("MLSMITH_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
READY_S = 60.0  # how long a worker may take to connect; a limit, not an assertion


def _unreachable(reason: str) -> None:
    """Locally a missing service skips; in CI it is a failure, never a skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


class _Session:
    """One worker subprocess with its unique queue, status prefix and settings."""

    def __init__(self, tmp: Path, broker: str, status_url: str | None = None) -> None:
        tag = uuid.uuid4().hex[:10]
        self.queue = f"mlsmith-test-{tag}"
        self.prefix = f"mlsmith-test-{tag}:"
        self.broker = broker
        self.status_url = status_url or broker
        self.tmp = tmp
        self.options = {
            "broker_url": broker,
            "status_url": self.status_url,
            "queue": self.queue,
            "status_prefix": self.prefix,
            "time_limit_s": 300,
            "beat_s": 0.5,
            "lost_after_s": 5,
        }
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MLSMITH_")}
        self.env.update(
            MLSMITH_DATA_DIR=str(tmp / "data"),
            MLSMITH_COMPUTE="celery",
            MLSMITH_WORKERS="2",
            **{f"MLSMITH_COMPUTE_OPTIONS__{k.upper()}": str(v) for k, v in self.options.items()},
        )
        self.proc: subprocess.Popen | None = None

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.tmp / "data", compute="celery", workers=2, compute_options=self.options
        )

    def compute(self) -> CeleryCompute:
        return build("celery", self.options, BuildContext(settings=self.settings()))

    def start_worker(self) -> None:
        self.log = self.tmp / f"worker-{self.queue}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mlsmith.cli",
                    "worker",
                    "--concurrency",
                    "2",
                    "--hostname",
                    f"{self.queue}@%h",
                ],
                env=self.env,
                cwd=self.tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # Ready once it runs a task: proves the broker, the queue and the pool all work.
        compute, probe, out_file = self.compute(), new_id(), self.tmp / "ready.txt"
        try:
            compute.submit(probe, f"{TASKS}:write_file", {"path": str(out_file), "text": "ok"})
            deadline = time.monotonic() + READY_S
            while compute.status(probe).state is not TaskState.DONE:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"celery worker did not start:\n{self.log.read_text()[-4000:]}")
                time.sleep(0.1)
        finally:
            compute.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown of the worker and its pool
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _redis_session_url() -> str:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        _unreachable(f"Redis is unreachable at {REDIS_URL} ({exc})")
    # A database of its own per session (other sessions may share the server).
    return f"{REDIS_URL.rstrip('/')}/{random.randint(1, 15)}"


def _cleanup_redis(url: str, queue: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = [*client.scan_iter(f"{prefix}*"), *client.scan_iter(f"*{queue}*")]
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def celery_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Session]:
    url = _redis_session_url()
    session = _Session(tmp_path_factory.mktemp("celery"), url)
    try:
        session.start_worker()
        yield session
    finally:
        session.stop()
        _cleanup_redis(url, session.queue, session.prefix)


@pytest.fixture
def celery_compute(celery_session: _Session) -> Iterator[CeleryCompute]:
    compute = celery_session.compute()
    yield compute
    compute.close()


class TestCeleryCompute(ComputeContract):
    __test__ = True

    @pytest.fixture
    def compute(self, celery_compute: CeleryCompute) -> CeleryCompute:
        return celery_compute


class TestCeleryComputePreemption(PreemptiveComputeContract):
    __test__ = True

    @pytest.fixture
    def compute(self, celery_compute: CeleryCompute) -> CeleryCompute:
        return celery_compute


def test_celery_compute_builds_from_settings_with_the_broker_in_its_url(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, compute="celery+redis://127.0.0.1:6379/3")
    url = settings.url_for("compute")

    compute = resolve_builder("compute", url)(url, {"queue": "q1"}, BuildContext(settings))

    assert isinstance(compute, CeleryCompute) and isinstance(compute, Compute)
    conf = compute._app.conf
    assert conf.broker_url == "redis://127.0.0.1:6379/3"
    assert conf.task_serializer == "json" and list(conf.accept_content) == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result
    assert conf.worker_cancel_long_running_tasks_on_connection_loss
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    compute.close()


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("celery", {}),  # no broker anywhere
        ("celery+amqp://guest:guest@h//", {}),  # not Redis and no status_url
        ("celery+redis://h/0", {"time_limit_s": 60, "visibility_timeout_s": 30}),
        ("celery+redis://h/0", {"time_limit_s": 60, "soft_time_limit_s": 90}),
        ("celery+redis://h/0", {"unknown": 1}),
    ],
)
def test_bad_celery_configuration_fails_with_a_config_error(
    url: str, options: dict, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="MLSMITH_COMPUTE"):
        build(url, options, BuildContext(Settings(data_dir=tmp_path)))


def test_a_task_whose_pool_process_dies_is_delivered_again_a_bounded_number_of_times(
    celery_compute: CeleryCompute, tmp_path: Path
) -> None:
    """The process running the task is killed (the OOM killer, say): reject-on-worker-lost puts
    the task back on the queue and it runs again; after ``max_deliveries`` lost deliveries it
    ends failed instead of looping forever."""
    import psutil

    task_id, pid_file = new_id(), tmp_path / "pids"
    celery_compute.submit(task_id, f"{TASKS}:burn_cpu", {"seconds": 60, "pid_file": str(pid_file)})
    killed: list[int] = []
    max_deliveries = CeleryOptions().max_deliveries
    for _ in range(max_deliveries):
        assert eventually(
            lambda: pid_file.exists() and int(pid_file.read_text().split()[0]) not in killed
        ), "the task was not delivered again"
        pid = int(pid_file.read_text().split()[0])
        assert celery_compute.status(task_id).state is TaskState.RUNNING
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
        assert eventually(lambda pid=pid: not psutil.pid_exists(pid) or _zombie(pid))

    status = celery_compute.wait(task_id, DEADLINE_S)

    assert status.state is TaskState.FAILED, status
    assert status.error is not None and "delivered" in status.error
    assert len(set(killed)) == max_deliveries


def _zombie(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_task_runs_to_done_through_rabbitmq(tmp_path: Path) -> None:
    """Any Celery broker carries the task; the status records stay in Redis."""
    import socket
    from urllib.parse import urlparse

    amqp = urlparse(AMQP_URL)
    try:
        socket.create_connection((amqp.hostname, amqp.port or 5672), timeout=2).close()
    except OSError as exc:
        _unreachable(f"RabbitMQ is unreachable at {amqp.hostname}:{amqp.port} ({exc})")
    status_url = _redis_session_url()
    session = _Session(tmp_path, AMQP_URL, status_url=status_url)
    try:
        session.start_worker()
        compute = session.compute()
        out, task_id = tmp_path / "out.txt", new_id()
        compute.submit(task_id, f"{TASKS}:write_file", {"path": str(out), "text": "via amqp"})

        status = compute.wait(task_id, DEADLINE_S)

        assert status.state is TaskState.DONE, status
        assert out.read_text(encoding="utf-8") == "via amqp"
        compute.close()
    finally:
        session.stop()
        _cleanup_redis(status_url, session.queue, session.prefix)
        _delete_amqp_queue(session.queue)


def _delete_amqp_queue(queue: str) -> None:
    from kombu import Connection

    # Already gone is fine: nothing to clean.
    with Connection(AMQP_URL, connect_timeout=5) as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_delete(queue)


def test_a_task_over_its_hard_time_limit_ends_failed_with_its_helpers_killed(
    tmp_path: Path,
) -> None:
    """The worker's main process kills the task's whole process group and records the failure
    (the broker does not deliver it again: a task over its limit would be over it next time)."""
    status_url = _redis_session_url()
    session = _Session(tmp_path, status_url)
    session.options |= {"time_limit_s": 3, "visibility_timeout_s": 10}
    session.env.update(MLSMITH_COMPUTE_OPTIONS__TIME_LIMIT_S="3")
    session.env.update(MLSMITH_COMPUTE_OPTIONS__VISIBILITY_TIMEOUT_S="10")
    try:
        session.start_worker()
        compute = session.compute()
        task_id, pid_file = new_id(), tmp_path / "pids"
        compute.submit(
            task_id,
            f"{TASKS}:burn_cpu",
            {"seconds": 60, "pid_file": str(pid_file), "helpers": 1},
        )
        assert eventually(pid_file.exists)
        pids = [int(p) for p in pid_file.read_text().split()]

        status = compute.wait(task_id, DEADLINE_S)

        assert status.state is TaskState.FAILED, status
        assert status.error is not None and "time limit" in status.error
        assert eventually(lambda: all(_zombie(pid) for pid in pids), timeout_s=10)
        compute.close()
    finally:
        session.stop()
        _cleanup_redis(status_url, session.queue, session.prefix)
