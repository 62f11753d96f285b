"""Builders for the ``mlsmith.compute`` entry points: read options, construct the compute."""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from mlsmith.backends.local.compute.process import ProcessCompute
from mlsmith.backends.local.compute.thread import ThreadCompute
from mlsmith.core.backends import BuildContext
from mlsmith.core.errors import ConfigError
from mlsmith.core.tasks_loader import DEFAULT_ALLOWED_PREFIXES

_Options = TypeVar("_Options", bound=BaseModel)


class ThreadOptions(BaseModel, extra="forbid"):
    task_prefixes: tuple[str, ...] = DEFAULT_ALLOWED_PREFIXES
    close_timeout_s: float = Field(default=10.0, ge=0)


class ProcessOptions(ThreadOptions):
    # Short on purpose: a cancelled run must stop using CPU within about a second.
    grace_s: float = Field(default=0.5, ge=0, le=1.0)
    # Never plain "fork": forking a parent that runs threads can deadlock the child.
    start_method: Literal["forkserver", "spawn"] | None = None


def build_thread(url: str, options: Mapping[str, Any], ctx: BuildContext) -> ThreadCompute:
    opts = _parse(ThreadOptions, options)
    return ThreadCompute(
        workers=ctx.settings.workers,
        allowed_prefixes=opts.task_prefixes,
        close_timeout_s=opts.close_timeout_s,
    )


def build_process(url: str, options: Mapping[str, Any], ctx: BuildContext) -> ProcessCompute:
    opts = _parse(ProcessOptions, options)
    start_method = opts.start_method or (
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    )
    return ProcessCompute(
        ctx.settings,
        workers=ctx.settings.workers,
        allowed_prefixes=opts.task_prefixes,
        grace_s=opts.grace_s,
        start_method=start_method,
        close_timeout_s=opts.close_timeout_s,
    )


def _parse(model: type[_Options], options: Mapping[str, Any]) -> _Options:
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            f"MLSMITH_COMPUTE_OPTIONS: {problems}", setting="MLSMITH_COMPUTE_OPTIONS"
        ) from None
