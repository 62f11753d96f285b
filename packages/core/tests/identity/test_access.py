"""Object access is decided by the owning workspace: invisible is NotFound, too low a role is
PermissionDenied."""

from __future__ import annotations

import pandas as pd
import pytest

from mlsmith.core.domain import Role
from mlsmith.core.errors import InvalidInput, NotFound, PermissionDenied
from mlsmith.core.services import access, datasets, projects, training, workspaces


@pytest.fixture
def objects(backends, admin, signin):
    """A dataset, a run and a project in the admin's workspace, made by existing services."""
    me = signin("admin@example.com")
    ws = admin[1]
    scope = access.scope_in(backends, me, ws.id, Role.MEMBER)
    df = pd.DataFrame({"x": [1, 2, 3, 4, 5, 6], "y": ["a", "b"] * 3})
    ds = datasets.ingest_frame(backends, scope, df, name="small.csv")
    run = training.start_run(backends, scope, ds.id, "y", time_budget_s=5)
    project = projects.create_project(backends, me, ws.id, "churn")
    return {"dataset": ds.id, "run": run.id, "project": project.id}


@pytest.mark.parametrize("kind", ["dataset", "run", "project"])
def test_non_member_gets_not_found_for_workspace_objects(
    backends, admin, objects, add_user, signin, kind
):
    add_user("eve@example.com")
    eve = signin("eve@example.com")
    own = workspaces.create(backends, eve, "eve-ws")  # eve is an admin somewhere else
    assert own.id != admin[1].id
    with pytest.raises(NotFound) as hidden:
        access.scope_for_object(backends, eve, kind, objects[kind], Role.ADMIN)
    with pytest.raises(NotFound) as missing:
        access.scope_for_object(backends, eve, kind, "nope_0000")
    # Indistinguishable from a missing object (same wording, same details shape).
    assert str(hidden.value).replace(objects[kind], "ID") == str(missing.value).replace(
        "nope_0000", "ID"
    )
    assert hidden.value.details.keys() == missing.value.details.keys()


def test_existing_services_refuse_objects_of_another_workspace(backends, objects, add_user, signin):
    add_user("eve@example.com")
    eve = signin("eve@example.com")
    own = workspaces.create(backends, eve, "eve-ws")
    eve_scope = access.scope_in(backends, eve, own.id, Role.MEMBER)
    with pytest.raises(NotFound):
        datasets.get(backends, eve_scope, objects["dataset"])
    with pytest.raises(NotFound):
        training.cancel_run(backends, eve_scope, objects["run"])


def test_member_scope_carries_role_and_user(backends, admin, objects, add_user, signin):
    bob = add_user("bob@example.com", workspace_id=admin[1].id, role=Role.MEMBER)
    principal = signin("bob@example.com")
    scope = access.scope_for_object(backends, principal, "dataset", objects["dataset"])
    assert (scope.workspace_id, scope.user_id, scope.role) == (admin[1].id, bob.id, Role.MEMBER)
    with pytest.raises(PermissionDenied):
        access.scope_for_object(backends, principal, "run", objects["run"], Role.ADMIN)


def test_viewer_reads_but_gets_permission_denied_on_writes(
    backends, admin, objects, add_user, signin
):
    add_user("vic@example.com", workspace_id=admin[1].id, role=Role.VIEWER)
    vic = signin("vic@example.com")
    ws = admin[1]
    assert access.scope_in(backends, vic, ws.id).role is Role.VIEWER
    assert [p.id for p in projects.list_projects(backends, vic, ws.id)] == [objects["project"]]
    with pytest.raises(PermissionDenied):
        access.scope_in(backends, vic, ws.id, Role.MEMBER)
    with pytest.raises(PermissionDenied):
        projects.create_project(backends, vic, ws.id, "mine")
    with pytest.raises(PermissionDenied):
        projects.delete_project(backends, vic, objects["project"])
    with pytest.raises(PermissionDenied):
        access.scope_for_object(backends, vic, "run", objects["run"], Role.MEMBER)


def test_workspace_of_knows_every_kind_and_refuses_others(backends, objects, admin):
    assert access.workspace_of(backends, "dataset", objects["dataset"]) == admin[1].id
    assert access.workspace_of(backends, "run", objects["run"]) == admin[1].id
    for kind in access.KINDS:
        with pytest.raises(NotFound):
            access.workspace_of(backends, kind, "missing_1")
    with pytest.raises(InvalidInput):
        access.workspace_of(backends, "user", "usr_1")


def test_removed_member_loses_access_at_once(backends, admin, objects, add_user, signin):
    bob = add_user("bob@example.com", workspace_id=admin[1].id, role=Role.MEMBER)
    principal = signin("bob@example.com")
    access.scope_for_object(backends, principal, "dataset", objects["dataset"])
    workspaces.remove_member(backends, signin("admin@example.com"), admin[1].id, bob.id)
    with pytest.raises(NotFound):
        access.scope_for_object(backends, principal, "dataset", objects["dataset"])
