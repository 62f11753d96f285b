"""Where the CLI keeps its server login: ``$XDG_CONFIG_HOME/mlsmith/credentials.json`` (default
``~/.config``), the directory 0700 and the file 0600, written atomically. Or, for CI and scripts,
``MLSMITH_URL`` + ``MLSMITH_API_KEY`` (+ optional ``MLSMITH_WORKSPACE``) in the environment, which
win over the file.

The file holds the server URL, the chosen workspace and the tokens (or an API key), never a
password. Nothing here prints a secret: ``Credentials.__repr__`` hides them.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

ENV_URL = "MLSMITH_URL"
ENV_API_KEY = "MLSMITH_API_KEY"
ENV_WORKSPACE = "MLSMITH_WORKSPACE"
SECRETS = ("access_token", "refresh_token", "api_key")


@dataclass
class Credentials:
    url: str
    workspace_id: str | None = None
    workspace: str | None = None  # its name, for messages (and to pick one from the env)
    email: str | None = None
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    from_env: bool = field(default=False, compare=False)

    @property
    def bearer(self) -> str | None:
        return self.api_key or self.access_token


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    # The XDG spec says a relative value is invalid and must be ignored.
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "mlsmith"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def from_env() -> Credentials | None:
    url, key = os.environ.get(ENV_URL, "").strip(), os.environ.get(ENV_API_KEY, "").strip()
    if not (url and key):
        return None
    return Credentials(
        url=normalize_url(url),
        workspace=os.environ.get(ENV_WORKSPACE) or None,
        api_key=key,
        from_env=True,
    )


def load() -> Credentials | None:
    """The environment's credentials, else the file's, else None (embedded mode)."""
    env = from_env()
    return env if env is not None else load_file()


def load_file() -> Credentials | None:
    path = credentials_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        from mlsmith.core.errors import ConfigError

        raise ConfigError(
            f"cannot read {path} ({type(exc).__name__}); run `mlsmith logout` and log in again"
        ) from None
    known = {f.name for f in fields(Credentials)} - {"from_env"}
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        from mlsmith.core.errors import ConfigError

        raise ConfigError(f"{path} is not a credentials file; run `mlsmith logout`")
    return Credentials(**{k: v for k, v in data.items() if k in known})


def save(creds: Credentials) -> Path:
    """Write atomically with mode 0600 (a temporary file created 0600, then renamed)."""
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        directory.chmod(0o700)
    path = directory / "credentials.json"
    tmp = directory / f".credentials.{os.getpid()}.tmp"
    data = {k: v for k, v in asdict(creds).items() if k != "from_env" and v is not None}
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o600)  # O_CREAT's mode is masked by umask; 0600 never needs more
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def delete() -> bool:
    try:
        credentials_path().unlink()
    except FileNotFoundError:
        return False
    return True


def normalize_url(url: str) -> str:
    """``https://host/`` and ``https://host/api/v1`` both mean ``https://host``."""
    from mlsmith.core.errors import InvalidInput

    url = url.strip().rstrip("/")
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise InvalidInput(f"invalid server URL {url!r}: use http(s)://HOST[:PORT]")
    return url
