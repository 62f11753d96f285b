"""SqlJobQueue passes the queue port contract on SQLite and PostgreSQL, sharing the metadata
database's engine; ``make_queue`` gives the contract a second store + queue on the same database,
as a second worker process would have."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlsmith.backends.local.db import SqlMetadataStore
from mlsmith.backends.local.db import build as build_db
from mlsmith.backends.local.queue import SqlJobQueue, build
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.errors import ConfigError
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.queue import JobQueueContract
from mlsmith.core.testing.fakes.metadata import InMemoryMetadataStore


class _Queues:
    """Builds queues on one database URL and closes their stores afterwards."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stores: list[SqlMetadataStore] = []

    def __call__(self) -> SqlJobQueue:
        ctx = BuildContext(settings=Settings(database_url=self.url))
        store = build_db(self.url, {}, ctx)
        self.stores.append(store)
        if len(self.stores) == 1:
            store.migrate()
        ctx.built["db"] = store
        return build("db://", {}, ctx)

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture
def sqlite_queues(tmp_path: Path) -> Iterator[_Queues]:
    queues = _Queues(f"sqlite:///{tmp_path / 'q' / 'mlsmith.db'}")
    yield queues
    queues.close()


class TestSqliteJobQueue(JobQueueContract):
    __test__ = True

    @pytest.fixture
    def queue(self, sqlite_queues: _Queues) -> SqlJobQueue:
        return sqlite_queues()

    @pytest.fixture
    def make_queue(self, sqlite_queues: _Queues) -> Callable[[], SqlJobQueue]:
        return sqlite_queues


@pytest.mark.postgres
class TestPostgresJobQueue(JobQueueContract):
    __test__ = True

    @pytest.fixture
    def pg_queues(self, postgres_url: str) -> Iterator[_Queues]:
        queues = _Queues(postgres_url)
        yield queues
        queues.close()

    @pytest.fixture
    def queue(self, pg_queues: _Queues) -> SqlJobQueue:
        return pg_queues()

    @pytest.fixture
    def make_queue(self, pg_queues: _Queues) -> Callable[[], SqlJobQueue]:
        return pg_queues


def test_db_kind_resolves_to_the_sql_queue_on_the_metadata_engine(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ctx = BuildContext(settings=settings)
    store = resolve_builder("db", settings.url_for("db"))(settings.url_for("db"), {}, ctx)
    try:
        store.migrate()
        ctx.built["db"] = store
        queue = resolve_builder("queue", "db://")("db://", {}, ctx)
        assert isinstance(queue, SqlJobQueue)
        job = queue.enqueue("train", {"run_id": "r"})
        # the job lives in the metadata database itself
        with store.engine.connect() as conn:
            ids = conn.exec_driver_sql("SELECT id FROM jobs").scalars().all()
        assert ids == [job.id]
    finally:
        store.close()


def test_db_queue_needs_an_sql_metadata_store() -> None:
    ctx = BuildContext(settings=Settings())
    ctx.built["db"] = InMemoryMetadataStore()
    with pytest.raises(ConfigError, match="MLSMITH_QUEUE_URL"):
        build("db://", {}, ctx)
