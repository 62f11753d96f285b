"""Workspaces, members, projects and experiments."""

from __future__ import annotations

import pytest

from mlsmith.core.domain import Role
from mlsmith.core.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from mlsmith.core.services import access, projects, workspaces


def test_creator_becomes_admin_and_sees_only_their_workspaces(backends, admin, add_user, signin):
    add_user("bob@example.com")
    bob = signin("bob@example.com")
    ws = workspaces.create(backends, bob, "  bob-team ")
    assert ws.name == "bob-team"
    assert access.scope_in(backends, bob, ws.id, Role.ADMIN).role is Role.ADMIN
    assert [w.id for w in workspaces.list_for(backends, bob)] == [ws.id]
    with pytest.raises(NotFound):
        workspaces.get(backends, bob, admin[1].id)
    with pytest.raises(AlreadyExists):
        workspaces.create(backends, bob, "team-a")


def test_admin_adds_members_by_email_and_sets_roles(backends, admin, add_user, signin):
    me, ws = signin("admin@example.com"), admin[1]
    bob = add_user("bob@example.com")
    workspaces.add_member(backends, me, ws.id, " BOB@example.com", "viewer")
    with pytest.raises(AlreadyExists):
        workspaces.add_member(backends, me, ws.id, "bob@example.com", Role.MEMBER)
    with pytest.raises(NotFound):
        workspaces.add_member(backends, me, ws.id, "ghost@example.com", Role.MEMBER)
    with pytest.raises(InvalidInput):
        workspaces.add_member(backends, me, ws.id, "bob@example.com", "owner")
    assert workspaces.set_role(backends, me, ws.id, bob.id, "member").role is Role.MEMBER
    members = {m.email: m.role for m in workspaces.list_members(backends, me, ws.id)}
    assert members == {"admin@example.com": Role.ADMIN, "bob@example.com": Role.MEMBER}


def test_only_admins_manage_members(backends, admin, add_user, signin):
    ws = admin[1]
    add_user("bob@example.com", workspace_id=ws.id, role=Role.MEMBER)
    carol = add_user("carol@example.com")
    bob = signin("bob@example.com")
    with pytest.raises(PermissionDenied):
        workspaces.add_member(backends, bob, ws.id, "carol@example.com", Role.ADMIN)
    with pytest.raises(PermissionDenied):
        workspaces.set_role(backends, bob, ws.id, bob.user.id, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        workspaces.remove_member(backends, bob, ws.id, admin[0].id)
    with pytest.raises(NotFound):  # not even a member: the workspace is invisible
        workspaces.list_members(backends, signin("carol@example.com"), ws.id)
    assert carol.id not in {m.user_id for m in workspaces.list_members(backends, bob, ws.id)}


def test_last_admin_cannot_be_removed_or_demoted(backends, admin, add_user, signin):
    me, ws = signin("admin@example.com"), admin[1]
    with pytest.raises(Conflict):
        workspaces.remove_member(backends, me, ws.id, me.user.id)
    with pytest.raises(Conflict):
        workspaces.set_role(backends, me, ws.id, me.user.id, Role.MEMBER)
    assert access.scope_in(backends, me, ws.id, Role.ADMIN).role is Role.ADMIN
    # With a second admin, the first may step down.
    bob = add_user("bob@example.com")
    workspaces.add_member(backends, me, ws.id, "bob@example.com", Role.ADMIN)
    workspaces.remove_member(backends, me, ws.id, me.user.id)
    assert [
        m.user_id for m in workspaces.list_members(backends, signin("bob@example.com"), ws.id)
    ] == [bob.id]


def test_a_member_may_leave_on_their_own(backends, admin, add_user, signin):
    ws = admin[1]
    add_user("vic@example.com", workspace_id=ws.id, role=Role.VIEWER)
    vic = signin("vic@example.com")
    workspaces.remove_member(backends, vic, ws.id, vic.user.id)
    with pytest.raises(NotFound):
        workspaces.get(backends, vic, ws.id)


def test_rename_needs_admin(backends, admin, add_user, signin):
    ws = admin[1]
    add_user("bob@example.com", workspace_id=ws.id, role=Role.MEMBER)
    with pytest.raises(PermissionDenied):
        workspaces.rename(backends, signin("bob@example.com"), ws.id, "renamed")
    assert (
        workspaces.rename(backends, signin("admin@example.com"), ws.id, "renamed").name == "renamed"
    )


def test_workspace_holding_runs_cannot_be_deleted(backends, admin, signin):
    import pandas as pd

    from mlsmith.core.services import datasets, training

    me = signin("admin@example.com")
    ws = workspaces.create(backends, me, "doomed")
    scope = access.scope_in(backends, me, ws.id, Role.MEMBER)
    ds = datasets.ingest_frame(backends, scope, pd.DataFrame({"x": [1, 2, 3, 4], "y": [0, 1] * 2}))
    training.start_run(backends, scope, ds.id, "y")
    with pytest.raises(Conflict):
        workspaces.delete(backends, me, ws.id)
    empty = workspaces.create(backends, me, "empty")
    workspaces.delete(backends, me, empty.id)
    with pytest.raises(NotFound):
        workspaces.get(backends, me, empty.id)


# -- projects and experiments -------------------------------------------------------------------


def test_project_and_experiment_crud(backends, admin, signin):
    me, ws = signin("admin@example.com"), admin[1]
    p = projects.create_project(backends, me, ws.id, "churn", "line one\nline two")
    with pytest.raises(AlreadyExists):
        projects.create_project(backends, me, ws.id, "churn")
    assert projects.update_project(backends, me, p.id, name="churn-2").name == "churn-2"
    e = projects.create_experiment(
        backends, me, p.id, name="baseline", target="y", task="binary", settings={"folds": 3}
    )
    assert e.workspace_id == ws.id and e.settings == {"folds": 3}
    assert [x.id for x in projects.list_experiments(backends, me, p.id)] == [e.id]
    e2 = projects.update_experiment(backends, me, e.id, task="regression", settings={"seed": 7})
    assert (e2.task, e2.settings) == ("regression", {"seed": 7})
    assert projects.get_experiment(backends, me, e.id).task == "regression"
    with pytest.raises(Conflict):
        projects.delete_project(backends, me, p.id)  # it still has an experiment
    projects.delete_experiment(backends, me, e.id)
    projects.delete_project(backends, me, p.id)
    with pytest.raises(NotFound):
        projects.get_project(backends, me, p.id)


@pytest.mark.parametrize(
    ("task", "settings"),
    [
        ("clustering", {}),
        ("auto", {"folds": 1}),
        ("auto", {"folds": True}),
        ("auto", {"time_budget_s": 0}),
        ("auto", {"learning_rate": 0.1}),
        ("binary", {"metric": "rmse"}),
        ("auto", {"candidates": "rf"}),
    ],
)
def test_experiments_are_validated_like_runs(backends, admin, signin, task, settings):
    me = signin("admin@example.com")
    p = projects.create_project(backends, me, admin[1].id, "p")
    with pytest.raises(InvalidInput):
        projects.create_experiment(
            backends, me, p.id, name="e", target="y", task=task, settings=settings
        )


def test_projects_of_another_workspace_are_not_found(backends, admin, add_user, signin):
    me = signin("admin@example.com")
    p = projects.create_project(backends, me, admin[1].id, "secret")
    e = projects.create_experiment(backends, me, p.id, name="e", target="y")
    add_user("eve@example.com")
    eve = signin("eve@example.com")
    for call in (
        lambda: projects.get_project(backends, eve, p.id),
        lambda: projects.list_experiments(backends, eve, p.id),
        lambda: projects.get_experiment(backends, eve, e.id),
        lambda: projects.update_experiment(backends, eve, e.id, name="x"),
        lambda: projects.delete_project(backends, eve, p.id),
        lambda: projects.create_experiment(backends, eve, p.id, name="x", target="y"),
        lambda: projects.list_projects(backends, eve, admin[1].id),
    ):
        with pytest.raises(NotFound):
            call()
