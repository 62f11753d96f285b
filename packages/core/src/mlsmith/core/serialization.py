"""Pipeline (de)serialisation: skops with an allowlist of types where it can, cloudpickle otherwise.

Callers must verify the signed manifest *before* calling :func:`load_pipeline`; the skops allowlist
is a second line of defence, and cloudpickle bytes are only ever loaded after that verification.
"""

from __future__ import annotations

import logging
from typing import Any

from mlsmith.core.errors import IntegrityError

log = logging.getLogger(__name__)

SKOPS_NAME = "pipeline.skops"
PICKLE_NAME = "pipeline.cloudpickle"
# Type prefixes a pipeline of ours may contain: our transformers, scikit-learn and what it is built
# on. Deliberately no ``builtins.``/``operator.``/``functools.``: a function reference from those
# could become a callable inside an estimator. Whatever skops would need beyond this list makes
# ``dump_pipeline`` fall back to (signed) cloudpickle instead of widening the list.
TRUSTED_PREFIXES = (
    "mlsmith.core.engine.",
    "sklearn.",
    "numpy.",
    "scipy.",
    "lightgbm.",
    "pandas.",
)


def dump_pipeline(pipeline: Any) -> tuple[str, bytes]:
    try:
        import skops.io as sio

        data = sio.dumps(pipeline)
        _check_trusted(sio.get_untrusted_types(data=data))  # refuse to write what we would not load
        return SKOPS_NAME, data
    except Exception as exc:  # skops cannot hold everything (e.g. some lambdas): fall back
        log.info("skops could not serialise the pipeline (%s); using cloudpickle", exc)
        import cloudpickle

        return PICKLE_NAME, cloudpickle.dumps(pipeline)


def load_pipeline(name: str, data: bytes) -> Any:
    if name == SKOPS_NAME:
        import skops.io as sio

        untrusted = sio.get_untrusted_types(data=data)
        _check_trusted(untrusted)
        return sio.loads(data, trusted=untrusted)
    if name == PICKLE_NAME:
        import pickle

        return pickle.loads(data)  # noqa: S301 - only after the signed manifest was verified
    raise IntegrityError(f"unknown pipeline format {name!r}")


def _check_trusted(types: list[str]) -> None:
    bad = [t for t in types if not t.startswith(TRUSTED_PREFIXES)]
    if bad:
        raise IntegrityError("pipeline contains types outside the allowlist", types=bad[:10])
