"""SecretStore contract: every secrets adapter (and the fake) must pass it.

Subclass with ``__test__ = True`` and two fixtures: ``secrets`` (a fresh store) and
``other_secrets`` (a store of the same kind holding a different key).
"""

from __future__ import annotations

import os

import pytest

from mlsmith.core.errors import IntegrityError
from mlsmith.core.ports.secrets import SecretStore

PLAINTEXT = b"hunter2-correct-horse-battery-staple"
CONTEXT = {"workspace_id": "ws_1", "secret_id": "sec_1"}


def _flip(data: bytes, index: int) -> bytes:
    tampered = bytearray(data)
    tampered[index] ^= 0x01
    return bytes(tampered)


class SecretStoreContract:
    __test__ = False

    @pytest.mark.parametrize(
        "value",
        [b"", b"k", PLAINTEXT, os.urandom(64 * 1024)],
        ids=["empty", "1B", "short", "64KiB"],
    )
    @pytest.mark.parametrize("context", [None, CONTEXT], ids=["no-context", "context"])
    def test_decrypt_returns_what_was_encrypted(
        self, secrets: SecretStore, value: bytes, context: dict[str, str] | None
    ) -> None:
        assert secrets.decrypt(secrets.encrypt(value, context), context) == value

    def test_ciphertext_does_not_contain_the_plaintext(self, secrets: SecretStore) -> None:
        ciphertext = secrets.encrypt(PLAINTEXT, CONTEXT)
        assert isinstance(ciphertext, bytes)
        assert PLAINTEXT not in ciphertext

    def test_same_value_encrypts_differently_each_time(self, secrets: SecretStore) -> None:
        assert secrets.encrypt(PLAINTEXT, CONTEXT) != secrets.encrypt(PLAINTEXT, CONTEXT)

    def test_another_key_cannot_decrypt(
        self, secrets: SecretStore, other_secrets: SecretStore
    ) -> None:
        ciphertext = secrets.encrypt(PLAINTEXT, CONTEXT)
        with pytest.raises(IntegrityError):
            other_secrets.decrypt(ciphertext, CONTEXT)

    @pytest.mark.parametrize(
        "wrong",
        [None, {"workspace_id": "ws_2", "secret_id": "sec_1"}, {"workspace_id": "ws_1"}],
        ids=["missing", "other-workspace", "subset"],
    )
    def test_another_context_cannot_decrypt(
        self, secrets: SecretStore, wrong: dict[str, str] | None
    ) -> None:
        ciphertext = secrets.encrypt(PLAINTEXT, CONTEXT)
        with pytest.raises(IntegrityError):
            secrets.decrypt(ciphertext, wrong)

    def test_context_given_where_none_was_bound_cannot_decrypt(self, secrets: SecretStore) -> None:
        ciphertext = secrets.encrypt(PLAINTEXT)
        with pytest.raises(IntegrityError):
            secrets.decrypt(ciphertext, CONTEXT)

    def test_context_order_does_not_matter(self, secrets: SecretStore) -> None:
        ciphertext = secrets.encrypt(PLAINTEXT, {"a": "1", "b": "2"})
        assert secrets.decrypt(ciphertext, {"b": "2", "a": "1"}) == PLAINTEXT

    @pytest.mark.parametrize("where", ["first", "middle", "last"])
    def test_tampered_ciphertext_is_an_integrity_error(
        self, secrets: SecretStore, where: str
    ) -> None:
        ciphertext = secrets.encrypt(PLAINTEXT, CONTEXT)
        index = {"first": 0, "middle": len(ciphertext) // 2, "last": len(ciphertext) - 1}[where]
        with pytest.raises(IntegrityError):
            secrets.decrypt(_flip(ciphertext, index), CONTEXT)

    @pytest.mark.parametrize("garbage", [b"", b"x", b"not a ciphertext at all" * 4])
    def test_garbage_is_an_integrity_error(self, secrets: SecretStore, garbage: bytes) -> None:
        with pytest.raises(IntegrityError):
            secrets.decrypt(garbage, CONTEXT)

    def test_truncated_ciphertext_is_an_integrity_error(self, secrets: SecretStore) -> None:
        ciphertext = secrets.encrypt(PLAINTEXT, CONTEXT)
        with pytest.raises(IntegrityError):
            secrets.decrypt(ciphertext[:-1], CONTEXT)

    def test_failure_reveals_neither_plaintext_nor_context(
        self, secrets: SecretStore, other_secrets: SecretStore
    ) -> None:
        ciphertext = secrets.encrypt(PLAINTEXT, CONTEXT)
        failures = []
        for attempt in (
            lambda: secrets.decrypt(ciphertext, {"workspace_id": "ws_2"}),
            lambda: other_secrets.decrypt(ciphertext, CONTEXT),
            lambda: secrets.decrypt(_flip(ciphertext, len(ciphertext) // 2), CONTEXT),
        ):
            with pytest.raises(IntegrityError) as info:
                attempt()
            failures.append(info.value)
        for exc in failures:
            shown = f"{exc} {exc!r} {exc.to_dict()} {exc.__cause__!r} {exc.__context__!r}"
            assert PLAINTEXT.decode() not in shown
            assert "sec_1" not in shown

    def test_rotate_keeps_the_value_and_the_context_binding(self, secrets: SecretStore) -> None:
        ciphertext = secrets.encrypt(PLAINTEXT, CONTEXT)
        rotated = secrets.rotate(ciphertext, CONTEXT)
        assert isinstance(rotated, bytes)
        assert PLAINTEXT not in rotated
        assert secrets.decrypt(rotated, CONTEXT) == PLAINTEXT
        with pytest.raises(IntegrityError):
            secrets.decrypt(rotated, {"workspace_id": "ws_2", "secret_id": "sec_1"})

    def test_rotate_refuses_a_wrong_context_or_tampered_bytes(self, secrets: SecretStore) -> None:
        ciphertext = secrets.encrypt(PLAINTEXT, CONTEXT)
        with pytest.raises(IntegrityError):
            secrets.rotate(ciphertext, {"workspace_id": "ws_2"})
        with pytest.raises(IntegrityError):
            secrets.rotate(_flip(ciphertext, len(ciphertext) // 2), CONTEXT)

    def test_store_satisfies_the_port_protocol(self, secrets: SecretStore) -> None:
        assert isinstance(secrets, SecretStore)
