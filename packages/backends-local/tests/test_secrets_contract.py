"""FernetSecretStore: the SecretStore contract, plus key-file life cycle and rotation."""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from mlsmith.backends.local import secrets as local_secrets
from mlsmith.backends.local.secrets import FernetSecretStore, build
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.errors import ConfigError, IntegrityError
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.secrets import SecretStoreContract


def _build(key_file: Path, **options: object) -> FernetSecretStore:
    return build(f"fernet-file://{key_file}", options, None)


class TestFernetSecretStore(SecretStoreContract):
    __test__ = True

    @pytest.fixture
    def secrets(self, tmp_path: Path) -> FernetSecretStore:
        return _build(tmp_path / "a" / "fernet.key")

    @pytest.fixture
    def other_secrets(self, tmp_path: Path) -> FernetSecretStore:
        return _build(tmp_path / "b" / "fernet.key")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_is_created_private_on_first_use(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / ".secrets" / "fernet.key"
    _build(key_file)
    assert _mode(key_file) == 0o600
    assert _mode(key_file.parent) == 0o700
    assert list(key_file.parent.iterdir()) == [key_file]  # no temp file left behind


def test_a_restarted_store_reuses_the_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "fernet.key"
    ciphertext = _build(key_file).encrypt(b"db-password", {"workspace_id": "ws_1"})
    content = key_file.read_bytes()

    restarted = _build(key_file)

    assert restarted.decrypt(ciphertext, {"workspace_id": "ws_1"}) == b"db-password"
    assert key_file.read_bytes() == content


_RACER = textwrap.dedent(
    """
    import hashlib, os, sys, time
    from pathlib import Path
    from mlsmith.backends.local.secrets import load_or_create_key
    go = Path(sys.argv[2])
    while not go.exists():  # line everybody up so creation really races
        time.sleep(0.001)
    print(hashlib.sha256(load_or_create_key(Path(sys.argv[1]))).hexdigest())
    """
)


def test_processes_racing_to_create_the_key_end_up_with_one_key(tmp_path: Path) -> None:
    key_file, go = tmp_path / "s" / "fernet.key", tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(key_file), str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    go.touch()
    fingerprints = {racer.communicate(timeout=120)[0].strip() for racer in racers}

    assert all(racer.returncode == 0 for racer in racers)
    assert fingerprints == {hashlib.sha256(key_file.read_bytes().strip()).hexdigest()}
    assert [p.name for p in key_file.parent.iterdir()] == ["fernet.key"]


def test_store_that_loses_the_creation_race_adopts_the_winners_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deterministic version of the race above: the winner's file appears right after our check.
    key_file = tmp_path / "fernet.key"
    winner = Fernet.generate_key()
    real_read_key = local_secrets.read_key
    calls = []

    def read_key_after_losing(path: Path) -> bytes:
        calls.append(path)
        if len(calls) == 1:
            key_file.write_bytes(winner + b"\n")
            raise FileNotFoundError(path)
        return real_read_key(path)

    monkeypatch.setattr(local_secrets, "read_key", read_key_after_losing)
    assert local_secrets.load_or_create_key(key_file) == winner
    assert key_file.read_bytes() == winner + b"\n"
    assert [p.name for p in tmp_path.iterdir()] == ["fernet.key"]


def test_previous_keys_decrypt_and_rotate_moves_to_the_current_key(tmp_path: Path) -> None:
    old_file, new_file = tmp_path / "old.key", tmp_path / "new.key"
    old = _build(old_file)
    ciphertext = old.encrypt(b"webhook-token", {"secret_id": "s1"})

    during = _build(new_file, previous_keys=[str(old_file)])
    assert during.decrypt(ciphertext, {"secret_id": "s1"}) == b"webhook-token"
    rotated = during.rotate(ciphertext, {"secret_id": "s1"})

    after = _build(new_file)  # the old key is gone from the configuration
    assert after.decrypt(rotated, {"secret_id": "s1"}) == b"webhook-token"
    with pytest.raises(IntegrityError):
        after.decrypt(ciphertext, {"secret_id": "s1"})
    with pytest.raises(IntegrityError):
        old.decrypt(rotated, {"secret_id": "s1"})


def test_previous_keys_may_come_from_one_environment_string(tmp_path: Path) -> None:
    a, b = tmp_path / "a.key", tmp_path / "b.key"
    from_a, from_b = _build(a).encrypt(b"1"), _build(b).encrypt(b"2")
    store = _build(tmp_path / "new.key", previous_keys=f"{a},{b}")
    assert (store.decrypt(from_a), store.decrypt(from_b)) == (b"1", b"2")


def test_missing_previous_key_file_is_a_config_error_and_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        _build(tmp_path / "new.key", previous_keys=[str(tmp_path / "gone.key")])
    assert not (tmp_path / "gone.key").exists()


def test_corrupt_key_file_is_a_config_error_that_does_not_quote_it(tmp_path: Path) -> None:
    key_file = tmp_path / "fernet.key"
    key_file.write_bytes(b"not-a-fernet-key-but-maybe-a-password")
    with pytest.raises(ConfigError) as info:
        _build(key_file)
    assert "maybe-a-password" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("fernet-file://relative/fernet.key", {}),
        ("fernet-file://", {}),
        ("fernet-file:///abs/fernet.key", {"unknown": 1}),
    ],
)
def test_bad_configuration_is_a_config_error(url: str, options: dict) -> None:
    with pytest.raises(ConfigError):
        build(url, options, None)


def test_build_from_settings_puts_the_key_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    url = settings.url_for("secrets")
    store = resolve_builder("secrets", url)(
        url, settings.options_for("secrets"), BuildContext(settings)
    )
    assert store.decrypt(store.encrypt(b"x")) == b"x"
    assert _mode(tmp_path / "data" / ".secrets" / "fernet.key") == 0o600
    store.close()
