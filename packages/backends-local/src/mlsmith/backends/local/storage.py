"""BlobStore on the local disk through fsspec's local filesystem (``file://<root>``).

Every key goes through :func:`mlsmith.core.storage_keys.canonical_key` and is then confined to the
root twice over: no path component may be a symlink, and the resolved path must stay inside the root.
Writes go to a temp file in the destination directory (hashing in the same pass), are fsynced and
then renamed into place with ``os.replace``, so readers see the old object or the new one, never a
partial one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from fsspec.implementations.local import LocalFileSystem
from pydantic import BaseModel, ValidationError

from mlsmith.core.errors import (
    BackendUnavailable,
    ConfigError,
    Conflict,
    InvalidInput,
    NotFound,
)
from mlsmith.core.ports.storage import BlobInfo
from mlsmith.core.storage_keys import canonical_key

CHUNK_SIZE = 1024 * 1024
_SCHEME = "file://"
# '~' can never appear in a canonical key, so temp files are invisible to list_keys and can never
# collide with (or be opened as) a real object.
_TEMP_MARK = ".~tmp-"


class FsspecBlobStore:
    def __init__(self, fs: LocalFileSystem, root: str) -> None:
        self._fs = fs
        # Resolved once: the root itself may sit below a symlink (e.g. /tmp on macOS); what must not
        # contain symlinks is everything *inside* it.
        self._root = os.path.realpath(root)
        if not os.path.isdir(self._root):
            raise BackendUnavailable("storage root is not a directory", root=self._root)

    # -- port ---------------------------------------------------------------------------------

    def put(self, key: str, stream: BinaryIO) -> BlobInfo:
        key = canonical_key(key)
        path = self._path_of(key)
        parent = os.path.dirname(path)
        tmp = os.path.join(parent, f"{_TEMP_MARK}{secrets.token_hex(8)}")
        digest, size = hashlib.sha256(), 0
        try:
            with self._open_temp(tmp, key) as out:
                # Errors raised by the caller's stream propagate unchanged: they are not ours.
                while chunk := stream.read(CHUNK_SIZE):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            self._path_of(key)  # a component may have become a symlink while we streamed
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                os.unlink(tmp)
            if isinstance(exc, IsADirectoryError):
                raise Conflict("a folder already exists at this key", key=key) from exc
            raise
        _fsync_dir(parent)  # make the rename itself durable
        return BlobInfo(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        key = canonical_key(key)
        path = self._path_of(key)
        try:
            return self._fs.open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"no blob at {key!r}", key=key) from None

    def exists(self, key: str) -> bool:
        key = canonical_key(key)
        return self._fs.isfile(self._path_of(key))

    def delete(self, key: str) -> None:
        key = canonical_key(key)
        path = self._path_of(key)
        if self._fs.isfile(path):
            with contextlib.suppress(FileNotFoundError):
                self._fs.rm_file(path)

    def delete_prefix(self, prefix: str) -> int:
        prefix = canonical_key(prefix, allow_empty=True)
        deleted = 0
        for key in self.list_keys(prefix):
            with contextlib.suppress(FileNotFoundError):  # a concurrent delete got there first
                self._fs.rm_file(self._path_of(key))
                deleted += 1
        self._prune_empty_dirs(self._path_of(prefix) if prefix else self._root)
        return deleted

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Validated eagerly (not inside a generator) so a bad prefix fails at the call.
        prefix = canonical_key(prefix, allow_empty=True)
        top = self._path_of(prefix) if prefix else self._root
        keys: list[str] = []
        # os.walk rather than fs.find: fsspec's local walk descends into symlinked folders, and a
        # listing (or delete_prefix) must never reach outside the root.
        for dirpath, _dirnames, filenames in os.walk(top, followlinks=False):
            for name in filenames:
                full = os.path.join(dirpath, name)
                if os.path.islink(full):
                    continue
                rel = os.path.relpath(full, self._root).replace(os.sep, "/")
                if _is_canonical(rel):  # skips temp files and anything we did not write
                    keys.append(rel)
        return iter(sorted(keys))

    def ping(self) -> None:
        if not os.path.isdir(self._root) or not os.access(self._root, os.W_OK | os.X_OK):
            raise BackendUnavailable("storage root is missing or not writable", root=self._root)

    def close(self) -> None:
        return None

    # -- confinement --------------------------------------------------------------------------

    def _path_of(self, key: str) -> str:
        """Filesystem path of a canonical key; refuses symlinked components and escapes."""
        path = self._root
        for part in key.split("/"):
            path = os.path.join(path, part)
            if os.path.islink(path):
                raise InvalidInput("storage key passes through a symbolic link", key=key)
        real = os.path.realpath(path)
        if real != self._root and not real.startswith(self._root + os.sep):
            raise InvalidInput("storage key resolves outside the store", key=key)
        return path

    def _open_temp(self, tmp: str, key: str) -> BinaryIO:
        try:
            try:
                return self._make_and_open(tmp)
            except FileNotFoundError:
                # A concurrent delete_prefix pruned the fresh folder before we opened: once more.
                return self._make_and_open(tmp)
        except (FileExistsError, NotADirectoryError) as exc:
            raise Conflict("an object exists where a folder is needed", key=key) from exc

    def _make_and_open(self, tmp: str) -> BinaryIO:
        self._fs.makedirs(os.path.dirname(tmp), exist_ok=True)
        # "xb" (O_EXCL): never write through something planted at the temp name.
        return self._fs.open(tmp, "xb")

    def _prune_empty_dirs(self, top: str) -> None:
        if not os.path.isdir(top) or os.path.islink(top):
            return
        for dirpath, _dirnames, _filenames in os.walk(top, topdown=False, followlinks=False):
            if dirpath != self._root:
                # Best effort: a non-empty folder (or one a concurrent put just filled) stays.
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)


def _is_canonical(rel: str) -> bool:
    try:
        return canonical_key(rel) == rel
    except InvalidInput:
        return False


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStorageOptions(BaseModel, extra="forbid"):
    """No options yet; ``extra="forbid"`` turns a misspelt option into a ConfigError."""


def build(url: str, options: Mapping[str, Any], ctx: object = None) -> FsspecBlobStore:
    if not url.lower().startswith(_SCHEME):
        raise ConfigError(f"MLSMITH_STORAGE_URL must start with {_SCHEME}", setting="storage_url")
    try:
        FileStorageOptions.model_validate(dict(options))
    except ValidationError as exc:
        raise ConfigError(f"invalid storage options: {exc}", setting="storage_options") from exc
    root = url[len(_SCHEME) :]
    if not root:
        raise ConfigError("MLSMITH_STORAGE_URL needs a directory: file:///path/to/dir")
    root = os.path.abspath(root)
    fs = LocalFileSystem()
    try:
        fs.makedirs(root, exist_ok=True)
    except OSError as exc:
        raise BackendUnavailable(f"cannot create storage root {root}: {exc.strerror}") from exc
    return FsspecBlobStore(fs, root)
