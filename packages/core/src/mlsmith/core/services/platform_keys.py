"""Platform keys (artifact signing, JWT): 256-bit random, stored encrypted by the secrets port.

The first process to need a key creates it; a concurrent creator loses the insert race and re-reads,
so every process agrees on one key.
"""

from __future__ import annotations

import secrets as _secrets

from mlsmith.core.errors import AlreadyExists, NotFound

ARTIFACT_SIGNING = "artifact-signing"
_CONTEXT = {"purpose": "platform-key"}


def get_key(backends, name: str) -> bytes:
    context = {**_CONTEXT, "name": name}
    with backends.metadata.unit_of_work() as uow:
        try:
            return backends.secrets.decrypt(uow.keys.get(name), context)
        except NotFound:
            pass
    key = _secrets.token_bytes(32)
    try:
        with backends.metadata.unit_of_work() as uow:
            uow.keys.add(name, backends.secrets.encrypt(key, context))
        return key
    except AlreadyExists:
        with backends.metadata.unit_of_work() as uow:
            return backends.secrets.decrypt(uow.keys.get(name), context)
