"""KmsSecretStore: the SecretStore contract on a moto server over real HTTP (one KMS key per store),
plus the envelope itself, the context bound in KMS as well as in AES-GCM, rotation by re-wrapping,
moving to another key, and building from settings."""

from __future__ import annotations

import json
import secrets
import struct
from typing import Any

import pytest

from mlsmith.backends.aws.secrets import KmsSecretStore, build
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.errors import BackendUnavailable, ConfigError, IntegrityError
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.secrets import CONTEXT, PLAINTEXT, SecretStoreContract

REGION = "us-east-1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Static credentials for the moto server, through the standard chain the builder uses."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def kms(moto_server_url: str, aws_env: None) -> Any:
    """A raw boto3 KMS client on the moto server."""
    import boto3

    client = boto3.client("kms", endpoint_url=moto_server_url, region_name=REGION)
    yield client
    client.close()


def _new_key(kms: Any) -> str:
    """A fresh symmetric key reached through a fresh alias (what operators configure)."""
    key_id = kms.create_key(Description="mlsmith test")["KeyMetadata"]["KeyId"]
    alias = f"alias/mlsmith-{secrets.token_hex(6)}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return alias


def _build(key: str, moto_server_url: str, **extra: Any) -> KmsSecretStore:
    return build(f"kms://{key}", {"endpoint_url": moto_server_url, "region": REGION, **extra}, None)


class TestKmsSecretStore(SecretStoreContract):
    __test__ = True

    @pytest.fixture
    def secrets(self, kms: Any, moto_server_url: str) -> Any:
        store = _build(_new_key(kms), moto_server_url)
        yield store
        store.close()

    @pytest.fixture
    def other_secrets(self, kms: Any, moto_server_url: str) -> Any:
        store = _build(_new_key(kms), moto_server_url)
        yield store
        store.close()


@pytest.fixture
def key(kms: Any) -> str:
    return _new_key(kms)


def _parts(envelope: bytes) -> tuple[bytes, bytes, bytes]:
    """(wrapped data key, nonce, AES-GCM ciphertext + tag) of a version-1 envelope."""
    magic, version, length = struct.unpack_from(">3sBH", envelope)
    assert (magic, version) == (b"MLK", 1)
    body = envelope[6:]
    return body[:length], body[length : length + 12], body[length + 12 :]


# -- the envelope -----------------------------------------------------------------------------


def test_envelope_carries_a_kms_wrapped_data_key_bound_to_the_context(
    kms: Any, key: str, moto_server_url: str
) -> None:
    store = _build(key, moto_server_url)
    envelope = store.encrypt(PLAINTEXT, CONTEXT)
    wrapped, nonce, sealed = _parts(envelope)

    assert len(nonce) == 12
    assert len(sealed) == len(PLAINTEXT) + 16  # AES-GCM: same length plus the tag
    # The wrapped data key opens only with the context it was bound to, under our key.
    unwrapped = kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=CONTEXT)
    assert unwrapped["KeyId"] == kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    assert len(unwrapped["Plaintext"]) == 32  # AES-256
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=wrapped, EncryptionContext={"workspace_id": "ws_2"})


def test_each_value_gets_its_own_data_key(key: str, moto_server_url: str) -> None:
    store = _build(key, moto_server_url)
    first = _parts(store.encrypt(PLAINTEXT, CONTEXT))[0]
    second = _parts(store.encrypt(PLAINTEXT, CONTEXT))[0]
    assert first != second


def test_context_is_also_bound_by_aes_gcm_not_only_by_kms(
    kms: Any, key: str, moto_server_url: str
) -> None:
    # Re-wrap the data key under another context with KMS itself (as someone holding kms:ReEncrypt
    # could): KMS then unwraps it under the other context, and only the AES-GCM associated data
    # still ties the value to the context it was written for.
    store = _build(key, moto_server_url)
    envelope = store.encrypt(PLAINTEXT, CONTEXT)
    wrapped, nonce, sealed = _parts(envelope)
    other = {"workspace_id": "ws_2", "secret_id": "sec_1"}
    rewrapped = kms.re_encrypt(
        CiphertextBlob=wrapped,
        SourceEncryptionContext=CONTEXT,
        DestinationKeyId=key,
        DestinationEncryptionContext=other,
    )["CiphertextBlob"]
    forged = struct.pack(">3sBH", b"MLK", 1, len(rewrapped)) + rewrapped + nonce + sealed

    with pytest.raises(IntegrityError):
        store.decrypt(forged, other)
    assert store.decrypt(envelope, CONTEXT) == PLAINTEXT


def test_context_values_are_stringified(key: str, moto_server_url: str) -> None:
    store = _build(key, moto_server_url)
    envelope = store.encrypt(b"v", {"workspace_id": 7, "secret_id": "s"})  # type: ignore[dict-item]
    assert store.decrypt(envelope, {"workspace_id": "7", "secret_id": "s"}) == b"v"


def test_unknown_envelope_version_is_an_integrity_error(key: str, moto_server_url: str) -> None:
    store = _build(key, moto_server_url)
    envelope = bytearray(store.encrypt(PLAINTEXT, CONTEXT))
    envelope[3] = 2
    with pytest.raises(IntegrityError):
        store.decrypt(bytes(envelope), CONTEXT)


# -- rotation ---------------------------------------------------------------------------------


def test_rotate_rewraps_the_data_key_and_keeps_the_sealed_value(
    kms: Any, key: str, moto_server_url: str
) -> None:
    store = _build(key, moto_server_url)
    envelope = store.encrypt(PLAINTEXT, CONTEXT)

    rotated = store.rotate(envelope, CONTEXT)

    old_wrapped, old_nonce, old_sealed = _parts(envelope)
    new_wrapped, new_nonce, new_sealed = _parts(rotated)
    assert new_wrapped != old_wrapped
    assert (new_nonce, new_sealed) == (old_nonce, old_sealed)  # re-wrapped, not re-encrypted
    assert store.decrypt(rotated, CONTEXT) == PLAINTEXT
    assert store.decrypt(envelope, CONTEXT) == PLAINTEXT  # KMS keeps old key material


def test_rotate_moves_values_from_a_previous_key_to_the_current_one(
    kms: Any, moto_server_url: str
) -> None:
    old_key, new_key = _new_key(kms), _new_key(kms)
    envelope = _build(old_key, moto_server_url).encrypt(PLAINTEXT, CONTEXT)

    during = _build(new_key, moto_server_url, previous_keys=[old_key])
    assert during.decrypt(envelope, CONTEXT) == PLAINTEXT
    rotated = during.rotate(envelope, CONTEXT)

    after = _build(new_key, moto_server_url)  # the old key is gone from the configuration
    assert after.decrypt(rotated, CONTEXT) == PLAINTEXT
    with pytest.raises(IntegrityError):
        after.decrypt(envelope, CONTEXT)
    with pytest.raises(IntegrityError):
        _build(old_key, moto_server_url).decrypt(rotated, CONTEXT)
    wrapped = _parts(rotated)[0]
    new_arn = kms.describe_key(KeyId=new_key)["KeyMetadata"]["Arn"]
    assert kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=CONTEXT)["KeyId"] == new_arn


def test_previous_keys_may_come_from_one_environment_string(kms: Any, moto_server_url: str) -> None:
    a, b = _new_key(kms), _new_key(kms)
    from_a = _build(a, moto_server_url).encrypt(b"1")
    from_b = _build(b, moto_server_url).encrypt(b"2")
    store = _build(_new_key(kms), moto_server_url, previous_keys=f"{a},{b}")
    assert (store.decrypt(from_a), store.decrypt(from_b)) == (b"1", b"2")


# -- failures and configuration ---------------------------------------------------------------


def test_unknown_key_is_backend_unavailable_not_an_integrity_error(
    moto_server_url: str, aws_env: None
) -> None:
    store = _build("alias/does-not-exist", moto_server_url)
    with pytest.raises(BackendUnavailable):
        store.encrypt(PLAINTEXT, CONTEXT)


def test_unreachable_kms_is_backend_unavailable_and_quotes_no_context(aws_env: None) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = _build("alias/x", f"http://127.0.0.1:{port}")
    with pytest.raises(BackendUnavailable) as info:
        store.encrypt(PLAINTEXT, CONTEXT)
    assert "sec_1" not in json.dumps(info.value.to_dict()) + repr(info.value.__context__)


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("kms://", {}),
        ("kms://alias/has space", {}),
        ("fernet-file:///x", {}),
        ("kms://alias/k", {"unknown": 1}),
    ],
)
def test_bad_configuration_is_a_config_error(url: str, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        build(url, options, None)


def test_build_from_settings_resolves_the_kms_kind(key: str, moto_server_url: str, tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        secrets_url=f"kms://{key}",
        secrets_options={"endpoint_url": moto_server_url, "region": REGION},
    )
    url = settings.url_for("secrets")
    store = resolve_builder("secrets", url)(
        url, settings.options_for("secrets"), BuildContext(settings)
    )
    assert isinstance(store, KmsSecretStore)
    assert store.decrypt(store.encrypt(b"x", CONTEXT), CONTEXT) == b"x"
    assert not (tmp_path / ".secrets").exists()  # no local key file with KMS
    store.close()
