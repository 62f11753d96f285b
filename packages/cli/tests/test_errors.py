"""Bad input ends with exit 2 and exactly one `error: ...` line on stderr, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsmith.core.errors import InvalidInput


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    rows = "\n".join(f"{i},{i % 3},{'abc'[i % 3]}" for i in range(30))
    return _write(tmp_path / "small.csv", "x,y,label\n" + rows + "\n")


def test_train_on_a_missing_file_is_one_error_line(cli, tmp_path: Path):
    result = cli("train", tmp_path / "nope.csv", "--target", "y")
    _assert_one_line_error(result, "file not found", "nope.csv")


def test_train_on_an_empty_file_is_one_error_line(cli, tmp_path: Path):
    result = cli("train", _write(tmp_path / "empty.csv", ""), "--target", "y")
    _assert_one_line_error(result, "empty")


def test_train_on_a_header_without_rows_is_one_error_line(cli, tmp_path: Path):
    result = cli("train", _write(tmp_path / "header.csv", "x,y\n"), "--target", "y")
    _assert_one_line_error(result, "no rows")


def test_train_with_an_unknown_target_names_the_columns(cli, small_csv: Path):
    result = cli("train", small_csv, "--target", "price")
    _assert_one_line_error(result, "unknown target column 'price'", "x, y, label")


def test_regression_on_a_text_target_is_refused(cli, small_csv: Path):
    result = cli("train", small_csv, "--target", "label", "--task", "regression")
    _assert_one_line_error(result, "not numeric")


def test_unknown_metric_lists_the_known_ones(cli, small_csv: Path):
    result = cli("train", small_csv, "--target", "label", "--metric", "speed")
    _assert_one_line_error(result, "unknown metric 'speed'", "accuracy")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["runs", "show", "run_missing"], "not found"),
        (["runs", "cancel", "run_missing"], "not found"),
        (["runs", "delete", "run_missing", "--yes"], "not found"),
        (["runs", "list", "--status", "sleeping"], "unknown status"),
        (["promote", "run_missing", "--name", "m"], "not found"),
        (["models", "show", "ghost"], "model 'ghost' not found"),
        (["models", "alias", "ghost:1", "Not An Alias"], "invalid alias"),
    ],
)
def test_unknown_objects_and_bad_values_are_one_error_line(cli, args, fragment):
    _assert_one_line_error(cli(*args), fragment)


def test_predict_with_an_unknown_model_is_one_error_line(cli, small_csv: Path, tmp_path):
    result = cli("predict", "ghost@champion", small_csv, "-o", tmp_path / "out.csv")
    _assert_one_line_error(result, "model 'ghost' not found")
    assert not (tmp_path / "out.csv").exists()


def test_predict_with_a_malformed_reference_is_one_error_line(cli, small_csv, tmp_path):
    result = cli("predict", "a@b@c", small_csv, "-o", tmp_path / "out.csv")
    _assert_one_line_error(result, "invalid model reference")


def test_predict_on_a_missing_input_file_is_one_error_line(cli, tmp_path: Path):
    result = cli("predict", "m", tmp_path / "nope.csv", "-o", tmp_path / "out.csv")
    _assert_one_line_error(result, "file not found")


def test_usage_errors_keep_typers_exit_code_2(cli, small_csv: Path):
    result = cli("train", small_csv)  # --target missing
    assert result.exit_code == 2
    assert "--target" in result.output
    assert "Traceback" not in result.output


def test_debug_mode_lets_the_original_exception_through(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLSMITH_DEBUG", "1")
    result = cli("train", tmp_path / "nope.csv", "--target", "y")
    assert isinstance(result.exception, InvalidInput)
