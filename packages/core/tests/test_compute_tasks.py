"""The task table shared by the computes, driven directly: no threads or processes involved."""

import threading
from dataclasses import dataclass

import pytest

from mlsmith.core import cancellation
from mlsmith.core.compute_tasks import TaskRecord, TaskTable, run_here
from mlsmith.core.errors import AlreadyExists, BackendUnavailable
from mlsmith.core.ports.compute import TaskState


@dataclass
class _Task(TaskRecord):
    name: str


def _table(*names: str) -> TaskTable[_Task]:
    table: TaskTable[_Task] = TaskTable()
    with table.lock:
        for name in names:
            table.add(name, _Task(name))
    return table


def _started(
    table: TaskTable[_Task], workers: int, refuse: frozenset[str] = frozenset()
) -> list[str]:
    """Start what the table lets start; names in ``refuse`` fail to start. Returns the started."""
    started: list[str] = []

    def start(task: _Task) -> bool:
        if task.name in refuse:
            task.end(TaskState.FAILED, "could not start")
            return False
        started.append(task.name)
        return True

    with table.lock:
        table.start_pending(workers, start)
    return started


def test_resubmitting_a_live_id_raises_but_an_ended_one_can_be_reused() -> None:
    table = _table("a")
    with table.lock, pytest.raises(AlreadyExists):
        table.add("a", _Task("a"))
    _started(table, workers=1)
    with table.lock:
        table.finish(table.running()[0], TaskState.DONE, None)
        table.add("a", _Task("a"))
    assert table.status("a").state is TaskState.PENDING


def test_pending_tasks_start_oldest_first_up_to_the_worker_limit() -> None:
    table = _table("a", "b", "c")
    assert _started(table, workers=2) == ["a", "b"]
    assert table.status("c").state is TaskState.PENDING
    assert _started(table, workers=2) == []  # both workers still busy


def test_a_task_that_could_not_start_takes_no_worker() -> None:
    table = _table("a", "b", "c")
    assert _started(table, workers=2, refuse=frozenset({"a"})) == ["b", "c"]
    assert table.status("a").state is TaskState.FAILED


def test_cancel_of_a_queued_task_ends_it_without_starting_it() -> None:
    table = _table("a", "b")
    assert table.cancel("a") is True
    assert table.status("a").state is TaskState.CANCELLED
    assert _started(table, workers=2) == ["b"]


def test_cancel_of_an_unknown_or_ended_task_returns_false() -> None:
    table = _table("a")
    table.cancel("a")
    assert table.cancel("a") is False
    assert table.cancel("nope") is False


def test_cancel_of_a_running_task_asks_stop_once_and_the_cancel_wins_its_end() -> None:
    table = _table("a")
    _started(table, workers=1)
    asked: list[str] = []

    def stop(task: _Task) -> bool:
        asked.append(task.name)
        return False  # still running: it ends when it ends

    assert table.cancel("a", stop) is True
    assert table.cancel("a", stop) is True  # a second request is not carried out twice
    assert asked == ["a"]
    assert table.status("a").state is TaskState.RUNNING
    with table.lock:
        table.finish(table.running()[0], TaskState.DONE, None)
    assert table.status("a").state is TaskState.CANCELLED
    assert table.status("a").error is None


def test_stop_that_drops_a_task_queued_elsewhere_ends_it_cancelled() -> None:
    table: TaskTable[_Task] = TaskTable()
    with table.lock:
        table.add("a", _Task("a"), queue=False)  # queued by the compute (a pool), not the table
    assert table.cancel("a", stop=lambda task: True) is True
    assert table.wait("a", 0).state is TaskState.CANCELLED


def test_close_refuses_new_tasks_starts_no_more_and_lists_the_live_ones() -> None:
    table = _table("a", "b", "c")
    _started(table, workers=1)
    with table.lock:
        table.finish(table.running()[0], TaskState.DONE, None)
    assert sorted(table.close()) == ["b", "c"]
    assert _started(table, workers=2) == []
    with table.lock, pytest.raises(BackendUnavailable):
        table.add("d", _Task("d"))


def test_unknown_id_is_unknown_and_wait_with_a_timeout_returns_the_current_state() -> None:
    table = _table("a")
    assert table.status("nope").state is TaskState.UNKNOWN
    assert table.wait("nope", 0).state is TaskState.UNKNOWN
    assert table.wait("a", 0.01).state is TaskState.PENDING


def test_run_here_reports_done_failed_and_cooperative_cancel() -> None:
    stop = threading.Event()

    def ok(backends: object) -> None:
        assert backends == "b"

    def boom(backends: object) -> None:
        raise ValueError("bad fold 3")

    def polite(backends: object) -> None:
        cancellation.raise_if_requested()  # raises Cancelled: stop is set

    assert run_here(ok, {}, "b", stop) == (TaskState.DONE, None)  # type: ignore[arg-type]
    assert run_here(boom, {}, None, stop) == (TaskState.FAILED, "ValueError: bad fold 3")
    stop.set()
    assert run_here(polite, {}, None, stop) == (TaskState.CANCELLED, None)
