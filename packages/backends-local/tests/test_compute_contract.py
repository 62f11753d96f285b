"""Thread and process computes against the compute contracts, plus their own behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlsmith.backends.local.compute import (
    LazyBackends,
    ProcessCompute,
    ThreadCompute,
    build_process,
    build_thread,
)
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
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workers=2)


@pytest.fixture
def thread_compute(settings: Settings) -> Iterator[ThreadCompute]:
    compute = ThreadCompute(workers=2)
    compute.bind(LazyBackends(settings))  # type: ignore[arg-type]
    yield compute
    compute.close()


@pytest.fixture
def process_compute(settings: Settings) -> Iterator[ProcessCompute]:
    compute = ProcessCompute(settings, workers=2)
    yield compute
    compute.close()


class TestThreadCompute(ComputeContract):
    __test__ = True

    @pytest.fixture
    def compute(self, thread_compute: ThreadCompute) -> ThreadCompute:
        return thread_compute


class TestProcessCompute(ComputeContract):
    __test__ = True

    @pytest.fixture
    def compute(self, process_compute: ProcessCompute) -> ProcessCompute:
        return process_compute


class TestProcessComputePreemption(PreemptiveComputeContract):
    __test__ = True

    @pytest.fixture
    def compute(self, process_compute: ProcessCompute) -> ProcessCompute:
        return process_compute


class TestProcessComputeWithSpawn(PreemptiveComputeContract):
    """The portable start method stops tasks just as well as forkserver."""

    __test__ = True

    @pytest.fixture
    def compute(self, settings: Settings) -> Iterator[ProcessCompute]:
        compute = ProcessCompute(settings, workers=2, start_method="spawn")
        yield compute
        compute.close()


def test_thread_task_receives_the_bound_backends(
    thread_compute: ThreadCompute, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "data_dir.txt"

    thread_compute.submit("t", f"{TASKS}:write_data_dir", {"path": str(out)})

    assert thread_compute.wait("t", DEADLINE_S).state is TaskState.DONE
    assert out.read_text(encoding="utf-8") == str(settings.data_dir)


def test_unbound_thread_compute_refuses_work(tmp_path: Path) -> None:
    compute = ThreadCompute(workers=1)
    try:
        with pytest.raises(ConfigError):
            compute.submit("t", f"{TASKS}:write_file", {"path": str(tmp_path / "x"), "text": ""})
    finally:
        compute.close()


def test_task_process_rebuilds_backends_from_the_parents_settings(
    process_compute: ProcessCompute, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "data_dir.txt"

    process_compute.submit("t", f"{TASKS}:write_data_dir", {"path": str(out)})

    assert process_compute.wait("t", DEADLINE_S).state is TaskState.DONE
    assert out.read_text(encoding="utf-8") == str(settings.data_dir)


@pytest.mark.parametrize("code", [3, 137])
def test_a_task_process_that_dies_ends_failed_with_its_exit_code(
    process_compute: ProcessCompute, code: int
) -> None:
    process_compute.submit("dies", f"{TASKS}:exit_process", {"code": code})

    status = process_compute.wait("dies", DEADLINE_S)

    assert status.state is TaskState.FAILED
    assert status.error is not None
    assert f"exit code {code}" in status.error


def test_a_task_process_killed_from_outside_ends_failed_naming_the_signal(
    process_compute: ProcessCompute, tmp_path: Path
) -> None:
    import os
    import signal

    pid_file = tmp_path / "pids"
    process_compute.submit(
        "victim", f"{TASKS}:burn_cpu", {"seconds": 60, "pid_file": str(pid_file)}
    )
    assert eventually(pid_file.exists)

    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)

    status = process_compute.wait("victim", DEADLINE_S)
    assert status.state is TaskState.FAILED
    assert status.error is not None
    assert "SIGKILL" in status.error


def test_a_process_slot_freed_by_a_crash_is_reused(process_compute: ProcessCompute, tmp_path: Path):
    for n in range(3):
        process_compute.submit(f"crash-{n}", f"{TASKS}:exit_process", {"code": 1})
    out = tmp_path / "after.txt"
    process_compute.submit("after", f"{TASKS}:write_file", {"path": str(out), "text": "ok"})

    assert process_compute.wait("after", DEADLINE_S).state is TaskState.DONE
    assert all(
        process_compute.wait(f"crash-{n}", DEADLINE_S).state is TaskState.FAILED for n in range(3)
    )


def test_compute_kinds_build_from_settings_with_the_configured_worker_count(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, workers=3, compute="process")
    ctx = BuildContext(settings=settings)

    thread = resolve_builder("compute", "thread")("thread", {}, ctx)
    process = resolve_builder("compute", "process")("process", {"grace_s": 0.2}, ctx)

    assert isinstance(thread, ThreadCompute) and isinstance(thread, Compute)
    assert isinstance(process, ProcessCompute) and isinstance(process, Compute)
    assert thread._executor._max_workers == 3
    assert process._workers == 3
    thread.close()
    process.close()


@pytest.mark.parametrize(
    ("builder", "options"),
    [
        (build_thread, {"unknown": 1}),
        (build_process, {"grace_s": 5}),  # a cancelled task must stop within about a second
        (build_process, {"start_method": "fork"}),
    ],
)
def test_bad_compute_options_fail_with_a_config_error_naming_the_setting(
    builder, options, tmp_path: Path
) -> None:
    ctx = BuildContext(settings=Settings(data_dir=tmp_path))

    with pytest.raises(ConfigError, match="MLSMITH_COMPUTE_OPTIONS"):
        builder("x", options, ctx)


@pytest.mark.parametrize("compute_kind", ["thread", "process"])
def test_a_task_that_uses_a_port_gets_real_adapters_built_from_settings(
    compute_kind: str, tmp_path: Path
) -> None:
    from mlsmith.core.backends import build_backends

    backends = build_backends(Settings(data_dir=tmp_path / "data", compute=compute_kind))
    out = tmp_path / "port.txt"
    try:
        backends.compute.submit(
            "t", f"{TASKS}:write_port_type", {"port": "secrets", "path": str(out)}
        )
        assert backends.compute.wait("t", DEADLINE_S).state is TaskState.DONE
    finally:
        backends.close()

    assert out.read_text(encoding="utf-8") == type(backends.secrets).__name__
