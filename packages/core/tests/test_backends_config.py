"""Adapters are chosen purely by configuration; a bad choice fails with one clear line."""

from __future__ import annotations

import pytest

from mlsmith.core.backends import _redact, kind_of, resolve_builder
from mlsmith.core.errors import ConfigError
from mlsmith.core.settings import Settings


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("sqlite:///x.db", "sqlite"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("webhook+https://hooks.example/x", "webhook+https"),
        ("process", "process"),
        ("DB://", "db"),
    ],
)
def test_kind_is_the_url_scheme(url, kind):
    assert kind_of(url) == kind


def test_unknown_storage_kind_names_the_setting_and_the_installed_kinds():
    with pytest.raises(ConfigError) as err:
        resolve_builder("storage", "gcs://bucket/prefix")
    msg = str(err.value)
    assert "\n" not in msg
    assert "MLSMITH_STORAGE_URL" in msg and "'gcs'" in msg
    assert "file" in msg  # the installed kinds are listed


def test_a_known_kind_whose_package_is_missing_names_that_package(monkeypatch):
    import mlsmith.core.backends as backends_module

    monkeypatch.setattr(backends_module, "entry_points", lambda group: [])
    with pytest.raises(ConfigError, match="pip install mlsmith-aws"):
        resolve_builder("storage", "s3://bucket/prefix")


def test_unknown_compute_kind_is_refused():
    with pytest.raises(ConfigError, match="MLSMITH_COMPUTE"):
        resolve_builder("compute", "quantum")


def test_password_in_a_url_is_never_echoed():
    with pytest.raises(ConfigError) as err:
        resolve_builder("db", "mysql://admin:hunter2@db/x")
    assert "hunter2" not in str(err.value)
    assert _redact("mysql://admin:hunter2@db/x") == "mysql://admin:***@db/x"


def test_settings_default_to_local_urls_under_the_data_dir(tmp_path):
    s = Settings(data_dir=tmp_path)
    assert s.url_for("db") == f"sqlite:///{tmp_path.resolve() / 'mlsmith.db'}"
    assert s.url_for("storage") == f"file://{tmp_path.resolve() / 'artifacts'}"
    assert s.url_for("secrets").startswith("fernet-file://")
    assert (s.url_for("queue"), s.url_for("compute"), s.url_for("notifier")) == ("db://", "thread", "log://")


def test_settings_read_env_and_nested_options(monkeypatch, tmp_path):
    monkeypatch.setenv("MLSMITH_COMPUTE", "process")
    monkeypatch.setenv("MLSMITH_STORAGE_OPTIONS__SSE", "aws:kms")
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.url_for("compute") == "process"
    assert s.options_for("storage") == {"sse": "aws:kms"}


def test_settings_read_mlsmith_toml(monkeypatch, tmp_path):
    (tmp_path / "mlsmith.toml").write_text('compute = "process"\nworkers = 3\n')
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert (s.compute, s.workers) == ("process", 3)
