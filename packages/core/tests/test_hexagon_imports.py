"""The core stays pure: it never imports an adapter, a web or CLI framework, SQLAlchemy or boto3."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mlsmith.core

FORBIDDEN = (
    "mlsmith.backends",
    "mlsmith.server",
    "mlsmith.cli",
    "fastapi",
    "starlette",
    "typer",
    "sqlalchemy",
    "alembic",
    "boto3",
    "botocore",
    "celery",
    "fsspec",
    "httpx",
)
CORE_ROOT = Path(mlsmith.core.__file__).parent


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_no_core_module_imports_an_adapter_or_framework():
    files = sorted(CORE_ROOT.rglob("*.py"))
    assert len(files) > 20  # the walk really saw the package
    offenders = [
        f"{path.relative_to(CORE_ROOT)}: {name}"
        for path in files
        for name in _imports(path)
        if _forbidden(name)
    ]
    assert offenders == []


def test_the_forbidden_list_catches_an_adapter_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy\nfrom mlsmith.backends.local import db\n")
    assert [n for n in _imports(bad) if _forbidden(n)] == ["sqlalchemy", "mlsmith.backends.local"]


def test_importing_every_core_module_loads_no_adapter_or_framework():
    modules = [
        "mlsmith.core." + ".".join(p.relative_to(CORE_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted(CORE_ROOT.rglob("*.py"))
        if "testing" not in p.relative_to(CORE_ROOT).parts
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m.rstrip('.'))\n"
        f"bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in {FORBIDDEN!r}))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
