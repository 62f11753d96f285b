"""The Dockerfile and .dockerignore, read statically (no Docker engine here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions():
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def test_multi_stage_build_installs_the_locked_workspace_into_a_venv() -> None:
    all_stages = stages()
    names = [s[0][1].split()[-1] for s in all_stages]
    assert "builder" in names and "runtime" in names
    builder = all_stages[names.index("builder")]
    syncs = [args for word, args in builder if word == "RUN" and "uv sync" in args]
    assert syncs and all("--locked" in s and "--no-dev" in s for s in syncs)
    assert any("--no-editable" in s for s in syncs)  # the venv must not point into /src
    copies = [args for word, args in builder if word == "COPY"]
    assert any("uv.lock" in c for c in copies)


def test_runtime_stage_copies_the_venv_and_runs_unprivileged() -> None:
    runtime = stages()[-1]
    assert runtime[0][1].endswith("AS runtime")
    assert any(w == "COPY" and "--from=builder" in a and "/app/.venv" in a for w, a in runtime)
    assert not any(w == "RUN" and "uv " in a for w, a in runtime)
    users = [a for w, a in runtime if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_healthcheck_port_entrypoint_and_command() -> None:
    runtime = dict((w, a) for w, a in stages()[-1])
    assert "/healthz" in runtime["HEALTHCHECK"]
    assert runtime["EXPOSE"] == "8000"
    assert json.loads(runtime["ENTRYPOINT"]) == ["/app/docker/entrypoint.sh"]
    assert json.loads(runtime["CMD"]) == ["serve", "--host", "0.0.0.0"]
    assert "MLSMITH_DATA_DIR=/data" in runtime["ENV"]


def test_dockerignore_keeps_state_and_secrets_out_of_the_build_context() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for must in ("**/.git", "**/.venv", "**/.env", "**/*.key", "**/.mlsmith", "**/*.db"):
        assert must in patterns, must
    # what the Dockerfile copies must stay in the context
    for needed in ("uv.lock", "pyproject.toml", "packages/", "docker/"):
        assert needed not in patterns
