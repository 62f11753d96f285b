"""What every command shares through ``ctx.obj``: the data-dir override and, built on first use,
the backends and the default workspace scope (closed when the command ends)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from mlsmith.core.api import Platform
    from mlsmith.core.backends import Backends
    from mlsmith.core.services.scope import Scope
    from mlsmith.core.settings import Settings


@dataclass
class CliState:
    data_dir: Path | None = None
    _platform: Platform | None = field(default=None, repr=False)

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
            from mlsmith.core.backends import build_backends

            backends = build_backends(self.settings)
            try:
                # Idempotent, so every command works on a fresh data dir, as the embedded API does.
                backends.metadata.migrate()
                self._platform = Platform(backends)
            except BaseException:
                backends.close()
                raise
        return self._platform

    @property
    def backends(self) -> Backends:
        return self.platform.backends

    @property
    def scope(self) -> Scope:
        return self.platform.scope

    def close(self) -> None:
        if self._platform is not None:
            self._platform.close()
            self._platform = None


def state(ctx: typer.Context) -> CliState:
    """The shared state of the root command (sub-app contexts inherit ``obj``)."""
    obj = ctx.ensure_object(CliState)
    return obj
