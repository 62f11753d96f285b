"""Fixtures: an app on in-memory fake backends behind a TestClient, and a bootstrapped admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mlsmith.server.testing import Api, make_test_api


@pytest.fixture
def make_api() -> Iterator[Callable[..., Api]]:
    made: list[Api] = []

    def make(**overrides: Any) -> Api:
        made.append(make_test_api(**overrides))
        return made[-1]

    yield make
    for api in made:
        api.client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


@pytest.fixture
def admin(api: Api) -> dict[str, Any]:
    """The bootstrapped admin: its ids and auth headers."""
    out = api.bootstrap()
    return {
        "user_id": out["user"]["id"],
        "workspace_id": out["workspace"]["id"],
        "headers": api.headers("admin@example.com"),
    }
