"""Read-only units of work take no write lock on SQLite and are READ ONLY on PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from mlsmith.backends.local.db import build
from mlsmith.core.domain import Workspace
from mlsmith.core.errors import MlsmithError


def test_sqlite_reader_is_not_blocked_by_an_open_write_transaction(tmp_path):
    store = build(f"sqlite:///{tmp_path / 'm.db'}", {"busy_timeout_ms": 200})
    store.migrate()
    with store.unit_of_work() as uow:
        uow.workspaces.add(Workspace(name="a"))
    writer_in = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with store.unit_of_work() as uow:  # BEGIN IMMEDIATE: holds the write lock
            uow.workspaces.add(Workspace(name="b"))
            writer_in.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert writer_in.wait(10)
        # A locking reader would wait for the 200 ms busy timeout and fail with "locked".
        with store.unit_of_work(read_only=True) as uow:
            assert [w.name for w in uow.workspaces.list()] == ["a"]
        with pytest.raises(MlsmithError), store.unit_of_work() as uow:
            uow.workspaces.add(Workspace(name="c"))  # a second writer does wait, and time out
    finally:
        release.set()
        t.join()
        store.close()


@pytest.mark.postgres
def test_postgres_read_only_unit_of_work_refuses_writes(postgres_url):
    store = build(postgres_url, {})
    store.migrate()
    try:
        with pytest.raises(MlsmithError), store.unit_of_work(read_only=True) as uow:
            uow.workspaces.add(Workspace(name="nope"))
        with store.unit_of_work(read_only=True) as uow:
            assert uow.workspaces.list() == []
    finally:
        store.close()
