"""Set-up, failure and deletion: init/migrate, a failed run exits 1, delete removes the files."""

from __future__ import annotations

from pathlib import Path

from mlsmith.core.backends import build_backends
from mlsmith.core.settings import Settings


def test_init_creates_the_data_dir_and_prints_where_things_live(cli):
    result = cli("init", "--json")
    assert result.exit_code == 0, result.output
    import json

    where = json.loads(result.stdout)
    assert Path(where["data_dir"]) == cli.data_dir.resolve()
    assert where["database"].startswith("sqlite:///")
    assert where["workspace_id"].startswith("ws_")
    assert (cli.data_dir / "mlsmith.db").exists()
    again = cli("init", "--json")
    assert json.loads(again.stdout)["workspace_id"] == where["workspace_id"]  # idempotent


def test_migrate_reports_an_up_to_date_schema(cli):
    result = cli("migrate")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout


def test_data_dir_comes_from_the_environment_without_the_option(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from mlsmith.cli.main import app

    monkeypatch.setenv("MLSMITH_DATA_DIR", str(tmp_path / "from-env"))
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-env" / "mlsmith.db").exists()


def test_a_run_that_fails_exits_1_with_its_error_on_one_line(cli, tmp_path: Path):
    rows = "\n".join(f"{i},{i % 5},same" for i in range(40))
    (tmp_path / "one_class.csv").write_text("x,y,label\n" + rows + "\n")
    result = cli("train", tmp_path / "one_class.csv", "--target", "label", "--time-budget", "3")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "failed" in errors[0] and "single class" in errors[0]
    assert "Traceback" not in result.output
    (run,) = cli.json("runs", "list", "--status", "failed")
    assert "single class" in run["error"]


def test_deleting_a_run_removes_its_stored_files_and_its_row(cli, cancer_csv: Path):
    trained = cli("train", cancer_csv, "--target", "target", "--time-budget", "3", "--folds", "2")
    assert trained.exit_code == 0, trained.output
    (run,) = cli.json("runs", "list")
    backends = build_backends(Settings(data_dir=cli.data_dir))
    try:
        before = list(backends.blobs.list_keys(f"runs/{run['id']}/"))
        assert any(key.endswith("manifest.json") for key in before)

        declined = cli("runs", "delete", run["id"], input="n\n")
        assert declined.exit_code != 0  # answering no keeps everything
        assert list(backends.blobs.list_keys(f"runs/{run['id']}/")) == before

        result = cli("runs", "delete", run["id"], "--yes")
        assert result.exit_code == 0, result.output
        assert f"{len(before)} stored files" in result.stdout
        assert list(backends.blobs.list_keys(f"runs/{run['id']}/")) == []
    finally:
        backends.close()
    assert cli.json("runs", "list") == []
    gone = cli("runs", "show", run["id"])
    assert gone.exit_code == 2
    assert "not found" in gone.stderr
