"""docker/entrypoint.sh run outside a container against a temp data dir.

POSIX sh (dash when installed), PATH holding the workspace venv's ``mlsmith``, and a harmless
command (``--version``) for the final ``exec``.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
SH = shutil.which("dash") or "/bin/sh"
VENV_BIN = Path(sys.executable).parent


def run(tmp_path: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    assert (VENV_BIN / "mlsmith").exists(), "run the tests with the workspace venv (uv run)"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(home),  # no CLI login file of the developer's
        "LANG": "C.UTF-8",
        **extra_env,
    }
    return subprocess.run(
        [SH, str(ENTRYPOINT), *args],
        cwd=tmp_path,  # no mlsmith.toml
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard, not a performance assertion
    )


def test_entrypoint_is_posix_sh_with_strict_mode() -> None:
    text = ENTRYPOINT.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "set -eu" in text
    assert os.access(ENTRYPOINT, os.X_OK)
    check = subprocess.run([SH, "-n", str(ENTRYPOINT)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_first_start_creates_the_key_and_migrates_later_starts_reuse_it(tmp_path: Path) -> None:
    data = tmp_path / "data"  # does not exist yet: the entrypoint creates it
    first = run(tmp_path, "--version", MLSMITH_DATA_DIR=str(data))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1].startswith("mlsmith ")  # exec'd the command
    key = data / ".secrets" / "fernet.key"
    assert "created Fernet key file" in first.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    content = key.read_bytes()
    Fernet(content.strip())  # the format the local secrets adapter reads
    assert content.decode() not in first.stdout + first.stderr  # never printed
    # `mlsmith --version` alone touches nothing: the database exists because migrate ran
    assert (data / "mlsmith.db").is_file()
    assert not list(key.parent.glob(".fernet-*"))  # no temp file left behind

    second = run(tmp_path, "--version", MLSMITH_DATA_DIR=str(data))
    assert second.returncode == 0, second.stderr
    assert "reusing Fernet key file" in second.stderr
    assert key.read_bytes() == content
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_an_explicit_fernet_file_url_is_honoured(tmp_path: Path) -> None:
    data, key = tmp_path / "data", tmp_path / "keys" / "platform.key"
    url = f"fernet-file://{key}"
    result = run(tmp_path, "--version", MLSMITH_DATA_DIR=str(data), MLSMITH_SECRETS_URL=url)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not (data / ".secrets").exists()


def test_no_local_key_for_other_secret_backends_and_failures_stop_the_start(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    # a scheme no package provides: no key is made, migrate fails, the command never runs
    result = run(
        tmp_path, "--version", MLSMITH_DATA_DIR=str(data), MLSMITH_SECRETS_URL="nosuch://k"
    )
    assert result.returncode != 0
    assert not (data / ".secrets").exists()
    assert "mlsmith 0" not in result.stdout


def test_a_relative_key_path_is_refused(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "--version",
        MLSMITH_DATA_DIR=str(tmp_path / "data"),
        MLSMITH_SECRETS_URL="fernet-file://keys/k.key",
    )
    assert result.returncode != 0
    assert "absolute" in result.stderr
    assert not (tmp_path / "keys").exists()


def test_a_corrupt_key_file_is_refused_without_quoting_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = data / ".secrets" / "fernet.key"
    key.parent.mkdir(parents=True)
    key.write_text("not-a-key-but-a-secret-looking-value\n")
    result = run(tmp_path, "--version", MLSMITH_DATA_DIR=str(data))
    assert result.returncode != 0
    assert "not a valid Fernet key" in result.stderr
    assert "secret-looking" not in result.stdout + result.stderr
    assert key.read_text() == "not-a-key-but-a-secret-looking-value\n"  # never overwritten
