"""FsspecBlobStore: the BlobStore contract on a real directory, plus what only a disk can do."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from mlsmith.backends.local.storage import FsspecBlobStore, build
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.errors import ConfigError, Conflict, InvalidInput
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.storage import (
    MIB,
    BlobStoreContract,
    GeneratedStream,
    StreamBroke,
)


def _build(root: Path) -> FsspecBlobStore:
    return build(f"file://{root}", {}, BuildContext(settings=Settings(data_dir=root.parent)))


class TestFsspecBlobStore(BlobStoreContract):
    __test__ = True

    @pytest.fixture
    def store(self, tmp_path: Path) -> FsspecBlobStore:
        return _build(tmp_path / "blobs")


def _files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_build_from_settings_resolves_the_file_kind_and_creates_the_root(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    url = settings.url_for("storage")
    store = resolve_builder("storage", url)(
        url, settings.options_for("storage"), BuildContext(settings)
    )
    assert (tmp_path / "data" / "artifacts").is_dir()
    store.put("a/b", io.BytesIO(b"hello"))
    assert (tmp_path / "data" / "artifacts" / "a" / "b").read_bytes() == b"hello"
    store.close()


def test_unknown_option_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        build(f"file://{tmp_path}", {"bucket": "x"}, None)


def test_objects_survive_a_new_store_instance(tmp_path: Path) -> None:
    _build(tmp_path / "blobs").put("runs/r1/m", io.BytesIO(b"model"))
    again = _build(tmp_path / "blobs")
    assert list(again.list_keys()) == ["runs/r1/m"]
    with again.open("runs/r1/m") as f:
        assert f.read() == b"model"


def test_failed_put_leaves_no_temp_file_on_disk(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = _build(root)
    store.put("up/keep", io.BytesIO(b"k"))
    with pytest.raises(StreamBroke):
        store.put("up/partial", GeneratedStream(3 * MIB, fail_after=MIB + 5))
    assert _files_under(root) == ["up/keep"]


def test_key_through_a_symlinked_folder_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "blobs", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"do not read")
    store = _build(root)
    (root / "link").symlink_to(outside, target_is_directory=True)

    with pytest.raises(InvalidInput):
        store.open("link/secret")
    with pytest.raises(InvalidInput):
        store.put("link/new", io.BytesIO(b"x"))
    with pytest.raises(InvalidInput):
        store.delete("link/secret")
    with pytest.raises(InvalidInput):
        store.delete_prefix("link")
    with pytest.raises(InvalidInput):
        list(store.list_keys("link"))
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_bytes() == b"do not read"


def test_symlinked_file_is_neither_readable_nor_listed(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    (tmp_path / "passwd").write_bytes(b"root:x:0:0")
    store = _build(root)
    (root / "innocent").symlink_to(tmp_path / "passwd")

    with pytest.raises(InvalidInput):
        store.open("innocent")
    assert list(store.list_keys()) == []


def test_delete_everything_does_not_follow_symlinks_out_of_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "blobs", tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_bytes(b"1")
    store = _build(root)
    store.put("mine", io.BytesIO(b"2"))
    (root / "escape").symlink_to(outside, target_is_directory=True)

    assert store.delete_prefix("") == 1
    assert (outside / "precious").read_bytes() == b"1"


def test_object_where_a_folder_is_needed_is_a_conflict(tmp_path: Path) -> None:
    store = _build(tmp_path / "blobs")
    store.put("a", io.BytesIO(b"file"))
    with pytest.raises(Conflict):
        store.put("a/b", io.BytesIO(b"x"))
    store.put("d/x", io.BytesIO(b"x"))
    with pytest.raises(Conflict):
        store.put("d", io.BytesIO(b"x"))
    assert _files_under(tmp_path / "blobs") == ["a", "d/x"]


def test_delete_prefix_removes_the_emptied_folders(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = _build(root)
    store.put("runs/r1/attempt-1/m", io.BytesIO(b"x"))
    store.put("runs/r2/m", io.BytesIO(b"y"))
    store.delete_prefix("runs/r1")
    assert not (root / "runs" / "r1").exists()
    assert (root / "runs" / "r2" / "m").exists()


def test_symlink_pointing_inside_the_root_is_refused_too(tmp_path: Path) -> None:
    # Aliases would let one key overwrite another's object; only real folders are followed.
    root = tmp_path / "blobs"
    store = _build(root)
    store.put("runs/r1/m", io.BytesIO(b"r1"))
    (root / "alias").symlink_to(root / "runs", target_is_directory=True)
    with pytest.raises(InvalidInput):
        store.put("alias/r1/m", io.BytesIO(b"overwritten"))
    with store.open("runs/r1/m") as f:
        assert f.read() == b"r1"


def test_temp_file_left_by_a_crashed_writer_is_not_listed_or_counted(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = _build(root)
    store.put("runs/r1/m", io.BytesIO(b"x"))
    (root / "runs" / "r1" / ".~tmp-0123456789abcdef").write_bytes(b"half a model")
    assert list(store.list_keys()) == ["runs/r1/m"]
    assert store.delete_prefix("runs") == 1
