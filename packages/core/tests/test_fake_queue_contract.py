"""The in-memory job queue honours the queue port contract."""

import pytest

from mlsmith.core.testing.contracts.queue import JobQueueContract
from mlsmith.core.testing.fakes.queue import InMemoryJobQueue


class TestInMemoryJobQueue(JobQueueContract):
    __test__ = True

    @pytest.fixture
    def queue(self) -> InMemoryJobQueue:
        return InMemoryJobQueue()
