"""S3BlobStore: the BlobStore contract on a moto server over real HTTP (a fresh bucket per test),
plus what only S3 does: presigned GETs, server-side encryption, multipart uploads and their abort,
ranged reads, confinement to the configured prefix, and building from settings."""

from __future__ import annotations

import hashlib
import io
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from mlsmith.backends.aws.storage import MIB, S3BlobStore, build
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.errors import BackendUnavailable, ConfigError, InvalidInput
from mlsmith.core.ports.storage import PresignsUrls
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.storage import (
    TRAVERSAL_CORPUS,
    BlobStoreContract,
    GeneratedStream,
    StreamBroke,
    generated_sha256,
    sha256_of_stored,
)

REGION = "us-east-1"
PART = 5 * MIB  # the smallest part S3 accepts: multipart starts at 5 MiB


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Static credentials for the moto server, through the standard chain the builder uses."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def s3(moto_server_url: str, aws_env: None) -> Any:
    """A raw boto3 client on the moto server, to look behind the adapter's back."""
    import boto3

    client = boto3.client("s3", endpoint_url=moto_server_url, region_name=REGION)
    yield client
    client.close()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"t-{secrets.token_hex(8)}"
    s3.create_bucket(Bucket=name)
    return name


def _options(moto_server_url: str, **extra: Any) -> dict[str, Any]:
    return {"endpoint_url": moto_server_url, "region": REGION, **extra}


def _build(url: str, moto_server_url: str, **extra: Any) -> S3BlobStore:
    return build(url, _options(moto_server_url, **extra), None)


class TestS3BlobStore(BlobStoreContract):
    __test__ = True

    @pytest.fixture
    def store(self, bucket: str, moto_server_url: str) -> Any:
        # Under a prefix, and with the smallest part size, so that the contract's 8 MiB object
        # goes through a multipart upload.
        store = _build(f"s3://{bucket}/root", moto_server_url, part_size=PART)
        yield store
        store.close()


def _read(store: S3BlobStore, key: str) -> bytes:
    with store.open(key) as f:
        return f.read()


# -- presigned URLs ---------------------------------------------------------------------------


def test_presigned_get_url_serves_the_bytes_over_http(bucket: str, moto_server_url: str) -> None:
    store = _build(f"s3://{bucket}/root", moto_server_url)
    assert isinstance(store, PresignsUrls)
    store.put("runs/r1/report.html", io.BytesIO(b"<h1>report</h1>"))

    url = store.presign("runs/r1/report.html", expires_s=300)
    response = httpx.get(url)

    assert response.status_code == 200
    assert response.content == b"<h1>report</h1>"
    assert "X-Amz-Signature=" in url


@pytest.mark.parametrize("key", TRAVERSAL_CORPUS)
def test_presign_refuses_traversal_spellings(bucket: str, moto_server_url: str, key: str) -> None:
    store = _build(f"s3://{bucket}/root", moto_server_url)
    with pytest.raises(InvalidInput):
        store.presign(key, expires_s=60)


@pytest.mark.parametrize("expires_s", [0, -1, 7 * 24 * 3600 + 1])
def test_presign_refuses_lifetimes_s3_would_not_honour(
    bucket: str, moto_server_url: str, expires_s: int
) -> None:
    store = _build(f"s3://{bucket}", moto_server_url)
    with pytest.raises(InvalidInput):
        store.presign("k", expires_s=expires_s)


# -- server-side encryption -------------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 2 * PART + 1], ids=["single-put", "multipart"])
def test_sse_aes256_is_requested_for_every_object(
    s3: Any, bucket: str, moto_server_url: str, size: int
) -> None:
    store = _build(f"s3://{bucket}/enc", moto_server_url, sse="AES256", part_size=PART)
    store.put("obj", GeneratedStream(size))
    assert s3.head_object(Bucket=bucket, Key="enc/obj")["ServerSideEncryption"] == "AES256"


def test_sse_kms_sends_the_key_id(s3: Any, bucket: str, moto_server_url: str) -> None:
    import boto3

    kms = boto3.client("kms", endpoint_url=moto_server_url, region_name=REGION)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    store = _build(f"s3://{bucket}", moto_server_url, sse="aws:kms", sse_kms_key_id=key_id)

    store.put("obj", io.BytesIO(b"x"))

    head = s3.head_object(Bucket=bucket, Key="obj")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key_id in head["SSEKMSKeyId"]


def test_without_sse_option_no_encryption_header_is_sent(
    s3: Any, bucket: str, moto_server_url: str
) -> None:
    store = _build(f"s3://{bucket}", moto_server_url)
    store.put("obj", io.BytesIO(b"x"))
    assert s3.head_object(Bucket=bucket, Key="obj").get("ServerSideEncryption") in (None, "AES256")
    # (AWS now encrypts with AES256 by default; moto reports nothing.)


# -- multipart --------------------------------------------------------------------------------


def test_multipart_upload_of_several_parts_is_whole_and_correct(
    s3: Any, bucket: str, moto_server_url: str
) -> None:
    size = 3 * PART + 12_345  # four parts, the last one short
    store = _build(f"s3://{bucket}/mp", moto_server_url, part_size=PART)

    info = store.put("big/blob.bin", GeneratedStream(size, seed=b"mp"))

    expected = generated_sha256(size, seed=b"mp")
    assert (info.size, info.sha256) == (size, expected)
    assert sha256_of_stored(store, "big/blob.bin") == (size, expected)
    head = s3.head_object(Bucket=bucket, Key="mp/big/blob.bin")
    assert head["ContentLength"] == size
    assert head["ETag"].strip('"').endswith("-4")  # S3's mark of a 4-part upload
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_object_of_exactly_one_part_is_stored_whole(bucket: str, moto_server_url: str) -> None:
    store = _build(f"s3://{bucket}", moto_server_url, part_size=PART)
    info = store.put("edge", GeneratedStream(PART, seed=b"edge"))
    assert info.size == PART
    assert sha256_of_stored(store, "edge") == (PART, generated_sha256(PART, seed=b"edge"))


def test_failure_after_parts_were_uploaded_aborts_the_multipart_upload(
    s3: Any, bucket: str, moto_server_url: str
) -> None:
    store = _build(f"s3://{bucket}/mp", moto_server_url, part_size=PART)
    store.put("obj", io.BytesIO(b"previous"))

    with pytest.raises(StreamBroke):
        store.put("obj", GeneratedStream(4 * PART, fail_after=2 * PART + 100))

    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert _read(store, "obj") == b"previous"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])] == ["mp/obj"]


class _CountingStream(io.RawIOBase):
    """A GeneratedStream that records the largest read it was asked for."""

    def __init__(self, size: int) -> None:
        self._inner = GeneratedStream(size)
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        self.largest_read = max(self.largest_read, n if n >= 0 else 1 << 62)
        return self._inner.read(n)


def test_put_reads_the_stream_in_bounded_chunks(bucket: str, moto_server_url: str) -> None:
    stream = _CountingStream(2 * PART + 5)
    store = _build(f"s3://{bucket}", moto_server_url, part_size=PART)
    store.put("bounded", stream)  # type: ignore[arg-type]
    assert 0 < stream.largest_read <= MIB


# -- reads ------------------------------------------------------------------------------------


def test_open_supports_seeking_with_ranged_reads(bucket: str, moto_server_url: str) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    store = _build(f"s3://{bucket}", moto_server_url)
    store.put("r", io.BytesIO(data))
    with store.open("r") as f:
        assert f.seekable()
        f.seek(700_000)
        assert f.read(10) == data[700_000:700_010]
        f.seek(-5, io.SEEK_END)
        assert f.read() == data[-5:]
        f.seek(3)
        assert f.read(4) == data[3:7]
        assert f.tell() == 7


def test_reading_after_seek_refuses_an_object_overwritten_meanwhile(
    bucket: str, moto_server_url: str
) -> None:
    from mlsmith.core.errors import Conflict

    store = _build(f"s3://{bucket}", moto_server_url)
    store.put("v", io.BytesIO(b"A" * (2 * MIB)))
    with store.open("v") as f:
        assert f.read(1) == b"A"
        store.put("v", io.BytesIO(b"B" * (2 * MIB)))
        f.seek(MIB + 512 * 1024)  # beyond the buffered bytes: a new ranged GET
        with pytest.raises(Conflict):
            f.read(1)


# -- confinement to the prefix ----------------------------------------------------------------


def test_objects_outside_the_prefix_are_neither_listed_nor_deleted(
    s3: Any, bucket: str, moto_server_url: str
) -> None:
    for name in ["root10/x", "rootless", "other/root/y", "root"]:
        s3.put_object(Bucket=bucket, Key=name, Body=b"foreign")
    store = _build(f"s3://{bucket}/root", moto_server_url)
    store.put("mine", io.BytesIO(b"1"))

    assert list(store.list_keys()) == ["mine"]
    assert not store.exists("x")
    assert store.delete_prefix("") == 1
    remaining = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert remaining == ["other/root/y", "root", "root10/x", "rootless"]


def test_objects_with_non_canonical_names_are_not_listed(
    s3: Any, bucket: str, moto_server_url: str
) -> None:
    s3.put_object(Bucket=bucket, Key="root/a b", Body=b"?")
    s3.put_object(Bucket=bucket, Key="root/../escape", Body=b"?")
    store = _build(f"s3://{bucket}/root", moto_server_url)
    store.put("ok", io.BytesIO(b"1"))
    assert list(store.list_keys()) == ["ok"]


def test_delete_prefix_deletes_in_batches_of_at_most_a_thousand(
    s3: Any, bucket: str, moto_server_url: str
) -> None:
    store = _build(f"s3://{bucket}", moto_server_url)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"many/k{i:04d}"), range(1005)))
    s3.put_object(Bucket=bucket, Key="many0/keep", Body=b"")
    assert store.delete_prefix("many") == 1005
    assert list(store.list_keys()) == ["many0/keep"]


# -- availability and configuration -----------------------------------------------------------


def test_ping_of_a_missing_bucket_is_backend_unavailable(moto_server_url: str, aws_env: None):
    store = _build(f"s3://missing-{secrets.token_hex(6)}", moto_server_url)
    with pytest.raises(BackendUnavailable):
        store.ping()


def test_unreachable_endpoint_is_backend_unavailable(aws_env: None) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = _build("s3://bucket", f"http://127.0.0.1:{port}")
    with pytest.raises(BackendUnavailable):
        store.ping()
    with pytest.raises(BackendUnavailable):
        store.put("k", io.BytesIO(b"x"))


def test_missing_bucket_is_backend_unavailable_not_a_missing_object(
    moto_server_url: str, aws_env: None
) -> None:
    store = _build(f"s3://missing-{secrets.token_hex(6)}", moto_server_url)
    with pytest.raises(BackendUnavailable):
        store.put("k", io.BytesIO(b"x"))
    with pytest.raises(BackendUnavailable):
        store.open("k")  # a misconfigured bucket must not look like an absent object


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("s3://", {}),
        ("s3://B/x", {}),
        ("s3://bucket/../x", {}),
        ("s3://bucket/%2e%2e/x", {}),
        ("file:///tmp/x", {}),
        ("s3://bucket", {"part_size": MIB}),
        ("s3://bucket", {"sse": "rot13"}),
        ("s3://bucket", {"sse_kms_key_id": "k"}),
        ("s3://bucket", {"unknown": 1}),
    ],
)
def test_bad_configuration_is_a_config_error(url: str, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        build(url, options, None)


def test_build_from_settings_resolves_the_s3_kind(
    s3: Any, bucket: str, moto_server_url: str, tmp_path: Any
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        storage_url=f"s3://{bucket}/models/prod",
        storage_options=_options(moto_server_url, sse="AES256"),
    )
    url = settings.url_for("storage")
    store = resolve_builder("storage", url)(
        url, settings.options_for("storage"), BuildContext(settings)
    )
    assert isinstance(store, S3BlobStore)
    store.ping()
    info = store.put("runs/r1/m", io.BytesIO(b"model"))
    assert info.sha256 == hashlib.sha256(b"model").hexdigest()
    assert s3.get_object(Bucket=bucket, Key="models/prod/runs/r1/m")["Body"].read() == b"model"
    store.close()
