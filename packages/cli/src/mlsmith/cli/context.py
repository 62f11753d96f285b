"""What every command shares through ``ctx.obj``: the data-dir override and, built on first use,
the backends and the default workspace scope, and the ``client`` the mode-agnostic commands use:
``Remote`` when a server login is configured (credentials file or MLSMITH_URL + MLSMITH_API_KEY),
else ``Embedded``. ``--local`` or an explicit ``--data-dir`` forces embedded mode. Everything is
closed when the command ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from mlsmith.cli.backend import Client
    from mlsmith.core.api import Platform
    from mlsmith.core.backends import Backends
    from mlsmith.core.services.scope import Scope
    from mlsmith.core.settings import Settings


@dataclass
class CliState:
    data_dir: Path | None = None
    local: bool = False
    _platform: Platform | None = field(default=None, repr=False)
    _client: Client | None = field(default=None, repr=False)

    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from mlsmith.core.settings import Settings

            # Only an explicit --data-dir overrides; otherwise MLSMITH_* env / mlsmith.toml decide.
            overrides = {"data_dir": self.data_dir} if self.data_dir is not None else {}
            self._settings = Settings(**overrides)
        return self._settings

    @property
    def platform(self) -> Platform:
        if self._platform is None:
            # Lazy: building backends imports SQLAlchemy and friends, which --help must not pay for.
            from mlsmith.core.api import Platform

            self._platform = Platform.from_settings(self.settings)
        return self._platform

    @property
    def backends(self) -> Backends:
        return self.platform.backends

    @property
    def scope(self) -> Scope:
        return self.platform.scope

    @property
    def embedded(self) -> bool:
        """True when the commands run in this process (no server configured, or forced)."""
        from mlsmith.cli import credentials

        return self.local or self.data_dir is not None or credentials.load() is None

    @property
    def client(self) -> Client:
        if self._client is None:
            from mlsmith.cli import credentials

            creds = None if self.local or self.data_dir is not None else credentials.load()
            if creds is None:
                from mlsmith.cli.backend import Embedded

                self._client = Embedded(self)
            else:
                from mlsmith.cli.remote import Remote  # imports httpx: only now

                self._client = Remote(creds)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._platform is not None:
            self._platform.close()
            self._platform = None


def state(ctx: typer.Context) -> CliState:
    """The shared state of the root command (sub-app contexts inherit ``obj``)."""
    obj = ctx.ensure_object(CliState)
    return obj
