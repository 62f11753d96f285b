"""compose.yml and compose.prod.yml, checked without a Docker engine.

The files are validated against ``compose_spec_subset.schema.json``: a reduced, hand-written subset
of the Compose Specification's JSON schema (the official ``compose-spec.json`` is not downloadable
here and no installed package ships it; see the schema's description). Interpolation follows the
Compose rules (``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``$$``).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
COMPOSE_FILES = ["compose.yml", "compose.prod.yml"]
ONE_SHOTS = {"migrate", "minio-init"}  # compose.prod.yml services that run once and exit
SECRET_NAME = re.compile(r"PASSWORD|_SECRET_KEY$|_ACCESS_KEY$|ROOT_USER$")
_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?|:\+|\+)(.*))?", re.DOTALL)


# -- Compose interpolation ----------------------------------------------------------------------


class MissingRequired(Exception):
    pass


def interpolate(text: str, env: dict[str, str], refs: list[tuple[str, str | None, str]]) -> str:
    """Substitute like Compose does; every reference is appended to ``refs`` as (name, op, arg)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            depth, j = 1, i + 2
            while j < len(text) and depth:
                if text.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                depth -= text[j] == "}"
                j += 1
            if depth:
                raise ValueError(f"unbalanced ${{ in {text!r}")
            m = _BRACED.fullmatch(text[i + 2 : j - 1])
            if m is None:
                raise ValueError(f"invalid interpolation {text[i:j]!r}")
            name, op, arg = m.group(1), m.group(2), m.group(3) or ""
            refs.append((name, op, arg))
            out.append(_apply(name, op, interpolate(arg, env, refs), env))
            i = j
        else:
            m = _VAR.match(text, i + 1)
            if m is None:
                raise ValueError(f"a lone $ in {text!r} (write $$)")
            refs.append((m.group(0), None, ""))
            out.append(env.get(m.group(0), ""))
            i = m.end()
    return "".join(out)


def _apply(name: str, op: str | None, arg: str, env: dict[str, str]) -> str:
    value = env.get(name)
    if op is None:
        return value or ""
    if op == ":-":
        return value if value else arg
    if op == "-":
        return value if value is not None else arg
    if op in (":?", "?"):
        if value is None or (op == ":?" and not value):
            raise MissingRequired(f"{name}: {arg}")
        return value
    if op == ":+":
        return arg if value else ""
    return arg if value is not None else ""  # "+"


def walk(node: Any, env: dict[str, str], refs: list) -> Any:
    if isinstance(node, dict):
        return {k: walk(v, env, refs) for k, v in node.items()}
    if isinstance(node, list):
        return [walk(v, env, refs) for v in node]
    if isinstance(node, str):
        return interpolate(node, env, refs)
    return node


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text())


def references(name: str) -> list[tuple[str, str | None, str]]:
    refs: list[tuple[str, str | None, str]] = []
    env = {n: "x" for n in required_vars(name, collect_only=True)}
    walk(load(name), env, refs)
    return refs


def required_vars(name: str, *, collect_only: bool = False) -> set[str]:
    refs: list[tuple[str, str | None, str]] = []
    raw = load(name)
    env: dict[str, str] = {}
    while True:  # fill required variables one by one, as a user reading the errors would
        try:
            walk(raw, env, refs)
            break
        except MissingRequired as exc:
            env[str(exc).split(":", 1)[0]] = "x"
    return set(env)


def env_example() -> dict[str, tuple[bool, str]]:
    """name -> (assigned on an uncommented line, value) from .env.example."""
    found: dict[str, tuple[bool, str]] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            active = m.group(1) is None
            if m.group(2) not in found or active:
                found[m.group(2)] = (active, m.group(3))
    return found


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads((HERE / "compose_spec_subset.schema.json").read_text())


# -- the interpolation helper itself ------------------------------------------------------------


def test_interpolation_follows_compose_rules() -> None:
    refs: list = []
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("${SET:-d}/${UNSET:-d}/${EMPTY:-d}/${EMPTY-d}", env, refs) == "v/d/d/"
    assert interpolate("$$HOME ${UNSET:-a${SET}b}", env, refs) == "$HOME avb"
    with pytest.raises(MissingRequired):
        interpolate("${EMPTY:?must be set}", env, refs)
    assert interpolate("${EMPTY?ok when empty}", env, refs) == ""
    assert ("UNSET", ":-", "a${SET}b") in refs


# -- schema -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_validates_against_the_schema(name: str, schema: dict[str, Any]) -> None:
    raw = load(name)
    jsonschema.validate(raw, schema)  # as written
    env = {n: "x" for n in required_vars(name)}
    jsonschema.validate(walk(raw, env, []), schema)  # as Compose sees it with defaults


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["services"]["api"].__setitem__("helthcheck", {"test": ["CMD", "true"]}),
        lambda d: d["services"]["api"]["healthcheck"].__setitem__("intervall", "5s"),
        lambda d: d["services"]["api"].__setitem__("depends_on", {"db": {"condition": "ready"}}),
        lambda d: d["services"]["api"].__setitem__("depends_on", {"db": {"restart": True}}),
        lambda d: d["services"]["api"].__setitem__("deploy", {"replica": 2}),
        lambda d: d.__setitem__("volume", {}),
    ],
    ids=["service-key", "healthcheck-key", "condition", "no-condition", "deploy-key", "top-key"],
)
def test_schema_rejects_mistakes(mutate: Any, schema: dict[str, Any]) -> None:
    doc = copy.deepcopy(load("compose.yml"))
    mutate(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


# -- variables ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_variable_has_a_default_or_is_in_env_example(name: str) -> None:
    documented = env_example()
    for var, op, _ in references(name):
        if op in (":?", "?"):
            assert var in documented, f"{name}: required ${{{var}}} is not listed in .env.example"
            active, value = documented[var]
            assert active and value == "", f".env.example: {var} must be listed, empty, uncommented"
        elif op not in (":-", "-"):
            assert var in documented, f"{name}: ${{{var}}} has no default and no .env.example entry"
        # every variable is documented anyway (compose-only ones included)
        assert var in documented, f"{name}: ${{{var}}} is not documented in .env.example"


def test_secrets_of_the_prod_file_are_required_and_have_no_default() -> None:
    refs = references("compose.prod.yml")
    secret_refs = [(var, op) for var, op, _ in refs if SECRET_NAME.search(var)]
    names = {var for var, _ in secret_refs}
    assert {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "MINIO_ROOT_PASSWORD"} <= names
    assert all(op == ":?" for _, op in secret_refs), secret_refs
    assert required_vars("compose.prod.yml") >= names


def test_single_node_file_needs_no_variables() -> None:
    assert required_vars("compose.yml") == set()


# -- single node --------------------------------------------------------------------------------


def _settings_fields() -> dict[str, Any]:
    from mlsmith.core.settings import Settings

    return dict(Settings.model_fields)


def test_single_node_api_overrides_every_scalar_setting_from_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mlsmith.core.settings import Settings

    env = load("compose.yml")["services"]["api"]["environment"]
    assert env["MLSMITH_DATA_DIR"] == "/data"
    # dict options come through env_file (.env), not the environment map
    expected = {
        f"MLSMITH_{f.upper()}"
        for f, info in _settings_fields().items()
        if not f.endswith("_options") and f != "data_dir"
    }
    assert expected <= set(env), sorted(expected - set(env))

    monkeypatch.chdir(tmp_path)  # no mlsmith.toml
    for key in list(__import__("os").environ):
        if key.startswith("MLSMITH_"):
            monkeypatch.delenv(key)
    baseline = Settings()
    deliberate = {"MLSMITH_LOG_JSON"}  # containers log JSON lines
    for key in sorted(expected):
        m = re.fullmatch(r"\$\{(\w+):-(.*)\}", str(env[key]), re.DOTALL)
        assert m and m.group(1) == key, f"{key} is not `${{{key}:-default}}`: {env[key]!r}"
        field = key.removeprefix("MLSMITH_").lower()
        with monkeypatch.context() as mp:
            mp.setenv(key, m.group(2))
            value = getattr(Settings(), field)
        if m.group(2) == "":  # empty = the local default under the data dir
            assert getattr(baseline, field) is None
        elif key not in deliberate:
            assert value == getattr(baseline, field), f"{key}: compose default {m.group(2)!r}"


def test_single_node_keeps_state_on_a_named_volume_and_checks_health() -> None:
    doc = load("compose.yml")
    api = doc["services"]["api"]
    assert "mlsmith-data:/data" in api["volumes"]
    assert "mlsmith-data" in doc["volumes"]
    assert api["env_file"] == [{"path": ".env", "required": False}]
    assert api["restart"] in ("unless-stopped", "always")
    assert "/readyz" in " ".join(api["healthcheck"]["test"]) or "/healthz" in " ".join(
        api["healthcheck"]["test"]
    )
    assert api["environment"]["MLSMITH_COMPUTE"] == "${MLSMITH_COMPUTE:-thread}"


# -- scale-out ----------------------------------------------------------------------------------


def test_prod_services_health_and_dependency_order() -> None:
    services = load("compose.prod.yml")["services"]
    assert {"api", "worker", "postgres", "redis", "minio", "minio-init"} <= set(services)
    for name, svc in services.items():
        if name in ONE_SHOTS:
            assert svc.get("restart") == "no", name
        else:
            assert "healthcheck" in svc, f"{name} has no healthcheck"
            assert svc.get("restart") in ("unless-stopped", "always"), name
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            want = "service_completed_successfully" if dep in ONE_SHOTS else "service_healthy"
            assert spec["condition"] == want, f"{name} -> {dep}: {spec}"
    # no cycles: a topological order exists
    order: list[str] = []
    pending = {n: set(s.get("depends_on") or {}) for n, s in services.items()}
    while pending:
        ready = sorted(n for n, deps in pending.items() if deps <= set(order))
        assert ready, f"dependency cycle among {sorted(pending)}"
        order += ready
        for n in ready:
            del pending[n]
    assert order.index("postgres") < order.index("migrate") < order.index("api")
    assert order.index("minio-init") < order.index("worker")


def test_prod_runs_api_replicas_and_celery_workers_on_managed_style_backends() -> None:
    services = load("compose.prod.yml")["services"]
    api, worker = services["api"], services["worker"]
    assert "replicas" in api["deploy"]
    assert worker["command"] == ["worker"]
    for svc in (api, worker):
        env = svc["environment"]
        assert env["MLSMITH_COMPUTE"] == "celery"
        assert env["MLSMITH_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["MLSMITH_STORAGE_URL"].startswith("s3://")
        assert env["MLSMITH_COMPUTE_OPTIONS__BROKER_URL"].startswith("redis://")
    # the migrate one-shot gets no broker option (the thread pool refuses unknown options)
    assert "MLSMITH_COMPUTE_OPTIONS__BROKER_URL" not in services["migrate"]["environment"]


def test_prod_publishes_only_the_proxy() -> None:
    services = load("compose.prod.yml")["services"]
    published = sorted(n for n, s in services.items() if s.get("ports"))
    assert published == ["proxy"]
