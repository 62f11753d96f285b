"""How runs, models and artifacts look on screen and in JSON (shared by several sub-apps)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlsmith.cli.output import (
    console,
    fmt_score,
    fmt_time,
    key_value_table,
    leaderboard_table,
    to_jsonable,
)

if TYPE_CHECKING:
    from mlsmith.core.domain import Artifact, ModelVersion, Run
    from mlsmith.core.services.registry import ResolvedVersion


def best_score(run: Run) -> float | None:
    ok = [r for r in run.leaderboard if r.get("status") == "ok"]
    if not ok or not run.metric:
        return None
    return (ok[0].get("mean") or {}).get(run.metric)


def run_summary(run: Run) -> dict[str, Any]:
    return to_jsonable(
        {
            "id": run.id,
            "status": run.status,
            "stage": run.stage,
            "progress": run.progress,
            "task": run.task,
            "metric": run.metric,
            "target": run.target,
            "dataset_id": run.dataset_id,
            "best_model": run.best_model,
            "best_score": best_score(run),
            "error": run.error,
            "created_at": run.created_at,
            "finished_at": run.finished_at,
        }
    )


def run_detail(run: Run, artifacts: list[Artifact] | None = None) -> dict[str, Any]:
    data = to_jsonable(run)
    data["best_score"] = best_score(run)
    if artifacts is not None:
        data["artifacts"] = [
            to_jsonable({"name": a.name, "sha256": a.sha256, "size_bytes": a.size_bytes})
            for a in artifacts
        ]
    return data


def print_run(run: Run, artifacts: list[Artifact] | None = None) -> None:
    if run.leaderboard:
        console.print(leaderboard_table(run.leaderboard, run.metric, title="Leaderboard"))
    pairs = [
        ("run", run.id),
        ("status", run.status.value),
        ("stage", run.stage),
        ("progress", f"{run.progress:.0f}%"),
        ("task", run.task),
        ("target", run.target),
        ("metric", run.metric),
        ("best model", run.best_model),
        ("best score", fmt_score(best_score(run))),
        ("dataset", run.dataset_id),
        ("created", fmt_time(run.created_at)),
        ("finished", fmt_time(run.finished_at)),
    ]
    if run.error:
        pairs.append(("error", run.error))
    console.print(key_value_table(pairs))
    if artifacts:
        # One line per artifact rather than a table: a full sha256 must never be truncated.
        console.print("[bold]artifacts[/]")
        for a in artifacts:
            console.print(
                f"  {a.name:<18} {a.size_bytes:>10,} B  sha256:{a.sha256}",
                soft_wrap=True,
                highlight=False,
            )


def version_line(rv: ResolvedVersion) -> str:
    aliases = f" ({', '.join(rv.aliases)})" if rv.aliases else ""
    return f"{rv.model.name} version {rv.version.version}{aliases}"


def resolved_json(rv: ResolvedVersion) -> dict[str, Any]:
    return to_jsonable(
        {
            "name": rv.model.name,
            "version": rv.version.version,
            "aliases": list(rv.aliases),
            "run_id": rv.version.run_id,
            "lineage": rv.version.lineage,
            "created_at": rv.version.created_at,
        }
    )


def version_json(mv: ModelVersion, aliases: dict[str, int]) -> dict[str, Any]:
    return to_jsonable(
        {
            "version": mv.version,
            "run_id": mv.run_id,
            "aliases": sorted(a for a, v in aliases.items() if v == mv.version),
            "lineage": mv.lineage,
            "created_at": mv.created_at,
        }
    )
