"""``S3Connector`` (kind ``s3``): one CSV object of a bucket, read with the source's own keys.

- The requested key is canonicalised by the storage-key helper (no ``..``, encoded or not, no
  absolute paths, backslashes, ``#`` or ``?``) and must lie under the source's ``prefix``.
- Every HTTP request botocore makes goes through the egress guard instead of botocore's own
  connection pool (a ``before-send`` hook): http(s) only, no redirects, the endpoint's addresses
  checked and pinned, the connected peer checked again. So a custom ``endpoint_url`` (MinIO, a
  gateway) cannot reach metadata or, unless configured, private addresses.
- Only the credentials given are used: botocore never falls back to the server's environment,
  profile, instance role or configured endpoint URLs (they would read the platform's own buckets).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from mlsmith.backends.local.connectors.common import CappedSpool, parse
from mlsmith.backends.local.egress import EgressRefused, send
from mlsmith.core.errors import BackendUnavailable, InvalidInput, NotFound
from mlsmith.core.storage_keys import canonical_key, is_under

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+){1,3}-\d{1,2}$")
_CHUNK = 1024 * 1024
_DROPPED_HEADERS = {"host", "expect", "content-length", "transfer-encoding", "connection"}


class S3Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str = Field(pattern=_BUCKET.pattern)
    region: str = Field(default="us-east-1", pattern=_REGION.pattern)
    endpoint_url: str | None = Field(default=None, max_length=2048)
    prefix: str = Field(default="", max_length=1024)

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("must not carry user info, a query or a fragment")
        if parts.path not in ("", "/"):
            raise ValueError("must not have a path")
        _ = parts.port  # ValueError on a bad port
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        try:
            return canonical_key(v, allow_empty=True)
        except InvalidInput:
            raise ValueError("must be a plain key prefix (letters, digits, . _ - and /)") from None


class S3Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_key_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9]+$")
    secret_access_key: SecretStr = Field(min_length=1, max_length=256)


class S3Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=1024)


class S3Connector:
    def __init__(self, *, allow_private: bool, max_bytes: int, timeout_s: float = 30.0) -> None:
        self._allow_private = allow_private
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s

    def validate(self, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
        parse(S3Config, config, "config")
        parse(S3Credentials, credentials, "credentials")

    def object_key(self, config: Mapping[str, Any], request: Mapping[str, Any]) -> str:
        """The canonical key of ``request``, inside the source's prefix, or InvalidInput."""
        cfg = parse(S3Config, config, "config")
        key = canonical_key(parse(S3Request, request, "request").key)
        if not is_under(key, cfg.prefix):
            raise InvalidInput("the key lies outside the data source's prefix", key=key[:200])
        if not key.lower().endswith(".csv"):
            raise InvalidInput("only .csv objects can be read", key=key[:200])
        return key

    def fetch(
        self,
        config: Mapping[str, Any],
        credentials: Mapping[str, Any],
        request: Mapping[str, Any],
    ) -> BinaryIO:
        import httpx
        from botocore.exceptions import BotoCoreError, ClientError

        cfg = parse(S3Config, config, "config")
        creds = parse(S3Credentials, credentials, "credentials")
        key = self.object_key(config, request)
        spool = CappedSpool(self._max_bytes)
        # trust_env=False: an environment proxy would become the peer instead of the checked host
        with httpx.Client(timeout=self._timeout_s, follow_redirects=False, trust_env=False) as http:
            client = self._client(cfg, creds, http)
            try:
                body = client.get_object(Bucket=cfg.bucket, Key=key)["Body"]
                try:
                    for chunk in body.iter_chunks(_CHUNK):
                        spool.write(chunk)
                finally:
                    body.close()
            except ClientError as exc:
                spool.file.close()
                raise _client_error(exc, cfg.bucket, key) from None
            except (BotoCoreError, httpx.TransportError, OSError) as exc:
                spool.file.close()
                if isinstance(exc, EgressRefused):
                    raise
                raise BackendUnavailable(
                    f"the bucket could not be read ({type(exc).__name__})"
                ) from None
            except BaseException:
                spool.file.close()
                raise
            finally:
                client.close()
        return spool.done()

    def _client(self, cfg: S3Config, creds: S3Credentials, http: Any) -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key.get_secret_value(),
            region_name=cfg.region,
        )
        client = session.client(
            "s3",
            endpoint_url=cfg.endpoint_url,
            config=Config(
                ignore_configured_endpoint_urls=True,
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": "path" if cfg.endpoint_url else "auto"},
            ),
        )
        allow_private = self._allow_private

        def through_egress_guard(request: Any, **_: Any) -> Any:
            return _send(http, request, allow_private)

        client.meta.events.register_first("before-send.s3", through_egress_guard)
        return client


def _send(http: Any, request: Any, allow_private: bool) -> Any:
    """Send botocore's prepared request through the egress guard; botocore's own pool is never
    used."""
    from botocore.awsrequest import AWSResponse
    from urllib3 import HTTPHeaderDict

    body = request.body
    if body is not None and not isinstance(body, bytes | bytearray):
        body = body.read() if hasattr(body, "read") else bytes(body)
    headers = {
        k: v.decode("latin-1") if isinstance(v, bytes) else str(v)
        for k, v in request.headers.items()
        if k.lower() not in _DROPPED_HEADERS
    }
    response = send(
        http,
        request.method,
        request.url,
        allow_private=allow_private,
        headers=headers,
        content=bytes(body) if body else None,
    )
    return AWSResponse(
        request.url,
        response.status_code,
        HTTPHeaderDict(response.headers.multi_items()),
        _RawBody(response),
    )


class _RawBody:
    """What botocore reads a response body from (``read(amt)`` / ``stream()``), over httpx."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self._chunks: Iterator[bytes] = response.iter_raw()
        self._buf = b""

    def read(self, amt: int | None = None, **_: Any) -> bytes:
        if amt is None:
            data = self._buf + b"".join(self._chunks)
            self._buf = b""
            return data
        while len(self._buf) < amt:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buf += chunk
        data, self._buf = self._buf[:amt], self._buf[amt:]
        return data

    def stream(self, amt: int = 65536, decode_content: bool = False) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk

    def close(self) -> None:
        self._response.close()

    def release_conn(self) -> None:
        self.close()


def _client_error(exc: Any, bucket: str, key: str) -> Exception:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound") or status == 404:
        return NotFound(f"s3 object {key!r} not found in the bucket", key=key)
    if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch") or status == 403:
        return InvalidInput(f"the bucket refused access ({code or status})", code=code)
    return BackendUnavailable(f"the bucket answered {code or status}", code=code)


def build(settings: Any) -> S3Connector:
    return S3Connector(
        allow_private=bool(settings.egress_allow_private), max_bytes=int(settings.max_upload_bytes)
    )
