"""Run artifacts: written under ``runs/<run_id>/attempt-<n>/`` and listed in a manifest whose
HMAC-SHA256 signature uses a platform key from the secrets port. Nothing is deserialised unless the
manifest verifies and the file's bytes hash to what the manifest recorded."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlsmith.core import serialization
from mlsmith.core.domain import Artifact, Run
from mlsmith.core.errors import IntegrityError, NotFound
from mlsmith.core.hashing import sign, verify
from mlsmith.core.services.platform_keys import ARTIFACT_SIGNING, get_key
from mlsmith.core.storage_keys import join_key

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

MANIFEST = "manifest.json"


def run_prefix(run_id: str) -> str:
    return join_key("runs", run_id)


def attempt_prefix(run_id: str, attempt: int) -> str:
    return join_key("runs", run_id, f"attempt-{attempt}")


def write_artifacts(
    backends: Backends, run: Run, attempt: int, files: dict[str, bytes], extra: dict[str, Any]
) -> list[Artifact]:
    """Store ``files`` and a signed manifest; returns Artifact rows for the caller to commit."""
    prefix = attempt_prefix(run.id, attempt)
    arts = []
    for name, data in files.items():
        info = backends.blobs.put(join_key(prefix, name), io.BytesIO(data))
        arts.append(Artifact(run.id, name, info.key, info.sha256, info.size))
    body = {
        "run_id": run.id,
        "workspace_id": run.workspace_id,
        "attempt": attempt,
        "created_at": datetime.now(UTC).isoformat(),
        "files": {a.name: {"sha256": a.sha256, "size": a.size_bytes} for a in arts},
        **extra,
    }
    doc = {"body": body, "signature": sign(get_key(backends, ARTIFACT_SIGNING), body)}
    info = backends.blobs.put(join_key(prefix, MANIFEST), io.BytesIO(json.dumps(doc).encode()))
    arts.append(Artifact(run.id, MANIFEST, info.key, info.sha256, info.size))
    return arts


def read_verified(backends: Backends, run: Run, name: str) -> bytes:
    """Bytes of artifact ``name`` of ``run``, after checking the signed manifest and both hashes."""
    with backends.metadata.unit_of_work() as uow:
        try:
            manifest_row = uow.artifacts.get(run.id, MANIFEST)
            row = uow.artifacts.get(run.id, name)
        except NotFound as exc:
            raise NotFound(f"run {run.id} has no artifact {name!r}", run_id=run.id) from exc
    doc_bytes = _read(backends, manifest_row.storage_key)
    if hashlib.sha256(doc_bytes).hexdigest() != manifest_row.sha256:
        raise IntegrityError(f"the manifest of run {run.id} was modified", run_id=run.id)
    try:
        doc = json.loads(doc_bytes)
        body, signature = doc["body"], doc["signature"]
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"the manifest of run {run.id} is unreadable", run_id=run.id) from exc
    if not verify(get_key(backends, ARTIFACT_SIGNING), body, signature):
        raise IntegrityError(f"the manifest signature of run {run.id} is invalid", run_id=run.id)
    if body.get("run_id") != run.id or body.get("workspace_id") != run.workspace_id:
        raise IntegrityError(f"the manifest does not belong to run {run.id}", run_id=run.id)
    expected = body["files"].get(name, {}).get("sha256")
    data = _read(backends, row.storage_key)
    actual = hashlib.sha256(data).hexdigest()
    if expected is None or actual != expected or actual != row.sha256:
        raise IntegrityError(
            f"artifact {name!r} of run {run.id} does not match its recorded sha256; refusing to load",
            run_id=run.id,
            artifact=name,
        )
    return data


def load_run_pipeline(backends: Backends, run: Run) -> Any:
    with backends.metadata.unit_of_work() as uow:
        names = {a.name for a in uow.artifacts.list(run.id)}
    for name in (serialization.SKOPS_NAME, serialization.PICKLE_NAME):
        if name in names:
            return serialization.load_pipeline(name, read_verified(backends, run, name))
    raise NotFound(f"run {run.id} has no stored pipeline", run_id=run.id)


def _read(backends: Backends, key: str) -> bytes:
    with backends.blobs.open(key) as fh:
        return fh.read()
