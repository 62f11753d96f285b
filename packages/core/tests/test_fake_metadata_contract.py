"""The in-memory metadata store honours the DB port contract."""

import pytest

from mlsmith.core.testing.contracts.db import MetadataStoreContract
from mlsmith.core.testing.contracts.db_identity import IdentityCatalogStoreContract
from mlsmith.core.testing.fakes.metadata import InMemoryMetadataStore


class TestInMemoryMetadataStore(MetadataStoreContract, IdentityCatalogStoreContract):
    __test__ = True

    @pytest.fixture
    def store(self) -> InMemoryMetadataStore:
        return InMemoryMetadataStore()
