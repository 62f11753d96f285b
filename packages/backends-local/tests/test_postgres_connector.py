"""The ``postgres`` data-source connector against the real local PostgreSQL (a temporary table in a
fresh schema), and its egress refusals (which need no database)."""

from __future__ import annotations

import csv
import io
import ipaddress
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from mlsmith.backends.local.connectors.postgres import PostgresConnector, build
from mlsmith.backends.local.egress import EgressRefused, check_host
from mlsmith.core.errors import InvalidInput, PayloadTooLarge
from mlsmith.core.settings import Settings

PASSWORD = "unused-under-trust-auth"


@pytest.fixture
def source(postgres_url: str) -> dict[str, Any]:
    """Config + credentials of the test server, and a schema-qualified table of 5 rows in it."""
    url = make_url(postgres_url)
    schema = url.query["options"].split("search_path=", 1)[1]
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE TABLE "{schema}".people (id int, name text, score numeric, active bool)'
        )
        conn.exec_driver_sql(
            f'INSERT INTO "{schema}".people VALUES '
            "(1,'ann',1.5,true),(2,'bob, jr.',2.5,false),(3,'cy',NULL,true),"
            "(4,'di',4.0,false),(5,'ed',5.5,true)"
        )
    engine.dispose()
    return {
        "table": f'"{schema}".people',
        "config": {
            "host": url.host,
            "port": url.port or 5432,
            "database": url.database,
            "sslmode": "disable",
        },
        "credentials": {"user": url.username, "password": url.password or PASSWORD},
        "url": url,
    }


def _connector(**kw: Any) -> PostgresConnector:
    return PostgresConnector(allow_private=kw.pop("allow_private", True), max_bytes=10**7, **kw)


def _rows(stream) -> list[dict[str, str]]:
    return list(csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8", newline="")))


def test_query_result_is_streamed_to_csv_with_a_header(source):
    out = _connector().fetch(
        source["config"],
        source["credentials"],
        {"query": f"SELECT * FROM {source['table']} ORDER BY id"},
    )
    rows = _rows(out)
    assert [r["name"] for r in rows] == ["ann", "bob, jr.", "cy", "di", "ed"]
    assert rows[0] == {"id": "1", "name": "ann", "score": "1.5", "active": "true"}
    assert rows[2]["score"] == ""


def test_a_write_in_the_query_fails_and_changes_nothing(source):
    conn = _connector()
    for query in (
        f"INSERT INTO {source['table']} VALUES (6,'x',0,true) RETURNING id",
        f"WITH d AS (DELETE FROM {source['table']} RETURNING id) SELECT * FROM d",
    ):
        with pytest.raises(InvalidInput, match="read only"):
            conn.fetch(source["config"], source["credentials"], {"query": query})
    count = _rows(
        conn.fetch(
            source["config"],
            source["credentials"],
            {"query": f"SELECT count(*) AS n FROM {source['table']}"},
        )
    )
    assert count == [{"n": "5"}]


def test_chained_statements_are_refused(source):
    with pytest.raises(InvalidInput, match="query failed"):
        _connector().fetch(
            source["config"],
            source["credentials"],
            {"query": f"SELECT 1; DROP TABLE {source['table']}"},
        )


def test_more_rows_than_the_cap_are_refused_not_cut(source):
    config = {**source["config"], "max_rows": 4}
    with pytest.raises(InvalidInput, match="more than 4 rows"):
        _connector().fetch(
            config, source["credentials"], {"query": f"SELECT * FROM {source['table']}"}
        )
    exact = _connector().fetch(
        config, source["credentials"], {"query": f"SELECT * FROM {source['table']} LIMIT 4"}
    )
    assert len(_rows(exact)) == 4


def test_statement_timeout_cancels_a_slow_query(source):
    config = {**source["config"], "statement_timeout_s": 0.2}
    with pytest.raises(InvalidInput, match="statement timeout"):
        _connector().fetch(config, source["credentials"], {"query": "SELECT pg_sleep(30)"})


def test_timeout_cannot_be_lifted_from_inside_the_query(source):
    config = {**source["config"], "statement_timeout_s": 0.2}
    query = (
        "SELECT set_config('statement_timeout', '0', true), pg_sleep(1) FROM generate_series(1, 30)"
    )
    with pytest.raises(InvalidInput, match="statement timeout"):
        _connector().fetch(config, source["credentials"], {"query": query})


def test_output_over_the_byte_cap_is_refused(source):
    conn = PostgresConnector(allow_private=True, max_bytes=100)
    with pytest.raises(PayloadTooLarge):
        conn.fetch(
            source["config"],
            source["credentials"],
            {"query": "SELECT repeat('x', 50) AS s FROM generate_series(1, 10)"},
        )


def test_private_and_loopback_hosts_are_refused_unless_allowed(source):
    with pytest.raises(EgressRefused, match="private and loopback ranges are not enabled"):
        _connector(allow_private=False).fetch(
            source["config"], source["credentials"], {"query": "SELECT 1 AS one"}
        )
    built = build(Settings(egress_allow_private=False))
    with pytest.raises(EgressRefused):
        built.fetch(source["config"], source["credentials"], {"query": "SELECT 1 AS one"})


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"]
)
def test_metadata_addresses_are_refused_even_with_private_ranges_allowed(host):
    with pytest.raises(EgressRefused):
        _connector(allow_private=True).fetch(
            {"host": host, "database": "d", "sslmode": "disable"},
            {"user": "u", "password": "p"},
            {"query": "SELECT 1"},
        )


@pytest.mark.parametrize("host", ["10.1.2.3", "192.168.0.10", "172.16.5.4", "127.0.0.1", "::1"])
def test_check_host_refuses_private_ranges_unless_allowed(host):
    with pytest.raises(EgressRefused):
        check_host(host, 5432, allow_private=False)
    assert check_host(host, 5432, allow_private=True) == [ipaddress.ip_address(host)]


def test_check_host_refuses_non_host_strings_and_bad_ports():
    for host in ("", "user@host", "host/path", "a b"):
        with pytest.raises(EgressRefused):
            check_host(host, 5432, allow_private=True)
    with pytest.raises(EgressRefused):
        check_host("127.0.0.1", 0, allow_private=True)


@pytest.mark.parametrize(
    ("config", "credentials"),
    [
        (
            {"host": "h", "database": "d", "sslkey": "/etc/ssl/private/key"},
            {"user": "u", "password": "p"},
        ),
        ({"host": "h", "database": "d"}, {"user": "u", "password": ""}),
        ({"host": "h", "database": "d", "sslmode": "none"}, {"user": "u", "password": "p"}),
        ({"host": "h"}, {"user": "u", "password": "p"}),
    ],
)
def test_validation_refuses_unknown_options_and_empty_passwords(config, credentials):
    with pytest.raises(InvalidInput):
        _connector().validate(config, credentials)


def test_validation_errors_never_echo_the_password():
    secret = "s3cr3t-password-value"
    with pytest.raises(InvalidInput) as err:
        _connector().validate(
            {"host": "h", "database": "d"}, {"user": "u", "password": secret, "extra": secret}
        )
    assert secret not in str(err.value) and secret not in repr(err.value.__dict__)
