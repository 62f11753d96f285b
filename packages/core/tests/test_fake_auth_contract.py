from __future__ import annotations

import pytest

from mlsmith.core.errors import InvalidInput
from mlsmith.core.testing.contracts.auth import AuthProviderContract
from mlsmith.core.testing.fakes.auth import FakeAuthProvider


class TestFakeAuthProvider(AuthProviderContract):
    __test__ = True

    @pytest.fixture
    def auth(self) -> FakeAuthProvider:
        return FakeAuthProvider()


def test_fake_refuses_a_leeway_above_thirty_seconds() -> None:
    with pytest.raises(InvalidInput):
        FakeAuthProvider(leeway_s=31)
