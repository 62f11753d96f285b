"""LocalAuthProvider: the AuthProvider contract, plus its configuration."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from mlsmith.backends.local.auth import LocalAuthProvider, build
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.errors import ConfigError, Unauthenticated
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.auth import CLAIMS, KEY, PASSWORD, AuthProviderContract


class TestLocalAuthProvider(AuthProviderContract):
    __test__ = True

    @pytest.fixture
    def auth(self) -> LocalAuthProvider:
        return build("local", {}, None)


def test_password_hashes_are_argon2id() -> None:
    assert build("local", {}, None).hash_password(PASSWORD).startswith("$argon2id$")


def test_hash_from_weaker_parameters_needs_a_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    auth = build("local", {}, None)
    assert auth.verify_password(weak, PASSWORD) is True
    assert auth.needs_rehash(weak) is True


def test_tokens_are_only_valid_for_the_configured_issuer_and_audience() -> None:
    ours = build("local", {"issuer": "ours", "audience": "api"}, None)
    theirs = build("local", {"issuer": "theirs", "audience": "api"}, None)
    token = ours.issue_token(CLAIMS, KEY, ttl_s=900)
    assert ours.verify_token(token, KEY)["iss"] == "ours"
    with pytest.raises(Unauthenticated):
        theirs.verify_token(token, KEY)


@pytest.mark.parametrize("options", [{"leeway_s": 31}, {"leeway_s": -1}, {"algorithm": "none"}])
def test_unsafe_or_unknown_options_are_config_errors(options: dict) -> None:
    with pytest.raises(ConfigError):
        build("local", options, None)


def test_build_from_settings_resolves_the_local_kind(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    url = settings.url_for("auth")
    auth = resolve_builder("auth", url)(url, settings.options_for("auth"), BuildContext(settings))
    assert isinstance(auth, LocalAuthProvider)
    assert auth.verify_token(auth.issue_token(CLAIMS, KEY, ttl_s=60), KEY)["sub"] == "usr_1"
