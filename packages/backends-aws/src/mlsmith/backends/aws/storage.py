"""BlobStore on Amazon S3 or an S3-compatible store (``s3://bucket/prefix``).

- Every key goes through :func:`mlsmith.core.storage_keys.canonical_key` and is stored under the
  configured prefix; listings and deletes only ever address ``<prefix>/...`` (folder semantics, so
  prefix ``runs/r1`` never reaches ``runs/r10/...``).
- ``put`` streams: it reads at most one part (``part_size``) at a time, hashing as it goes. An object
  smaller than one part is sent with a single PutObject; a larger one with a multipart upload that
  is aborted on any error, so readers see the previous object or the new one, never a partial one.
- ``open`` returns a buffered reader over the GetObject body; seeking reopens the body with a
  ranged GET pinned to the object's ETag (an overwrite in between is a Conflict, not mixed bytes).
- botocore errors are converted where they happen: missing key -> NotFound, denied ->
  PermissionDenied, everything else (unreachable, throttled, missing bucket) -> BackendUnavailable.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from mlsmith.core.errors import (
    BackendUnavailable,
    ConfigError,
    Conflict,
    InvalidInput,
    MlsmithError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
)
from mlsmith.core.ports.storage import BlobInfo
from mlsmith.core.storage_keys import canonical_key

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB  # S3's minimum for every part but the last
MAX_PART_SIZE = 5 * 1024 * MIB
DEFAULT_PART_SIZE = 8 * MIB
MAX_PARTS = 10_000  # S3's limit: the largest object is part_size * MAX_PARTS
READ_CHUNK = MIB  # how much is asked of the caller's stream at a time
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
MAX_PRESIGN_S = 7 * 24 * 3600  # SigV4 presigned URLs live at most 7 days
_SCHEME = "s3://"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

_NOT_FOUND = {"NoSuchKey", "NotFound", "404"}
_DENIED = {"AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
_CHANGED = {"PreconditionFailed", "412"}


class S3BlobStore:
    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        sse: Literal["AES256", "aws:kms"] | None = None,
        sse_kms_key_id: str | None = None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        """``client``: a boto3 S3 client (thread-safe; shared by all calls)."""
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ConfigError("part_size must be between 5 MiB and 5 GiB", setting="part_size")
        if sse_kms_key_id and sse != "aws:kms":
            raise ConfigError("sse_kms_key_id needs sse='aws:kms'", setting="sse_kms_key_id")
        self._s3 = client
        self._bucket = bucket
        self._root = canonical_key(prefix, allow_empty=True)
        self._part_size = part_size
        self._sse: dict[str, str] = {}
        if sse:
            self._sse["ServerSideEncryption"] = sse
        if sse_kms_key_id:
            self._sse["SSEKMSKeyId"] = sse_kms_key_id

    # -- port ---------------------------------------------------------------------------------

    def put(self, key: str, stream: BinaryIO) -> BlobInfo:
        key = canonical_key(key)
        name = self._name(key)
        digest = hashlib.sha256()
        # Errors raised by the caller's stream propagate unchanged: they are not ours.
        first = _read_part(stream, self._part_size, digest)
        if len(first) < self._part_size:  # the whole object fits in one request
            with _converted(key):
                self._s3.put_object(Bucket=self._bucket, Key=name, Body=bytes(first), **self._sse)
            return BlobInfo(key=key, size=len(first), sha256=digest.hexdigest())
        pending = [first]  # handed over, so that only the upload loop holds a part
        del first
        return self._put_multipart(key, name, pending, stream, digest)

    def open(self, key: str) -> BinaryIO:
        key = canonical_key(key)
        with _converted(key):
            response = self._s3.get_object(Bucket=self._bucket, Key=self._name(key))
        raw = _S3ObjectReader(self._s3, self._bucket, self._name(key), key, response)
        return io.BufferedReader(raw, buffer_size=256 * 1024)  # type: ignore[return-value]

    def exists(self, key: str) -> bool:
        key = canonical_key(key)
        try:
            with _converted(key):
                self._s3.head_object(Bucket=self._bucket, Key=self._name(key))
        except NotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        key = canonical_key(key)
        with _converted(key):  # S3 answers 204 for a missing key too
            self._s3.delete_object(Bucket=self._bucket, Key=self._name(key))

    def delete_prefix(self, prefix: str) -> int:
        prefix = canonical_key(prefix, allow_empty=True)
        deleted = 0
        batch: list[str] = []
        for key in self._iter_keys(prefix):
            batch.append(key)
            if len(batch) == DELETE_BATCH:
                deleted += self._delete_batch(batch)
                batch = []
        if batch:
            deleted += self._delete_batch(batch)
        return deleted

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Validated eagerly (not inside the generator) so a bad prefix fails at the call.
        prefix = canonical_key(prefix, allow_empty=True)
        return self._iter_keys(prefix)

    def ping(self) -> None:
        try:
            with _converted(""):
                self._s3.head_bucket(Bucket=self._bucket)
        except MlsmithError as exc:
            raise BackendUnavailable(
                f"S3 bucket {self._bucket!r} is not reachable ({exc.message})",
                bucket=self._bucket,
            ) from exc

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._s3.close()

    # -- optional capability: PresignsUrls ----------------------------------------------------

    def presign(self, key: str, expires_s: int) -> str:
        """A presigned GET URL for ``key``, valid for ``expires_s`` seconds (1 s .. 7 days)."""
        key = canonical_key(key)
        if not 1 <= expires_s <= MAX_PRESIGN_S:
            raise InvalidInput("expires_s must be between 1 second and 7 days", expires_s=expires_s)
        with _converted(key):
            return self._s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._bucket, "Key": self._name(key)},
                ExpiresIn=expires_s,
            )

    # -- internals ----------------------------------------------------------------------------

    def _name(self, key: str) -> str:
        """The S3 object name of a canonical key (or folder)."""
        if not key:
            return self._root
        return f"{self._root}/{key}" if self._root else key

    def _folder(self, prefix: str) -> str:
        """The S3 ``Prefix`` of a canonical folder: always ends with '/' (or is empty)."""
        name = self._name(prefix)
        return f"{name}/" if name else ""

    def _iter_keys(self, prefix: str) -> Iterator[str]:
        # S3 lists in UTF-8 binary order, which is str order for canonical (ASCII) keys, and every
        # name here shares one leading folder; so the stream is sorted without holding it.
        strip = len(self._folder(""))
        with _converted(prefix):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=self._folder(prefix)
            )
            for page in pages:
                for obj in page.get("Contents", ()):
                    key = obj["Key"][strip:]
                    if _is_canonical(key):  # skips anything we did not write
                        yield key

    def _delete_batch(self, keys: list[str]) -> int:
        with _converted(keys[0]):
            response = self._s3.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": self._name(k)} for k in keys], "Quiet": True},
            )
        errors = response.get("Errors", [])
        if errors:
            codes = sorted({e.get("Code", "?") for e in errors})
            raise BackendUnavailable(
                f"S3 refused to delete {len(errors)} of {len(keys)} objects ({', '.join(codes)})",
                bucket=self._bucket,
            )
        return len(keys)

    def _put_multipart(
        self, key: str, name: str, pending: list[bytearray], stream: BinaryIO, digest: Any
    ) -> BlobInfo:
        with _converted(key):
            upload_id = self._s3.create_multipart_upload(
                Bucket=self._bucket, Key=name, **self._sse
            )["UploadId"]
        parts: list[dict[str, Any]] = []
        size = 0
        try:
            chunk = pending.pop()
            while chunk:
                if len(parts) == MAX_PARTS:
                    raise PayloadTooLarge(
                        f"object exceeds {MAX_PARTS} parts of {self._part_size} bytes; "
                        "raise part_size",
                        key=key,
                    )
                number = len(parts) + 1
                with _converted(key):
                    etag = self._s3.upload_part(
                        Bucket=self._bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=bytes(chunk),
                    )["ETag"]
                parts.append({"ETag": etag, "PartNumber": number})
                size += len(chunk)
                del chunk  # one part in memory at a time: release it before reading the next
                chunk = _read_part(stream, self._part_size, digest)
            with _converted(key):
                self._s3.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=name,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            # Nothing becomes visible; the uploaded parts are freed. Best effort: the original
            # error is what the caller needs (a lifecycle rule cleans what an abort could not).
            with contextlib.suppress(Exception):
                self._s3.abort_multipart_upload(Bucket=self._bucket, Key=name, UploadId=upload_id)
            raise
        return BlobInfo(key=key, size=size, sha256=digest.hexdigest())


def _read_part(stream: BinaryIO, part_size: int, digest: Any) -> bytearray:
    """Up to ``part_size`` bytes of ``stream`` (fewer only at its end), added to ``digest``."""
    buffer = bytearray()
    while len(buffer) < part_size:
        chunk = stream.read(min(READ_CHUNK, part_size - len(buffer)))
        if not chunk:
            break
        digest.update(chunk)
        buffer += chunk
    return buffer


def _is_canonical(key: str) -> bool:
    try:
        return canonical_key(key) == key
    except InvalidInput:
        return False


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    if code:
        return str(code)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(status) if status else type(exc).__name__


@contextlib.contextmanager
def _converted(key: str) -> Iterator[None]:
    """Turn botocore errors into core errors; the message names the S3 code, never a credential."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = _error_code(exc)
        if code in _NOT_FOUND:
            raise NotFound(f"no blob at {key!r}", key=key) from exc
        if code in _DENIED:
            raise PermissionDenied(f"S3 denied access ({code})", key=key) from exc
        if code in _CHANGED:
            raise Conflict("the object changed while it was being read", key=key) from exc
        raise BackendUnavailable(f"S3 request failed ({code})", key=key) from exc
    except BotoCoreError as exc:
        raise BackendUnavailable(f"S3 is not reachable ({type(exc).__name__})", key=key) from exc


class _S3ObjectReader(io.RawIOBase):
    """A seekable raw reader over one S3 object version.

    Reads stream from the current GetObject body; a seek drops the body and the next read opens a
    ranged GET from the new position, pinned with If-Match to the ETag first seen.
    """

    def __init__(self, client: Any, bucket: str, name: str, key: str, response: Any) -> None:
        self._s3 = client
        self._bucket = bucket
        self._name = name
        self._key = key
        self._body: Any = response["Body"]
        self._size = int(response["ContentLength"])
        self._etag = response.get("ETag")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        target = base + offset
        if target < 0:
            raise ValueError("negative seek position")
        if target != self._pos:
            self._drop_body()
            self._pos = target
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("read from a closed blob")
        if self._pos >= self._size or len(buffer) == 0:
            return 0
        if self._body is None:
            self._reopen()
        with _converted(self._key):
            data = self._read_body(min(len(buffer), self._size - self._pos))
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n

    def close(self) -> None:
        self._drop_body()
        super().close()

    def _read_body(self, n: int) -> bytes:
        from urllib3.exceptions import HTTPError

        try:
            data = self._body.read(n)
        except (HTTPError, OSError) as exc:
            raise BackendUnavailable("S3 read was interrupted", key=self._key) from exc
        if not data:  # the server ended the body before Content-Length bytes
            raise BackendUnavailable("S3 object ended early", key=self._key)
        return data

    def _reopen(self) -> None:
        extra = {"IfMatch": self._etag} if self._etag else {}
        with _converted(self._key):
            response = self._s3.get_object(
                Bucket=self._bucket, Key=self._name, Range=f"bytes={self._pos}-", **extra
            )
        self._body = response["Body"]

    def _drop_body(self) -> None:
        if self._body is not None:
            with contextlib.suppress(Exception):
                self._body.close()
            self._body = None


# -- builder ----------------------------------------------------------------------------------


class S3Options(BaseModel, extra="forbid"):
    endpoint_url: str | None = None  # S3-compatible stores (MinIO, Ceph, moto)
    region: str | None = None
    sse: Literal["AES256", "aws:kms"] | None = None
    sse_kms_key_id: str | None = None
    part_size: int = Field(default=DEFAULT_PART_SIZE, ge=MIN_PART_SIZE, le=MAX_PART_SIZE)
    addressing_style: Literal["auto", "path", "virtual"] | None = None  # default: path with an
    # endpoint_url (what S3-compatible stores expect), auto otherwise
    max_pool_connections: int = Field(default=32, ge=1, le=1024)

    @model_validator(mode="after")
    def _kms_key_needs_kms(self) -> S3Options:
        if self.sse_kms_key_id and self.sse != "aws:kms":
            raise ValueError("sse_kms_key_id needs sse='aws:kms'")
        return self


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``; the prefix is canonicalised."""
    if not url.lower().startswith(_SCHEME):
        raise ConfigError(f"MLSMITH_STORAGE_URL must start with {_SCHEME}", setting="storage_url")
    bucket, _, prefix = url[len(_SCHEME) :].partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ConfigError(
            "MLSMITH_STORAGE_URL needs a valid bucket name: s3://bucket/optional/prefix",
            setting="storage_url",
        )
    try:
        return bucket, canonical_key(prefix, allow_empty=True)
    except InvalidInput as exc:
        raise ConfigError(
            f"MLSMITH_STORAGE_URL has an invalid prefix: {exc.message}", setting="storage_url"
        ) from None


def build(url: str, options: Mapping[str, Any], ctx: object = None) -> S3BlobStore:
    import boto3  # lazy: choosing "file" never imports it
    from botocore.config import Config

    bucket, prefix = parse_url(url)
    try:
        opts = S3Options.model_validate(dict(options))
    except ValidationError as exc:
        raise ConfigError(f"invalid storage options: {exc}", setting="storage_options") from exc
    style = opts.addressing_style or ("path" if opts.endpoint_url else "auto")
    # Credentials come from the standard chain (environment, profile, instance/task role).
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=opts.endpoint_url,
        region_name=opts.region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": style},
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=opts.max_pool_connections,
        ),
    )
    return S3BlobStore(
        client,
        bucket,
        prefix,
        sse=opts.sse,
        sse_kms_key_id=opts.sse_kms_key_id,
        part_size=opts.part_size,
    )
