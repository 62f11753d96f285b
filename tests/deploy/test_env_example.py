""".env.example documents every setting of ``Settings`` (introspected), with its real default, and
nothing that does not exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mlsmith.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PREFIX = Settings.model_config["env_prefix"]
NESTED = Settings.model_config["env_nested_delimiter"]


def entries() -> list[tuple[str, str]]:
    """(name, value) of every assignment line, commented out or not."""
    out = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.match(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def compose_text() -> str:
    return "".join((ROOT / f).read_text() for f in ("compose.yml", "compose.prod.yml"))


def test_every_settings_field_is_documented() -> None:
    names = {name for name, _ in entries()}
    missing = [f for f in Settings.model_fields if f"{PREFIX}{f.upper()}" not in names]
    assert not missing, f".env.example lacks {missing}"


def test_every_documented_variable_exists() -> None:
    """A name is a setting, an option of a setting (``<FIELD>__<NAME>``), or a compose variable."""
    fields = {f"{PREFIX}{f.upper()}": f for f in Settings.model_fields}
    text = compose_text()
    for name, _ in entries():
        if name in fields:
            continue
        head = name.split(NESTED, 1)[0]
        if NESTED in name and head in fields:
            assert fields[head].endswith("_options"), f"{name}: {head} takes no nested options"
            continue
        assert re.search(rf"\$\{{{name}\b", text), f"{name} is documented but used nowhere"


def test_documented_defaults_are_the_real_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no mlsmith.toml
    for key in list(os.environ):
        if key.startswith(PREFIX):
            monkeypatch.delenv(key)
    baseline = Settings()
    fields = {f"{PREFIX}{f.upper()}": f for f in Settings.model_fields}
    checked = 0
    for name, value in entries():
        if name not in fields or value == "":
            continue
        with monkeypatch.context() as mp:
            mp.setenv(name, value)
            got = getattr(Settings(), fields[name])
        assert got == getattr(baseline, fields[name]), f".env.example {name}={value}"
        checked += 1
    assert checked >= len(fields) - 3  # the three URL settings whose default is empty


def test_required_compose_secrets_are_listed_empty_and_uncommented() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", compose_text()))
    assert required, "compose.prod.yml should require its passwords"
    active = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            active[m.group(1)] = m.group(2)
    for name in sorted(required):
        assert active.get(name) == "", f"{name} must appear as `{name}=` (no committed value)"


def test_deploy_docs_describe_every_setting() -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    missing = [f for f in Settings.model_fields if f"`{PREFIX}{f.upper()}`" not in docs]
    assert not missing, f"docs/deploy.md lacks {missing}"
