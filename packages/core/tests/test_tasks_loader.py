import sys

import pytest
from mlsmith.core.errors import InvalidInput
from mlsmith.core.tasks_loader import resolve_task, validate_kwargs, validate_target
from mlsmith.core.testing import tasks


def test_an_allowed_target_resolves_to_its_function() -> None:
    assert resolve_task("mlsmith.core.testing.tasks:write_file") is tasks.write_file


@pytest.mark.parametrize(
    "target",
    [
        "os:system",
        "mlsmithevil.x:run",  # shares the prefix text but not the package
        "mlsmith:core",
        "",
        "mlsmith.core.testing.tasks",
        "mlsmith.core.testing.tasks:",
        ":write_file",
        "mlsmith..core:f",
        "mlsmith.core.testing.tasks:write_file:x",
        "mlsmith/core/testing/tasks:write_file",
        "mlsmith.core.testing.tasks:write file",
        "mlsmith.core.testing.tasks:_POLL_S",
        " mlsmith.core.testing.tasks:write_file",
        "mlsmith.core.testing.tasks:write_file\n",
    ],
)
def test_malformed_or_disallowed_targets_are_refused_before_any_import(target: str) -> None:
    with pytest.raises(InvalidInput):
        validate_target(target)


def test_a_disallowed_module_is_never_imported() -> None:
    name = "antigravity"  # importing it has a visible side effect: it opens a web browser
    assert name not in sys.modules

    with pytest.raises(InvalidInput):
        resolve_task(f"{name}:fly")

    assert name not in sys.modules


def test_the_allowlist_is_configurable_and_respects_package_boundaries() -> None:
    assert validate_target("json.decoder:f", ["json"]) == ("json.decoder", "f")
    assert resolve_task("json:dumps", ["json"]).__name__ == "dumps"
    with pytest.raises(InvalidInput):
        validate_target("jsonschema:validate", ["json"])


@pytest.mark.parametrize(
    "target",
    [
        "mlsmith.core.testing.tasks:os",  # an imported module
        "mlsmith.core.testing.tasks:Path",  # an imported class
        "mlsmith.core.testing.tasks:missing",
        "mlsmith.core.no_such_module:f",
    ],
)
def test_only_functions_defined_in_the_named_module_resolve(target: str) -> None:
    with pytest.raises(InvalidInput):
        resolve_task(target)


def test_kwargs_are_normalised_through_json() -> None:
    assert validate_kwargs({"a": (1, 2), "b": {"c": None}}) == {"a": [1, 2], "b": {"c": None}}


@pytest.mark.parametrize(
    "kwargs",
    [{"x": object()}, {"x": float("nan")}, {"backends": 1}, {1: "x"}, ["not", "a", "dict"]],
)
def test_kwargs_that_cannot_travel_as_json_are_refused(kwargs: object) -> None:
    with pytest.raises(InvalidInput):
        validate_kwargs(kwargs)  # type: ignore[arg-type]
