"""Helpers shared by connectors: option models validated without echoing input, CSV spooling."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mlsmith.core.errors import InvalidInput, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)
SPOOL_IN_MEMORY = 8 * 1024 * 1024


def parse(model: type[M], value: Mapping[str, Any], what: str) -> M:
    """``model`` from ``value``; InvalidInput built from field names and messages only, never the
    input (it may be a password)."""
    try:
        return model.model_validate(dict(value))
    except ValidationError as exc:
        problems = "; ".join(
            f"{what}.{'.'.join(map(str, e['loc'])) or '?'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(problems, field=what) from None


class CappedSpool:
    """A temporary file (in memory up to 8 MiB) that refuses more than ``max_bytes``; ``done()``
    rewinds it for reading."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self.size = 0
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._max:
            self.file.close()
            raise PayloadTooLarge(
                f"the source's data exceeds the limit of {self._max} bytes", max_bytes=self._max
            )
        self.file.write(data)

    def done(self):
        self.file.seek(0)
        return self.file
