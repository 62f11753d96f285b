"""A complete in-memory ``Backends`` for core unit tests (no files, no database, no network)."""

from __future__ import annotations

import secrets

from mlsmith.core.backends import Backends
from mlsmith.core.settings import Settings
from mlsmith.core.testing.fakes.auth import FakeAuthProvider
from mlsmith.core.testing.fakes.compute import FakeCompute
from mlsmith.core.testing.fakes.metadata import InMemoryMetadataStore
from mlsmith.core.testing.fakes.notifier import RecordingNotifier
from mlsmith.core.testing.fakes.queue import InMemoryJobQueue
from mlsmith.core.testing.fakes.secrets import FakeSecretStore
from mlsmith.core.testing.fakes.storage import InMemoryBlobStore


def fake_backends(settings: Settings | None = None) -> Backends:
    settings = settings or Settings(workers=2, lease_s=5.0)
    backends = Backends(
        metadata=InMemoryMetadataStore(),
        blobs=InMemoryBlobStore(),
        secrets=FakeSecretStore(secrets.token_bytes(32)),
        auth=FakeAuthProvider(),
        queue=InMemoryJobQueue(),
        compute=FakeCompute(workers=settings.workers),
        notifier=RecordingNotifier(),
        settings=settings,
    )
    backends.compute.bind(backends)
    return backends
