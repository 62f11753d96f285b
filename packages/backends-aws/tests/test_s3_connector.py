"""The ``s3`` data-source connector against a moto server over real HTTP: reading a CSV object,
key canonicalisation and prefix confinement, the egress guard on ``endpoint_url``, and a snapshot
through the core service with the connector resolved by its entry point."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from mlsmith.backends.aws.connectors.s3 import S3Connector, build
from mlsmith.backends.local.egress import EgressRefused
from mlsmith.core.errors import InvalidInput, NotFound, PayloadTooLarge
from mlsmith.core.services import data_sources, datasets
from mlsmith.core.services.scope import Scope
from mlsmith.core.settings import Settings
from mlsmith.core.testing.fakes.backends import fake_backends

CREDS = {"access_key_id": "testing", "secret_access_key": "testing-secret"}
CSV = b"x,y,label\n1,2,a\n3,4,b\n5,6,a\n"


@pytest.fixture
def bucket(moto_server_url: str) -> dict[str, Any]:
    """A fresh bucket holding ``exports/data.csv`` (inside the prefix) and ``secret.csv`` and
    ``exports-old/data.csv`` (outside it)."""
    import boto3

    name = f"b-{secrets.token_hex(6)}"
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="exports/data.csv", Body=CSV)
    s3.put_object(Bucket=name, Key="exports/big.csv", Body=b"a\n" + b"1\n" * 1000)
    s3.put_object(Bucket=name, Key="secret.csv", Body=b"s\nTOPSECRET\n")
    s3.put_object(Bucket=name, Key="exports-old/data.csv", Body=b"s\nOLD\n")
    return {
        "bucket": name,
        "region": "us-east-1",
        "endpoint_url": moto_server_url,
        "prefix": "exports",
    }


def _connector(allow_private: bool = True, max_bytes: int = 10**7) -> S3Connector:
    return S3Connector(allow_private=allow_private, max_bytes=max_bytes)


def test_a_csv_object_is_read_over_http(bucket):
    with _connector().fetch(bucket, CREDS, {"key": "exports/data.csv"}) as out:
        assert out.read() == CSV


def test_a_missing_object_is_not_found(bucket):
    with pytest.raises(NotFound):
        _connector().fetch(bucket, CREDS, {"key": "exports/nope.csv"})


@pytest.mark.parametrize(
    "key",
    [
        "exports/../secret.csv",
        "exports/%2e%2e/secret.csv",
        "exports/%252e%252e/secret.csv",
        "exports/..%2fsecret.csv",
        "exports\\..\\secret.csv",
        "/secret.csv",
        "exports/./data.csv",
        "exports//data.csv",
        "exports/data.csv?versionId=1",
        "exports/data.csv#x",
    ],
)
def test_traversal_spellings_of_a_key_are_refused(bucket, key):
    with pytest.raises(InvalidInput):
        _connector().fetch(bucket, CREDS, {"key": key})


@pytest.mark.parametrize("key", ["secret.csv", "exports-old/data.csv", "exports"])
def test_keys_outside_the_prefix_are_refused(bucket, key):
    with pytest.raises(InvalidInput):
        _connector().fetch(bucket, CREDS, {"key": key})


def test_without_a_prefix_the_whole_bucket_is_readable(bucket):
    with _connector().fetch({**bucket, "prefix": ""}, CREDS, {"key": "secret.csv"}) as out:
        assert b"TOPSECRET" in out.read()


def test_objects_over_the_byte_cap_are_refused(bucket):
    with pytest.raises(PayloadTooLarge):
        _connector(max_bytes=100).fetch(bucket, CREDS, {"key": "exports/big.csv"})


def test_a_loopback_endpoint_is_refused_unless_private_ranges_are_allowed(bucket):
    with pytest.raises(EgressRefused):
        _connector(allow_private=False).fetch(bucket, CREDS, {"key": "exports/data.csv"})
    with pytest.raises(EgressRefused):
        build(Settings(egress_allow_private=False)).fetch(
            bucket, CREDS, {"key": "exports/data.csv"}
        )


@pytest.mark.parametrize(
    "endpoint", ["http://169.254.169.254", "http://[fd00:ec2::254]", "https://100.100.100.200"]
)
def test_metadata_endpoints_are_refused_even_with_private_ranges_allowed(bucket, endpoint):
    with pytest.raises(EgressRefused):
        _connector(allow_private=True).fetch(
            {**bucket, "endpoint_url": endpoint}, CREDS, {"key": "exports/data.csv"}
        )


@pytest.mark.parametrize(
    "endpoint",
    [
        "ftp://127.0.0.1",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1",
        "http://127.0.0.1/path",
        "http://127.0.0.1?x=1",
        "127.0.0.1:9000",
    ],
)
def test_non_http_or_decorated_endpoints_are_invalid(bucket, endpoint):
    with pytest.raises(InvalidInput):
        _connector().validate({**bucket, "endpoint_url": endpoint}, CREDS)


def test_unknown_options_and_missing_credentials_are_invalid(bucket):
    with pytest.raises(InvalidInput):
        _connector().validate({**bucket, "profile": "default"}, CREDS)
    with pytest.raises(InvalidInput):
        _connector().validate(bucket, {"access_key_id": "testing"})
    with pytest.raises(InvalidInput) as err:
        _connector().validate(bucket, {**CREDS, "session": CREDS["secret_access_key"]})
    assert CREDS["secret_access_key"] not in str(err.value)


def test_snapshot_through_the_service_resolves_the_s3_entry_point(bucket):
    backends = fake_backends(Settings(workers=1, lease_s=5.0, egress_allow_private=True))
    scope = Scope("ws_1")
    src = data_sources.create(
        backends, scope, name="lake", kind="s3", config=bucket, credentials=CREDS
    )
    assert CREDS["secret_access_key"].encode() not in src.secret_ciphertext
    ds = data_sources.snapshot(backends, scope, src.id, {"key": "exports/data.csv"})
    assert (ds.n_rows, ds.n_cols, ds.name) == (3, 3, "lake.csv")
    assert datasets.load_frame(backends, ds)["label"].tolist() == ["a", "b", "a"]
