from __future__ import annotations

import pytest

from mlsmith.core.testing.contracts.storage import BlobStoreContract
from mlsmith.core.testing.fakes.storage import InMemoryBlobStore


class TestInMemoryBlobStore(BlobStoreContract):
    __test__ = True

    @pytest.fixture
    def store(self) -> InMemoryBlobStore:
        return InMemoryBlobStore()
