"""Contract of the compute port: every compute (fake, thread, process, Celery) passes it.

Subclass with ``__test__ = True`` and a ``compute`` fixture yielding a bound compute with exactly
two workers (the queueing tests rely on the limit) that the fixture closes afterwards. Tasks come
from ``mlsmith.core.testing.tasks`` and report through files, which works across processes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from mlsmith.core.errors import AlreadyExists, InvalidInput
from mlsmith.core.ports.compute import Compute, TaskState

TASKS = "mlsmith.core.testing.tasks"
DEADLINE_S = 30.0  # generous: a loaded CI machine may be slow to start a process
LONG_S = 60.0  # a task that must be stopped, never left to finish


def eventually(condition: Callable[[], bool], timeout_s: float = DEADLINE_S) -> bool:
    """Poll ``condition`` until it holds or the deadline passes; never asserts on elapsed time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def new_id() -> str:
    return f"task-{uuid.uuid4().hex[:12]}"


class ComputeContract:
    __test__ = False

    @pytest.fixture
    def compute(self) -> Compute:
        raise NotImplementedError("subclasses provide a bound compute with two workers")

    def _start_waiting(self, compute: Compute, tmp_path: Path) -> tuple[str, Path]:
        """Submit a cooperative long wait and return once its code is running."""
        task_id, started = new_id(), tmp_path / f"{uuid.uuid4().hex}.started"
        compute.submit(
            task_id,
            f"{TASKS}:wait_cooperatively",
            {"seconds": LONG_S, "started_file": str(started)},
        )
        assert eventually(started.exists), "the waiting task never started"
        return task_id, started

    def test_submitted_task_runs_with_its_kwargs_and_ends_done(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        target = tmp_path / "out.txt"
        task_id = new_id()
        compute.submit(task_id, f"{TASKS}:write_file", {"path": str(target), "text": "hello ✓"})

        status = compute.wait(task_id, DEADLINE_S)

        assert status.state is TaskState.DONE
        assert status.error is None
        assert target.read_text(encoding="utf-8") == "hello ✓"
        assert compute.status(task_id).state is TaskState.DONE

    def test_raising_task_ends_failed_with_its_error_message(self, compute: Compute) -> None:
        task_id = new_id()
        compute.submit(task_id, f"{TASKS}:fail", {"message": "boom: bad fold 3"})

        status = compute.wait(task_id, DEADLINE_S)

        assert status.state is TaskState.FAILED
        assert status.error is not None
        assert "boom: bad fold 3" in status.error

    def test_unknown_task_id_is_unknown_to_status_and_wait(self, compute: Compute) -> None:
        assert compute.status("never-submitted").state is TaskState.UNKNOWN
        assert compute.wait("never-submitted", 0.1).state is TaskState.UNKNOWN

    def test_wait_with_a_timeout_returns_the_current_state_of_a_running_task(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        task_id, _ = self._start_waiting(compute, tmp_path)

        assert compute.wait(task_id, 0.05).state is TaskState.RUNNING

        compute.cancel(task_id)
        assert compute.wait(task_id, DEADLINE_S).state is TaskState.CANCELLED

    def test_resubmitting_a_running_task_id_raises_already_exists(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        task_id, _ = self._start_waiting(compute, tmp_path)
        out = tmp_path / "second.txt"

        with pytest.raises(AlreadyExists):
            compute.submit(task_id, f"{TASKS}:write_file", {"path": str(out), "text": "x"})

        compute.cancel(task_id)
        assert compute.wait(task_id, DEADLINE_S).state is TaskState.CANCELLED
        assert not out.exists()

    def test_a_finished_task_id_can_be_submitted_again(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        task_id = new_id()
        compute.submit(task_id, f"{TASKS}:fail", {"message": "first attempt"})
        assert compute.wait(task_id, DEADLINE_S).state is TaskState.FAILED
        out = tmp_path / "retry.txt"

        compute.submit(task_id, f"{TASKS}:write_file", {"path": str(out), "text": "second"})

        assert compute.wait(task_id, DEADLINE_S).state is TaskState.DONE
        assert out.read_text(encoding="utf-8") == "second"

    def test_cancel_of_a_cooperative_running_task_ends_it_cancelled(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        task_id, _ = self._start_waiting(compute, tmp_path)

        assert compute.cancel(task_id) is True

        status = compute.wait(task_id, DEADLINE_S)
        assert status.state is TaskState.CANCELLED

    def test_cancel_of_an_unknown_or_finished_task_returns_false(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        task_id = new_id()
        compute.submit(task_id, f"{TASKS}:write_file", {"path": str(tmp_path / "f"), "text": ""})
        assert compute.wait(task_id, DEADLINE_S).state is TaskState.DONE

        assert compute.cancel(task_id) is False
        assert compute.cancel("never-submitted") is False
        assert compute.status(task_id).state is TaskState.DONE

    def test_more_tasks_than_workers_all_complete(self, compute: Compute, tmp_path: Path) -> None:
        outputs = {new_id(): tmp_path / f"out-{n}.txt" for n in range(6)}
        for task_id, out in outputs.items():
            compute.submit(task_id, f"{TASKS}:write_file", {"path": str(out), "text": task_id})

        for task_id, out in outputs.items():
            assert compute.wait(task_id, DEADLINE_S).state is TaskState.DONE
            assert out.read_text(encoding="utf-8") == task_id

    def test_tasks_beyond_the_worker_limit_stay_pending_until_a_worker_frees(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        first, _ = self._start_waiting(compute, tmp_path)
        second, _ = self._start_waiting(compute, tmp_path)
        third, out = new_id(), tmp_path / "third.txt"

        compute.submit(third, f"{TASKS}:write_file", {"path": str(out), "text": "ran"})

        assert compute.status(third).state is TaskState.PENDING
        assert compute.wait(third, 0.2).state is TaskState.PENDING
        assert not out.exists()

        compute.cancel(first)
        assert compute.wait(third, DEADLINE_S).state is TaskState.DONE
        assert out.read_text(encoding="utf-8") == "ran"
        compute.cancel(second)
        assert compute.wait(second, DEADLINE_S).state is TaskState.CANCELLED

    def test_cancel_of_a_pending_task_ends_it_cancelled_without_running_it(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        blockers = [self._start_waiting(compute, tmp_path)[0] for _ in range(2)]
        pending, out = new_id(), tmp_path / "never.txt"
        compute.submit(pending, f"{TASKS}:write_file", {"path": str(out), "text": "ran"})

        assert compute.cancel(pending) is True
        assert compute.status(pending).state is TaskState.CANCELLED

        for blocker in blockers:
            compute.cancel(blocker)
            assert compute.wait(blocker, DEADLINE_S).state is TaskState.CANCELLED
        # The workers are free again, and still the cancelled task does not run.
        probe = new_id()
        compute.submit(probe, f"{TASKS}:write_file", {"path": str(tmp_path / "p"), "text": ""})
        assert compute.wait(probe, DEADLINE_S).state is TaskState.DONE
        assert compute.status(pending).state is TaskState.CANCELLED
        assert not out.exists()

    @pytest.mark.parametrize(
        "target",
        [
            "os:system",
            "subprocess:run",
            "builtins:eval",
            "mlsmithevil.tasks:run",
            "mlsmith.core.testing.tasks",  # no function
            "mlsmith.core.testing.tasks:_private",
            "../mlsmith/core:write_file",
            "mlsmith.core.testing.tasks:write_file; rm -rf /",
            "mlsmith.core.testing.tasks:os",  # a module attribute that is not a task function
            "mlsmith.core.testing.tasks:subprocess",
        ],
    )
    def test_a_target_outside_the_allowlist_is_refused(self, compute: Compute, target: str) -> None:
        task_id = new_id()

        with pytest.raises(InvalidInput):
            compute.submit(task_id, target, {})

        assert compute.status(task_id).state is TaskState.UNKNOWN

    def test_kwargs_that_are_not_json_are_refused(self, compute: Compute) -> None:
        task_id = new_id()

        with pytest.raises(InvalidInput):
            compute.submit(task_id, f"{TASKS}:write_file", {"path": object(), "text": "x"})

        assert compute.status(task_id).state is TaskState.UNKNOWN

    def test_close_cancels_running_and_pending_tasks(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        running = [self._start_waiting(compute, tmp_path)[0] for _ in range(2)]
        pending, out = new_id(), tmp_path / "never.txt"
        compute.submit(pending, f"{TASKS}:write_file", {"path": str(out), "text": "ran"})

        compute.close()

        for task_id in [*running, pending]:
            assert compute.wait(task_id, DEADLINE_S).state is TaskState.CANCELLED
        assert not out.exists()


class PreemptiveComputeContract:
    """For computes that can stop work that ignores cancellation (a process, a Celery worker)."""

    __test__ = False

    @pytest.fixture
    def compute(self) -> Compute:
        raise NotImplementedError("subclasses provide a bound compute with two workers")

    def _start_burning(self, compute: Compute, tmp_path: Path, helpers: int) -> tuple[str, list]:
        task_id, pid_file = new_id(), tmp_path / f"{uuid.uuid4().hex}.pids"
        compute.submit(
            task_id,
            f"{TASKS}:burn_cpu",
            {"seconds": LONG_S, "pid_file": str(pid_file), "helpers": helpers},
        )
        assert eventually(pid_file.exists), "the CPU-bound task never started"
        return task_id, [int(p) for p in pid_file.read_text(encoding="utf-8").split()]

    def test_cancel_stops_a_task_that_ignores_cancellation_and_its_helpers(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        task_id, pids = self._start_burning(compute, tmp_path, helpers=1)
        assert all(_burning(pid) for pid in pids)

        assert compute.cancel(task_id) is True

        assert eventually(lambda: not any(_burning(pid) for pid in pids), timeout_s=5.0), (
            "the task or its helper still runs after cancel"
        )
        assert compute.wait(task_id, DEADLINE_S).state is TaskState.CANCELLED

    def test_close_stops_tasks_that_ignore_cancellation(
        self, compute: Compute, tmp_path: Path
    ) -> None:
        task_id, pids = self._start_burning(compute, tmp_path, helpers=0)

        compute.close()

        assert eventually(lambda: not any(_burning(pid) for pid in pids), timeout_s=5.0)
        assert compute.wait(task_id, DEADLINE_S).state is TaskState.CANCELLED


def _burning(pid: int) -> bool:
    """The process exists and can still run (a zombie uses no CPU and only awaits its reaper)."""
    # psutil is a dev dependency: imported here so that importing the contract module needs
    # only pytest.
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
