"""Projects and their experiments (a named target + task + default run settings) in a workspace.

Reading needs VIEWER, writing MEMBER. Objects are addressed by id; one the caller cannot see is
NotFound, exactly like a missing one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlsmith.core.domain import Experiment, Project, Role
from mlsmith.core.errors import Conflict, InvalidInput
from mlsmith.core.services import training
from mlsmith.core.services.access import scope_for_object, scope_in
from mlsmith.core.services.credentials import clean_name

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends
    from mlsmith.core.services.principals import Principal

NAME_MAX = 100
DESCRIPTION_MAX = 2000
TARGET_MAX = 255
SETTINGS = ("metric", "folds", "time_budget_s", "seed", "tune_top_k", "candidates")

# -- projects ---------------------------------------------------------------------------------


def create_project(
    backends: Backends, principal: Principal, workspace_id: str, name: str, description: str = ""
) -> Project:
    p = Project(
        workspace_id=workspace_id,
        name=clean_name(name, what="project name", max_len=NAME_MAX),
        description=_description(description),
    )
    scope_in(backends, principal, workspace_id, Role.MEMBER)
    with backends.metadata.unit_of_work() as uow:
        uow.projects.add(p)  # AlreadyExists on a duplicate name in the workspace
    return p


def list_projects(
    backends: Backends,
    principal: Principal,
    workspace_id: str,
    *,
    limit: int = 100,
    offset: int = 0,
) -> list[Project]:
    scope_in(backends, principal, workspace_id)
    with backends.metadata.unit_of_work() as uow:
        return uow.projects.list(workspace_id, limit=_limit(backends, limit), offset=max(0, offset))


def get_project(backends: Backends, principal: Principal, project_id: str) -> Project:
    scope_for_object(backends, principal, "project", project_id)
    with backends.metadata.unit_of_work() as uow:
        return uow.projects.get(project_id)


def update_project(
    backends: Backends,
    principal: Principal,
    project_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Project:
    scope_for_object(backends, principal, "project", project_id, Role.MEMBER)
    with backends.metadata.unit_of_work() as uow:
        p = uow.projects.get(project_id)
        if name is not None:
            p.name = clean_name(name, what="project name", max_len=NAME_MAX)
        if description is not None:
            p.description = _description(description)
        uow.projects.save(p)
    return p


def delete_project(backends: Backends, principal: Principal, project_id: str) -> None:
    """Conflict while the project still has experiments."""
    scope_for_object(backends, principal, "project", project_id, Role.MEMBER)
    with backends.metadata.unit_of_work() as uow:
        if uow.experiments.list(project_id, limit=1):
            raise Conflict("the project still has experiments; delete them first")
        uow.projects.delete(project_id)


# -- experiments ------------------------------------------------------------------------------


def create_experiment(
    backends: Backends,
    principal: Principal,
    project_id: str,
    *,
    name: str,
    target: str,
    task: str = "auto",
    settings: dict[str, Any] | None = None,
) -> Experiment:
    name = clean_name(name, what="experiment name", max_len=NAME_MAX)
    target = _target(target)
    _check_task(task)
    settings = check_settings(task, settings or {})
    scope = scope_for_object(backends, principal, "project", project_id, Role.MEMBER)
    e = Experiment(
        workspace_id=scope.workspace_id,
        project_id=project_id,
        name=name,
        target=target,
        task=task,
        settings=settings,
    )
    with backends.metadata.unit_of_work() as uow:
        uow.experiments.add(e)  # AlreadyExists on a duplicate name in the project
    return e


def list_experiments(
    backends: Backends, principal: Principal, project_id: str, *, limit: int = 100, offset: int = 0
) -> list[Experiment]:
    scope_for_object(backends, principal, "project", project_id)
    with backends.metadata.unit_of_work() as uow:
        return uow.experiments.list(
            project_id, limit=_limit(backends, limit), offset=max(0, offset)
        )


def get_experiment(backends: Backends, principal: Principal, experiment_id: str) -> Experiment:
    scope_for_object(backends, principal, "experiment", experiment_id)
    with backends.metadata.unit_of_work() as uow:
        return uow.experiments.get(experiment_id)


def update_experiment(
    backends: Backends,
    principal: Principal,
    experiment_id: str,
    *,
    name: str | None = None,
    target: str | None = None,
    task: str | None = None,
    settings: dict[str, Any] | None = None,
) -> Experiment:
    scope_for_object(backends, principal, "experiment", experiment_id, Role.MEMBER)
    with backends.metadata.unit_of_work() as uow:
        e = uow.experiments.get(experiment_id)
        if name is not None:
            e.name = clean_name(name, what="experiment name", max_len=NAME_MAX)
        if target is not None:
            e.target = _target(target)
        if task is not None:
            _check_task(task)
            e.task = task
        e.settings = check_settings(e.task, e.settings if settings is None else settings)
        uow.experiments.save(e)
    return e


def delete_experiment(backends: Backends, principal: Principal, experiment_id: str) -> None:
    scope_for_object(backends, principal, "experiment", experiment_id, Role.MEMBER)
    with backends.metadata.unit_of_work() as uow:
        uow.experiments.delete(experiment_id)


def check_settings(task: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Default run options of an experiment, checked with the rules ``training.start_run`` uses."""
    if not isinstance(settings, dict):
        raise InvalidInput("settings must be an object")
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise InvalidInput(
            f"unknown settings {unknown}; allowed: {', '.join(SETTINGS)}", unknown=unknown
        )
    s = dict(settings)
    if s.get("metric") is not None:
        if not isinstance(s["metric"], str):
            raise InvalidInput("metric must be a string")
        training._check_metric(task, s["metric"])
    if "folds" in s and not (_is_int(s["folds"]) and 2 <= s["folds"] <= 20):
        raise InvalidInput("folds must be between 2 and 20", folds=s["folds"])
    budget = s.get("time_budget_s")
    if budget is not None and not (_is_number(budget) and budget > 0):
        raise InvalidInput("time budget must be positive", time_budget_s=budget)
    if "seed" in s and not _is_int(s["seed"]):
        raise InvalidInput("seed must be an integer")
    if "tune_top_k" in s and not (_is_int(s["tune_top_k"]) and s["tune_top_k"] >= 0):
        raise InvalidInput("tune_top_k must be a non-negative integer")
    cands = s.get("candidates")
    if cands is not None and not (
        isinstance(cands, list) and all(isinstance(c, str) and c for c in cands)
    ):
        raise InvalidInput("candidates must be a list of model names")
    return s


def _check_task(task: str) -> None:
    if task not in training.TASKS:
        raise InvalidInput(
            f"unknown task {task!r}; choose one of {', '.join(training.TASKS)}", task=task
        )


def _target(target: str) -> str:
    if not isinstance(target, str) or not target or len(target) > TARGET_MAX:
        raise InvalidInput(f"target must be a column name of 1 to {TARGET_MAX} characters")
    return target


def _description(text: str) -> str:
    """Free text: like a name, but line breaks and tabs are fine."""
    lines = text.split("\n") if isinstance(text, str) else [text]
    for line in lines:
        clean_name(
            line.replace("\t", " "), what="description", max_len=DESCRIPTION_MAX, empty_ok=True
        )
    if len(text) > DESCRIPTION_MAX:
        raise InvalidInput(f"description is longer than {DESCRIPTION_MAX} characters")
    return text.strip()


def _limit(backends: Backends, limit: int) -> int:
    return max(1, min(int(limit), backends.settings.max_page_size))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)
