"""Logging: structlog over the standard library, so our lines and those of uvicorn, the worker and
the adapters share one format (JSON with ``settings.log_json``, console otherwise) and every line
carries the request id bound in ``structlog.contextvars``.

A bounded in-memory ring buffer keeps the last lines for ``GET /api/v1/admin/logs``.
"""

from __future__ import annotations

import collections
import json
import logging
import sys
import threading
from typing import Any

import structlog

RING_SIZE = 1000
_OURS = "_mlsmith_handler"


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _formatter(json_lines: bool) -> logging.Formatter:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


class RingBufferHandler(logging.Handler):
    """Keeps the last ``size`` lines, rendered as JSON objects, in memory."""

    def __init__(self, size: int = RING_SIZE) -> None:
        super().__init__(level=logging.INFO)
        self._lines: collections.deque[str] = collections.deque(maxlen=size)
        self._guard = threading.Lock()
        self.setFormatter(_formatter(json_lines=True))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a broken record must not break the request that logged it
            self.handleError(record)
            return
        with self._guard:
            self._lines.append(line)

    def tail(self, n: int) -> list[dict[str, Any]]:
        with self._guard:
            lines = list(self._lines)[-n:] if n > 0 else []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"event": line})
        return out


_ring = RingBufferHandler()


def ring_buffer() -> RingBufferHandler:
    return _ring


def configure_logging(json_lines: bool) -> RingBufferHandler:
    """Idempotent: replaces the handlers this function installed before, leaves others alone."""
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OURS, False):
            root.removeHandler(handler)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(_formatter(json_lines))
    setattr(stream, _OURS, True)
    setattr(_ring, _OURS, True)
    root.addHandler(stream)
    root.addHandler(_ring)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return _ring
