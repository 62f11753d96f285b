"""``LazyBackends``: stands in for ``Backends`` and builds them on first use of a port.

A task process gets one: a task that never touches a port (or only reads ``settings``) then costs
no database connection, and a task that does gets real adapters built from the parent's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlsmith.core.backends import Backends, build_backends
from mlsmith.core.settings import Settings


class LazyBackends:
    def __init__(
        self, settings: Settings, build: Callable[[Settings], Backends] = build_backends
    ) -> None:
        self.settings = settings
        self._build = build
        self._built: Backends | None = None

    @property
    def is_built(self) -> bool:
        return self._built is not None

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found normally, i.e. the ports.
        if name.startswith("_"):
            raise AttributeError(name)
        if self._built is None:
            self._built = self._build(self.settings)
        return getattr(self._built, name)

    def close(self) -> None:
        if self._built is not None:
            self._built.close()
            self._built = None
