"""``python -m mlsmith.cli`` (same as the ``mlsmith`` console script)."""

from mlsmith.cli.main import run

run()
