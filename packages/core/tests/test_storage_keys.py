"""The key canonicaliser: what it accepts, what it refuses, and that its output is stable."""

from __future__ import annotations

import pytest

from mlsmith.core.errors import InvalidInput
from mlsmith.core.storage_keys import MAX_KEY_LENGTH, canonical_key, is_under, join_key
from mlsmith.core.testing.contracts.storage import TRAVERSAL_CORPUS

GOOD_KEYS = [
    "a",
    "runs/run_3f9c2a1b7d4e5f60/attempt-1/pipeline.skops",
    "datasets/ds_1/data.csv",
    "x/y.tar.gz",
    "...",  # a legal file name, not a parent reference
    "a.b/c_d/E-F",
]


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_well_formed_keys_come_back_unchanged(key: str) -> None:
    assert canonical_key(key) == key


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_canonical_form_is_a_fixed_point(key: str) -> None:
    once = canonical_key(key)
    assert canonical_key(once) == once


def test_encoded_harmless_characters_are_decoded_to_their_plain_spelling() -> None:
    assert canonical_key("runs%2Fr1/%61.csv") == "runs/r1/a.csv"
    assert canonical_key("runs%252Fr1") == "runs/r1"


@pytest.mark.parametrize("key", TRAVERSAL_CORPUS)
def test_traversal_corpus_is_refused_as_key(key: str) -> None:
    with pytest.raises(InvalidInput):
        canonical_key(key)


@pytest.mark.parametrize("key", TRAVERSAL_CORPUS)
def test_traversal_corpus_is_refused_as_prefix(key: str) -> None:
    with pytest.raises(InvalidInput):
        canonical_key(key, allow_empty=True)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "a/",
        "/",
        "%2F",
        "a\u2024\u2024/x",  # one-dot leaders that some filesystems fold to '.'
        "caf\u00e9",
        "a b",
        "a:b",
        "~/x",
        "a\x7fb",
        "a\nb",
        "a%",
        "%25" * 6 + "2e",  # encoded more often than we are willing to decode
        "x" * 256,
        "a/" * (MAX_KEY_LENGTH // 2) + "a",
    ],
)
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidInput):
        canonical_key(key)


def test_non_string_key_is_refused() -> None:
    with pytest.raises(InvalidInput):
        canonical_key(b"a/b")  # type: ignore[arg-type]


def test_prefix_may_be_empty_or_end_with_one_slash() -> None:
    assert canonical_key("", allow_empty=True) == ""
    assert canonical_key("runs/", allow_empty=True) == "runs"
    assert canonical_key("runs/r1", allow_empty=True) == "runs/r1"


@pytest.mark.parametrize("prefix", ["/", "//", "runs//", "%2F"])
def test_prefix_that_is_absolute_or_has_empty_segments_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidInput):
        canonical_key(prefix, allow_empty=True)


def test_join_key_builds_a_canonical_key_and_refuses_unsafe_parts() -> None:
    assert join_key("runs", "r1/", "/attempt-1", "", "m.skops") == "runs/r1/attempt-1/m.skops"
    with pytest.raises(InvalidInput):
        join_key("runs", "..", "x")


def test_prefix_matches_folders_not_string_prefixes() -> None:
    assert is_under("runs/r1/x", "runs/r1")
    assert is_under("runs/r1/x", "")
    assert not is_under("runs/r10/x", "runs/r1")
    assert not is_under("runs/r1", "runs/r1")
