"""The metadata DB on Amazon RDS for PostgreSQL: the SQL store of ``mlsmith.backends.local.db``
(issue 2 made it pass the db contract on PostgreSQL for exactly this reuse) with IAM database
authentication and TLS.

``MLSMITH_DATABASE_URL=postgresql+iam://mlsmith@db.xxxx.rds.amazonaws.com:5432/mlsmith`` (kind
``postgresql+iam``): no password anywhere; every new pooled connection gets a fresh 15-minute IAM
auth token from boto3 (generated locally by signing, no network call), so long-lived pools keep
working. TLS defaults to ``sslmode=require`` (``verify-full`` with ``sslrootcert`` for the RDS CA is
recommended; pass them in the URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import make_url

from mlsmith.backends.local.db import SqlMetadataStore
from mlsmith.backends.local.db import build as build_sql_store
from mlsmith.core.backends import BuildContext
from mlsmith.core.errors import ConfigError

SETTING = "MLSMITH_DATABASE_URL"


class IamOptions(BaseModel, extra="forbid"):
    region: str | None = None  # default: the boto3 session's region


def build(
    url: str, options: Mapping[str, Any], ctx: BuildContext | None = None
) -> SqlMetadataStore:
    import boto3  # lazy: choosing another kind never imports it

    opts = dict(options)
    try:
        iam = IamOptions.model_validate(
            {k: opts.pop(k) for k in list(opts) if k in IamOptions.model_fields}
        )
    except ValidationError as exc:
        raise ConfigError(
            f"MLSMITH_DATABASE_OPTIONS: {exc.errors()[0]['msg']}", setting=SETTING
        ) from None
    parsed = make_url(url)
    if parsed.password:
        raise ConfigError(
            f"{SETTING}: an IAM-authenticated URL must not carry a password", setting=SETTING
        )
    if not (parsed.username and parsed.host):
        raise ConfigError(f"{SETTING}: postgresql+iam needs a user and a host", setting=SETTING)
    query = dict(parsed.query)
    query.setdefault("sslmode", "require")
    real = parsed.set(drivername="postgresql+psycopg", query=query)
    store = build_sql_store(real.render_as_string(hide_password=False), opts, ctx)
    rds = boto3.client("rds", region_name=iam.region)
    host, port, user = parsed.host, parsed.port or 5432, parsed.username

    @sa.event.listens_for(store.engine, "do_connect")
    def _iam_token(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["password"] = rds.generate_db_auth_token(
            DBHostname=host, Port=port, DBUsername=user, Region=iam.region
        )

    return store
