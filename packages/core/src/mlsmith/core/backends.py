"""The ``Backends`` container and ``build_backends``: the only place that resolves adapters.

Each port's URL scheme is a *kind*, looked up in that port's entry-point group
(``mlsmith.storage``, ``mlsmith.db``, ...). A builder is ``build(url, options, ctx)``; it gets the
ports built before it through ``ctx`` (the db queue reuses the metadata database, for instance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from mlsmith.core.errors import ConfigError
from mlsmith.core.ports import (
    AuthProvider,
    BlobStore,
    Compute,
    JobQueue,
    MetadataStore,
    Notifier,
    SecretStore,
)
from mlsmith.core.settings import Settings

# port -> (Backends field, setting named in errors); build order is this order
PORTS: dict[str, tuple[str, str]] = {
    "db": ("metadata", "MLSMITH_DATABASE_URL"),
    "secrets": ("secrets", "MLSMITH_SECRETS_URL"),
    "auth": ("auth", "MLSMITH_AUTH"),
    "storage": ("blobs", "MLSMITH_STORAGE_URL"),
    "queue": ("queue", "MLSMITH_QUEUE_URL"),
    "notifier": ("notifier", "MLSMITH_NOTIFIER_URL"),
    "compute": ("compute", "MLSMITH_COMPUTE"),
}
# Which distribution provides a kind that is not installed, for the error message.
KNOWN_PROVIDERS = {
    "s3": "mlsmith-aws",
    "kms": "mlsmith-aws",
    "sqs": "mlsmith-aws",
    "sns": "mlsmith-aws",
    "celery": "mlsmith-aws",
    "postgresql": "mlsmith-local[postgres]",
}
LOCAL_PACKAGE = "mlsmith-local"


@dataclass
class BuildContext:
    settings: Settings
    built: dict[str, Any] = field(default_factory=dict)  # port name -> adapter built so far


class Builder(Protocol):
    def __call__(self, url: str, options: Mapping[str, Any], ctx: BuildContext) -> Any: ...


@dataclass(frozen=True)
class Backends:
    metadata: MetadataStore
    blobs: BlobStore
    secrets: SecretStore
    auth: AuthProvider
    queue: JobQueue
    compute: Compute
    notifier: Notifier
    settings: Settings = field(default_factory=Settings)

    def close(self) -> None:
        # Reverse build order: compute first (it may still use the others), the database last.
        for port in reversed(list(PORTS)):
            getattr(self, PORTS[port][0]).close()


def kind_of(url: str) -> str:
    """``sqlite:///x`` -> ``sqlite``; ``webhook+https://h`` -> ``webhook+https``; ``thread`` -> itself."""
    return url.split("://", 1)[0].lower() if "://" in url else url.strip().lower()


def _candidates(kind: str) -> list[str]:
    # "postgresql+psycopg" is served by the "postgresql" entry, "webhook+https" by "webhook".
    return [kind, kind.split("+", 1)[0]] if "+" in kind else [kind]


def resolve_builder(port: str, url: str) -> Builder:
    setting = PORTS[port][1]
    kind = kind_of(url)
    group = entry_points(group=f"mlsmith.{port}")
    by_name = {ep.name: ep for ep in group}
    for name in _candidates(kind):
        if name in by_name:
            try:
                return by_name[name].load()
            except ImportError as exc:
                raise ConfigError(
                    f"{setting}={_redact(url)}: the adapter for {name!r} failed to import ({exc}); "
                    f"install its optional dependencies",
                    setting=setting,
                    kind=name,
                ) from exc
    installed = ", ".join(sorted(by_name)) or "none"
    provider = KNOWN_PROVIDERS.get(_candidates(kind)[-1], LOCAL_PACKAGE)
    raise ConfigError(
        f"{setting}={_redact(url)}: unknown kind {kind!r} (installed: {installed}); "
        f"install the package that provides it, e.g. `pip install {provider}`",
        setting=setting,
        kind=kind,
        installed=sorted(by_name),
    )


def _redact(url: str) -> str:
    """Never echo a password embedded in a URL."""
    if "://" not in url or "@" not in url.split("://", 1)[1].split("/", 1)[0]:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.split("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def build_backends(settings: Settings | None = None) -> Backends:
    settings = settings or Settings()
    ctx = BuildContext(settings=settings)
    builders = {port: resolve_builder(port, settings.url_for(port)) for port in PORTS}
    try:
        for port, builder in builders.items():
            ctx.built[port] = builder(settings.url_for(port), settings.options_for(port), ctx)
    except Exception:
        for adapter in reversed(list(ctx.built.values())):
            adapter.close()
        raise
    backends = Backends(**{PORTS[p][0]: a for p, a in ctx.built.items()}, settings=settings)
    backends.compute.bind(backends)
    return backends
