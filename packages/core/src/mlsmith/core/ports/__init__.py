"""The seven ports of the hexagon, one Protocol module each."""

from mlsmith.core.ports.auth import AuthProvider
from mlsmith.core.ports.compute import Compute, TaskState, TaskStatus
from mlsmith.core.ports.db import MetadataStore, UnitOfWork
from mlsmith.core.ports.notifier import Notifier
from mlsmith.core.ports.queue import JobQueue
from mlsmith.core.ports.secrets import SecretStore
from mlsmith.core.ports.storage import BlobInfo, BlobStore, PresignsUrls

__all__ = [
    "AuthProvider",
    "BlobInfo",
    "BlobStore",
    "Compute",
    "JobQueue",
    "MetadataStore",
    "Notifier",
    "PresignsUrls",
    "SecretStore",
    "TaskState",
    "TaskStatus",
    "UnitOfWork",
]
