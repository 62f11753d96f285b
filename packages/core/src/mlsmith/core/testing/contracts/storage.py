"""BlobStore contract: every storage adapter (and the in-memory fake) must pass it.

Subclass with ``__test__ = True`` and a ``store`` fixture returning a fresh, empty store.

Prefixes have folder semantics (see :func:`mlsmith.core.storage_keys.is_under`): ``runs/r1`` does
not contain ``runs/r10/x``.
"""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor

import pytest

from mlsmith.core.errors import InvalidInput, MlsmithError, NotFound
from mlsmith.core.ports.storage import BlobInfo, BlobStore

MIB = 1024 * 1024

# Spellings of "somewhere else" that must never reach a backend (SECURITY.md, "How it is tested").
TRAVERSAL_CORPUS = [
    "..",
    "../x",
    "a/../../x",
    "%2e%2e/x",
    "%252e%252e/x",  # double encoding
    "..\\x",
    "a\\b",
    "/etc/passwd",
    "C:/x",
    "a#b",
    "a?b",
    "a//b",
    "./a",
    "a/\x00b",
]


class GeneratedStream(io.RawIOBase):
    """``size`` deterministic pseudo-random bytes produced on demand (never all held in memory).

    ``fail_after`` makes ``read`` raise :class:`StreamBroke` once that many bytes were handed out,
    like a client connection dropping mid-upload.
    """

    def __init__(self, size: int, *, seed: bytes = b"seed", fail_after: int | None = None) -> None:
        self._size = size
        self._pos = 0
        self._seed = seed
        self._fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self._fail_after is not None and self._pos >= self._fail_after:
            raise StreamBroke("client went away")
        n = min(len(buffer), self._size - self._pos)
        if self._fail_after is not None:
            n = min(n, self._fail_after - self._pos)
        chunk = _pattern(self._seed, self._pos, n)
        buffer[:n] = chunk
        self._pos += n
        return n


class StreamBroke(Exception):
    """Raised by a GeneratedStream told to fail; adapters may let it through or wrap it."""


def _pattern(seed: bytes, start: int, n: int) -> bytes:
    # 32-byte blocks of sha256(seed || block index): cheap, deterministic, not compressible.
    out = bytearray()
    block, offset = divmod(start, 32)
    while len(out) < n + offset:
        out += hashlib.sha256(seed + block.to_bytes(8, "big")).digest()
        block += 1
    return bytes(out[offset : offset + n])


def generated_sha256(size: int, *, seed: bytes = b"seed") -> str:
    """The sha256 a GeneratedStream of ``size`` bytes hashes to, computed independently."""
    digest = hashlib.sha256()
    stream = GeneratedStream(size, seed=seed)
    while chunk := stream.read(MIB):
        digest.update(chunk)
    return digest.hexdigest()


def read_all(store: BlobStore, key: str) -> bytes:
    with store.open(key) as f:
        return f.read()


def sha256_of_stored(store: BlobStore, key: str) -> tuple[int, str]:
    """Size and sha256 of a stored object, read back in chunks."""
    digest, size = hashlib.sha256(), 0
    with store.open(key) as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


class BlobStoreContract:
    __test__ = False

    # -- put / open ---------------------------------------------------------------------------

    @pytest.mark.parametrize("size", [0, 1, 1000, MIB, MIB + 1])
    def test_put_reports_size_and_sha256_of_the_bytes_and_open_returns_them(
        self, store: BlobStore, size: int
    ) -> None:
        data = _pattern(b"small", 0, size)
        info = store.put("objs/blob.bin", io.BytesIO(data))
        assert info == BlobInfo(
            key="objs/blob.bin", size=size, sha256=hashlib.sha256(data).hexdigest()
        )
        assert read_all(store, "objs/blob.bin") == data

    def test_large_stream_is_stored_whole_and_hashed_correctly(self, store: BlobStore) -> None:
        size = 8 * MIB + 3
        info = store.put("big/blob.bin", GeneratedStream(size))
        expected = generated_sha256(size)
        assert (info.size, info.sha256) == (size, expected)
        assert sha256_of_stored(store, "big/blob.bin") == (size, expected)

    def test_put_returns_the_canonical_key(self, store: BlobStore) -> None:
        info = store.put("runs%2Fr1/model.skops", io.BytesIO(b"m"))
        assert info.key == "runs/r1/model.skops"
        assert read_all(store, "runs/r1/model.skops") == b"m"

    def test_put_overwrites_an_existing_object(self, store: BlobStore) -> None:
        store.put("k/v", io.BytesIO(b"first version, longer"))
        info = store.put("k/v", io.BytesIO(b"second"))
        assert info.size == 6
        assert read_all(store, "k/v") == b"second"
        assert list(store.list_keys()) == ["k/v"]

    def test_open_streams_in_pieces(self, store: BlobStore) -> None:
        store.put("k", io.BytesIO(b"abcdef"))
        with store.open("k") as f:
            assert f.read(2) == b"ab"
            assert f.read(3) == b"cde"
            assert f.read() == b"f"
            assert f.read() == b""

    def test_open_of_a_missing_key_raises_not_found(self, store: BlobStore) -> None:
        with pytest.raises(NotFound):
            store.open("no/such/key")

    def test_open_of_a_prefix_is_not_an_object(self, store: BlobStore) -> None:
        store.put("dir/file", io.BytesIO(b"x"))
        with pytest.raises(NotFound):
            store.open("dir")

    # -- failed writes ------------------------------------------------------------------------

    def test_failed_put_leaves_no_object_behind(self, store: BlobStore) -> None:
        with pytest.raises((StreamBroke, MlsmithError)):
            store.put("up/partial.bin", GeneratedStream(3 * MIB, fail_after=MIB + 17))
        assert not store.exists("up/partial.bin")
        assert list(store.list_keys()) == []
        with pytest.raises(NotFound):
            store.open("up/partial.bin")

    def test_failed_overwrite_keeps_the_previous_object_intact(self, store: BlobStore) -> None:
        store.put("up/obj.bin", io.BytesIO(b"good"))
        with pytest.raises((StreamBroke, MlsmithError)):
            store.put("up/obj.bin", GeneratedStream(2 * MIB, fail_after=MIB // 2))
        assert read_all(store, "up/obj.bin") == b"good"
        assert list(store.list_keys()) == ["up/obj.bin"]

    # -- exists / delete ----------------------------------------------------------------------

    def test_exists_follows_put_and_delete(self, store: BlobStore) -> None:
        assert not store.exists("e/x")
        store.put("e/x", io.BytesIO(b"1"))
        assert store.exists("e/x")
        assert not store.exists("e")  # a folder is not an object
        store.delete("e/x")
        assert not store.exists("e/x")
        with pytest.raises(NotFound):
            store.open("e/x")

    def test_deleting_a_missing_key_is_not_an_error(self, store: BlobStore) -> None:
        store.delete("never/written")
        store.put("a", io.BytesIO(b"1"))
        store.delete("a")
        store.delete("a")
        assert list(store.list_keys()) == []

    def test_delete_prefix_removes_that_folder_only_and_counts(self, store: BlobStore) -> None:
        for key in ["runs/r1/a", "runs/r1/sub/b", "runs/r10/c", "runs/r2/d", "other"]:
            store.put(key, io.BytesIO(key.encode()))
        assert store.delete_prefix("runs/r1") == 2
        assert list(store.list_keys()) == ["other", "runs/r10/c", "runs/r2/d"]
        assert store.delete_prefix("runs/r1") == 0
        assert store.delete_prefix("missing/") == 0
        assert read_all(store, "runs/r10/c") == b"runs/r10/c"

    def test_folder_can_be_reused_after_delete_prefix(self, store: BlobStore) -> None:
        store.put("runs/r1/a", io.BytesIO(b"1"))
        store.delete_prefix("runs/r1")
        store.put("runs/r1/a", io.BytesIO(b"2"))
        assert read_all(store, "runs/r1/a") == b"2"

    # -- listing ------------------------------------------------------------------------------

    def test_list_keys_is_sorted_and_filtered_by_folder(self, store: BlobStore) -> None:
        keys = ["b/2", "a/1", "b/1", "b10/x", "b/c/3", "b-c"]
        for key in keys:
            store.put(key, io.BytesIO(b"."))
        assert list(store.list_keys()) == sorted(keys)
        assert list(store.list_keys("")) == sorted(keys)
        assert list(store.list_keys("b")) == ["b/1", "b/2", "b/c/3"]
        assert list(store.list_keys("b/")) == ["b/1", "b/2", "b/c/3"]
        assert list(store.list_keys("b/c")) == ["b/c/3"]
        assert list(store.list_keys("nothing")) == []

    def test_empty_store_lists_nothing(self, store: BlobStore) -> None:
        assert list(store.list_keys()) == []

    # -- confinement --------------------------------------------------------------------------

    @pytest.mark.parametrize("key", TRAVERSAL_CORPUS)
    def test_put_refuses_traversal_spellings(self, store: BlobStore, key: str) -> None:
        with pytest.raises(InvalidInput):
            store.put(key, io.BytesIO(b"evil"))
        assert list(store.list_keys()) == []

    @pytest.mark.parametrize("key", TRAVERSAL_CORPUS)
    def test_open_refuses_traversal_spellings(self, store: BlobStore, key: str) -> None:
        with pytest.raises(InvalidInput):
            store.open(key)

    @pytest.mark.parametrize("key", TRAVERSAL_CORPUS)
    def test_delete_refuses_traversal_spellings(self, store: BlobStore, key: str) -> None:
        store.put("keep/me", io.BytesIO(b"1"))
        with pytest.raises(InvalidInput):
            store.delete(key)
        with pytest.raises(InvalidInput):
            store.delete_prefix(key)
        assert list(store.list_keys()) == ["keep/me"]

    @pytest.mark.parametrize("key", TRAVERSAL_CORPUS)
    def test_list_and_exists_refuse_traversal_spellings(self, store: BlobStore, key: str) -> None:
        with pytest.raises(InvalidInput):
            list(store.list_keys(key))
        with pytest.raises(InvalidInput):
            store.exists(key)

    # -- concurrency --------------------------------------------------------------------------

    def test_concurrent_writers_to_one_key_leave_one_whole_object(self, store: BlobStore) -> None:
        # Each writer's object is distinct and large enough to span several chunks; whatever
        # finishes last must be readable whole, never a mix of two writers.
        seeds = [f"writer-{i}".encode() for i in range(6)]
        size = 2 * MIB + 7
        with ThreadPoolExecutor(max_workers=len(seeds)) as pool:
            infos = list(
                pool.map(lambda s: store.put("same/key", GeneratedStream(size, seed=s)), seeds)
            )
        expected = {generated_sha256(size, seed=s) for s in seeds}
        assert {info.sha256 for info in infos} == expected
        assert sha256_of_stored(store, "same/key")[1] in expected
        assert list(store.list_keys()) == ["same/key"]

    def test_concurrent_writers_to_many_keys_all_land(self, store: BlobStore) -> None:
        keys = [f"w{t}/k{i}" for t in range(8) for i in range(10)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda k: store.put(k, io.BytesIO(k.encode())), keys))
        assert list(store.list_keys()) == sorted(keys)
        assert all(read_all(store, k) == k.encode() for k in keys)

    # -- lifecycle ----------------------------------------------------------------------------

    def test_ping_succeeds_on_a_working_store(self, store: BlobStore) -> None:
        store.ping()

    def test_store_satisfies_the_port_protocol(self, store: BlobStore) -> None:
        assert isinstance(store, BlobStore)
