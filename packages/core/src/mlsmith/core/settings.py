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

    # Identity (SECURITY.md defaults).
    allow_registration: bool = False  # self-registration at /auth/register
    access_token_ttl_s: int = Field(default=900, gt=0)
    refresh_idle_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)
    refresh_absolute_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    login_max_failures: int = Field(default=5, ge=1, description="per account and per address")
    login_window_s: int = Field(default=300, gt=0)

    # Server.
    max_concurrent_runs_per_user: int = Field(default=3, ge=1)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)  # JSON / CSV predict bodies
    max_page_size: int = Field(default=200, ge=1)
    cors_origins: list[str] = Field(default_factory=list)
    trusted_hosts: list[str] = Field(default_factory=lambda: ["localhost", "127.0.0.1", "[::1]"])
    log_json: bool = False  # JSON log lines (production); console lines otherwise
    egress_allow_private: bool = False  # outbound HTTP may reach private ranges

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
