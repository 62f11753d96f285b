"""Resolve a task named by data (``"package.module:function"``) into a function, safely.

Task targets travel through queues and databases, so a compute must never import whatever module
such a string names: importing runs code. Targets are checked for shape and against an allowlist of
module prefixes *before* anything is imported, and only plain functions defined in the named
module are returned (a module that merely re-exports ``os.system`` does not make it a task).
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from mlsmith.core.errors import InvalidInput

DEFAULT_ALLOWED_PREFIXES: tuple[str, ...] = ("mlsmith.",)

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_TARGET = re.compile(rf"(?P<module>{_IDENTIFIER}(?:\.{_IDENTIFIER})*):(?P<function>{_IDENTIFIER})")


def validate_target(
    target: str, allowed_prefixes: Sequence[str] = DEFAULT_ALLOWED_PREFIXES
) -> tuple[str, str]:
    """Check the shape and the allowlist without importing; returns ``(module, function)``."""
    match = _TARGET.fullmatch(target) if isinstance(target, str) else None
    if match is None:
        raise InvalidInput(
            "task target must look like 'package.module:function'", target=repr(target)[:200]
        )
    module, function = match["module"], match["function"]
    if function.startswith("_"):
        raise InvalidInput("task target must name a public function", target=target)
    if not any(_under(module, prefix) for prefix in allowed_prefixes):
        raise InvalidInput(
            "task module is not in the allowed prefixes",
            target=target,
            allowed_prefixes=list(allowed_prefixes),
        )
    return module, function


def resolve_task(
    target: str, allowed_prefixes: Sequence[str] = DEFAULT_ALLOWED_PREFIXES
) -> Callable[..., Any]:
    """Import and return the function named by ``target``; raises InvalidInput otherwise."""
    module_name, function_name = validate_target(target, allowed_prefixes)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput("task module cannot be imported", target=target) from exc
    fn = getattr(module, function_name, None)
    if not inspect.isfunction(fn) or fn.__module__ != module.__name__:
        raise InvalidInput("task target is not a function defined in its module", target=target)
    return fn


def validate_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A JSON round trip of the task's keyword arguments.

    Every compute applies it, so a task behaves the same in a thread as in a process or on a Celery
    worker (which can only ship JSON): tuples arrive as lists, and objects are refused up front.
    """
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise InvalidInput("task kwargs must be a dict with string keys")
    if "backends" in kwargs:
        raise InvalidInput("task kwargs must not contain 'backends': the compute passes it")
    try:
        return json.loads(json.dumps(kwargs, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"task kwargs must be JSON-serialisable: {exc}") from exc


def _under(module: str, prefix: str) -> bool:
    # "mlsmith." admits "mlsmith.core.x"; a prefix without the dot admits itself and its children,
    # so "mlsmith" never admits "mlsmithevil".
    if prefix.endswith("."):
        return module.startswith(prefix)
    return module == prefix or module.startswith(prefix + ".")
