"""``mlsmith worker`` refuses computes that run jobs inside ``mlsmith serve``, naming the setting."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mlsmith.cli.main import app


@pytest.mark.parametrize("compute", ["thread", "process"])
def test_worker_with_an_in_process_compute_exits_2_naming_the_setting(
    compute: str, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("MLSMITH_COMPUTE", compute)

    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "worker"])

    assert result.exit_code == 2, result.output
    assert "MLSMITH_COMPUTE" in result.output and "celery" in result.output
    assert not (tmp_path / "mlsmith.db").exists()  # only the compute was built, no database
