"""Start-up cost and the entry points: help must not pay for pandas, scikit-learn or SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "pandas",
    "sklearn",
    "numpy",
    "sqlalchemy",
    "mlsmith.core.engine",
    "mlsmith.core.services",
    "fastapi",
    "uvicorn",
    "starlette",
    "mlsmith.server",
    "httpx",
    "mlsmith.cli.remote",
)

_PROBE = """
import json, sys
from typer.testing import CliRunner
from mlsmith.cli.main import app
for args in (["--help"], ["runs", "--help"], ["models", "--help"], ["train", "--help"],
             ["serve", "--help"], ["login", "--help"], ["whoami", "--help"],
             ["predict", "--help"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
print(json.dumps([m for m in %r if m in sys.modules]))
"""


def test_help_renders_without_importing_heavy_libraries():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_the_probe_would_notice_a_heavy_import():
    # Guards the test above against passing vacuously (e.g. a wrong module name in HEAVY).
    code = _PROBE.replace("import json, sys", "import json, sys, pandas")
    out = subprocess.run(
        [sys.executable, "-c", code % (HEAVY,)], capture_output=True, text=True, check=True
    )
    assert "pandas" in json.loads(out.stdout)


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("mlsmith")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mlsmith.cli"]


def test_console_script_prints_version():
    out = subprocess.run([*_console_script(), "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.startswith("mlsmith ")


def test_console_script_usage_error_exits_2_without_traceback():
    out = subprocess.run([*_console_script(), "train"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
