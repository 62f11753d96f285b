from __future__ import annotations

import pytest

from mlsmith.core.testing.contracts.secrets import SecretStoreContract
from mlsmith.core.testing.fakes.secrets import FakeSecretStore


class TestFakeSecretStore(SecretStoreContract):
    __test__ = True

    @pytest.fixture
    def secrets(self) -> FakeSecretStore:
        return FakeSecretStore(b"k" * 32)

    @pytest.fixture
    def other_secrets(self) -> FakeSecretStore:
        return FakeSecretStore(b"o" * 32)
