"""``PostgresConnector`` (kind ``postgres``): one query, read-only, bounded, as CSV.

- The host goes through the egress guard (``check_host``); libpq then connects to the checked IP
  (``hostaddr``) while ``host`` keeps the name for TLS verification and SNI, and the connected peer
  is checked again.
- The query runs as a single statement (extended protocol: no ``;``-chained commands) in a
  ``READ ONLY`` transaction with a ``statement_timeout`` and a ``lock_timeout``; rows are streamed,
  at most ``max_rows`` of them (more is refused, not silently cut), into a spool capped at the
  upload limit, and the connection is closed before the CSV is handed back.
- Nothing of the server's own environment leaks into the connection: no password file, no GSSAPI
  (``~/.pgpass`` or a Kerberos ticket would otherwise authenticate a user's source as the platform).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import os
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from mlsmith.backends.local.connectors.common import CappedSpool, parse
from mlsmith.backends.local.egress import EgressRefused, allowed, check_host
from mlsmith.core.errors import BackendUnavailable, InvalidInput

_BATCH_ROWS = 1000


class PostgresConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(min_length=1, max_length=63)
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = (
        "require"
    )
    max_rows: int = Field(default=1_000_000, ge=1, le=50_000_000)
    statement_timeout_s: float = Field(default=300.0, gt=0, le=3600)
    connect_timeout_s: int = Field(default=10, ge=2, le=120)


class PostgresCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=63)
    # Required: an empty password would make libpq look for one in the server's own files.
    password: SecretStr = Field(min_length=1, max_length=1024)


class PostgresRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=64 * 1024)


class PostgresConnector:
    def __init__(self, *, allow_private: bool, max_bytes: int) -> None:
        self._allow_private = allow_private
        self._max_bytes = max_bytes

    def validate(self, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
        parse(PostgresConfig, config, "config")
        parse(PostgresCredentials, credentials, "credentials")

    def fetch(
        self,
        config: Mapping[str, Any],
        credentials: Mapping[str, Any],
        request: Mapping[str, Any],
    ) -> BinaryIO:
        cfg = parse(PostgresConfig, config, "config")
        creds = parse(PostgresCredentials, credentials, "credentials")
        query = parse(PostgresRequest, request, "request").query
        try:
            ip = check_host(cfg.host, cfg.port, self._allow_private)[0]
        except EgressRefused:
            raise
        except OSError as exc:
            raise BackendUnavailable(f"{cfg.host} does not resolve", host=cfg.host) from exc
        conn = self._connect(cfg, creds, ip)
        try:
            return self._copy_out(conn, cfg, query)
        finally:
            conn.close()

    def _connect(self, cfg: PostgresConfig, creds: PostgresCredentials, ip) -> Any:
        import psycopg

        try:
            conn = psycopg.connect(
                host=cfg.host,  # for TLS verification and SNI only ...
                hostaddr=str(ip),  # ... the connection goes to the checked address
                port=cfg.port,
                dbname=cfg.database,
                user=creds.user,
                password=creds.password.get_secret_value(),
                sslmode=cfg.sslmode,
                connect_timeout=cfg.connect_timeout_s,
                passfile=os.devnull,
                gssencmode="disable",
                application_name="mlsmith-snapshot",
                autocommit=False,
            )
        except psycopg.OperationalError as exc:
            # libpq's message names host and reason, never the password.
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreachable"
            raise BackendUnavailable(
                f"could not connect to {cfg.host}:{cfg.port}: {reason}", host=cfg.host
            ) from None
        peer = conn.info.hostaddr
        if peer and (
            ipaddress.ip_address(peer) != ip
            or not allowed(ipaddress.ip_address(peer), self._allow_private)
        ):
            conn.close()
            raise EgressRefused(f"{cfg.host}: connected to an unexpected peer", host=cfg.host)
        return conn

    def _copy_out(self, conn: Any, cfg: PostgresConfig, query: str) -> BinaryIO:
        import psycopg

        spool = CappedSpool(self._max_bytes)
        text = io.TextIOWrapper(_SpoolSink(spool), encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text)
        conn.read_only = True  # BEGIN READ ONLY: writes fail, whatever the query says
        try:
            with conn.transaction(), conn.cursor() as cur:
                timeout_ms = str(max(1, int(cfg.statement_timeout_s * 1000)))
                cur.execute(
                    "SELECT set_config('statement_timeout', %s, true), "
                    "set_config('lock_timeout', %s, true)",
                    (timeout_ms, timeout_ms),
                )
                header = False
                # One statement, rows streamed one at a time: the timeout bounds all of it.
                for n, row in enumerate(cur.stream(query), start=1):
                    if not header:
                        writer.writerow([c.name for c in cur.description or ()])
                        header = True
                    if n > cfg.max_rows:
                        raise InvalidInput(
                            f"the query returns more than {cfg.max_rows} rows; add a LIMIT or "
                            "raise the source's max_rows",
                            max_rows=cfg.max_rows,
                        )
                    writer.writerow([_cell(v) for v in row])
                if not header and cur.description:
                    writer.writerow([c.name for c in cur.description])
        except psycopg.errors.QueryCanceled:
            spool.file.close()
            raise InvalidInput(
                f"the query was cancelled by the statement timeout ({cfg.statement_timeout_s} s)",
                statement_timeout_s=cfg.statement_timeout_s,
            ) from None
        except psycopg.errors.ReadOnlySqlTransaction:
            spool.file.close()
            raise InvalidInput("data sources are read only: the query tried to write") from None
        except psycopg.Error as exc:
            spool.file.close()
            diag = getattr(exc, "diag", None)
            reason = (diag.message_primary if diag else None) or type(exc).__name__
            if isinstance(exc, psycopg.OperationalError):
                raise BackendUnavailable(f"the source failed: {reason}") from None
            raise InvalidInput(f"the query failed: {reason}", sqlstate=exc.sqlstate) from None
        except BaseException:
            spool.file.close()
            raise
        return spool.done()


class _SpoolSink(io.RawIOBase):
    def __init__(self, spool: CappedSpool) -> None:
        self._spool = spool

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._spool.write(bytes(data))
        return len(data)

    def close(self) -> None:  # the spool outlives the text wrapper
        pass


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, timedelta):
        return v.total_seconds()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    if isinstance(v, dict | list):
        return json.dumps(v, default=str)
    return v


def build(settings: Any) -> PostgresConnector:
    return PostgresConnector(
        allow_private=bool(settings.egress_allow_private), max_bytes=int(settings.max_upload_bytes)
    )
