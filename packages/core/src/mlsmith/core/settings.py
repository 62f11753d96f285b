"""Settings: ``MLSMITH_*`` environment variables, then an optional ``mlsmith.toml``, then defaults.

Each port is one URL whose scheme names the adapter kind (an entry-point name); extra options go in
``MLSMITH_<PORT>_OPTIONS__<NAME>``. Nothing is read at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MLSMITH_",
        env_nested_delimiter="__",
        toml_file="mlsmith.toml",
        extra="ignore",
    )

    data_dir: Path = Path(".mlsmith")
    database_url: str | None = None  # default: sqlite:///<data_dir>/mlsmith.db
    storage_url: str | None = None  # default: file://<data_dir>/artifacts
    secrets_url: str | None = None  # default: fernet-file://<data_dir>/.secrets/fernet.key
    queue_url: str = "db://"
    compute: str = "thread"
    notifier_url: str = "log://"
    auth: str = "local"

    database_options: dict[str, Any] = Field(default_factory=dict)
    storage_options: dict[str, Any] = Field(default_factory=dict)
    secrets_options: dict[str, Any] = Field(default_factory=dict)
    queue_options: dict[str, Any] = Field(default_factory=dict)
    compute_options: dict[str, Any] = Field(default_factory=dict)
    notifier_options: dict[str, Any] = Field(default_factory=dict)
    auth_options: dict[str, Any] = Field(default_factory=dict)

    workers: int = Field(default=2, ge=1, description="concurrent jobs per compute instance")
    lease_s: float = Field(default=30.0, gt=0, description="queue lease; renewed by heartbeats")
    workspace: str = "default"  # the embedded API/CLI works in this workspace

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls),
            file_secret_settings,
        )

    def url_for(self, port: str) -> str:
        """The configured URL of ``port`` with the local defaults filled in."""
        data = self.data_dir.expanduser().resolve()
        defaults = {
            "db": f"sqlite:///{data / 'mlsmith.db'}",
            "storage": f"file://{data / 'artifacts'}",
            "secrets": f"fernet-file://{data / '.secrets' / 'fernet.key'}",
        }
        configured = {
            "db": self.database_url,
            "storage": self.storage_url,
            "secrets": self.secrets_url,
            "queue": self.queue_url,
            "compute": self.compute,
            "notifier": self.notifier_url,
            "auth": self.auth,
        }[port]
        return configured or defaults[port]

    def options_for(self, port: str) -> dict[str, Any]:
        name = "database" if port == "db" else port
        return dict(getattr(self, f"{name}_options"))
