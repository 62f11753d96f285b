"""The live view of a training run: a rich progress bar (stage, percent, best model so far) fed
with the run's latest state (from the database on every worker tick in embedded mode, from the
server's event stream in remote mode), and one line per finished model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from mlsmith.cli.output import err_console, fmt_score

if TYPE_CHECKING:
    from mlsmith.core.domain import Run


class RunProgress:
    def __init__(self, *, show: bool = True) -> None:
        self.show = show
        self.run: Run | None = None
        self._seen: set[str] = set()
        # stderr, so that `--json` output on stdout stays parseable; transient, so the table that
        # follows is what remains on screen.
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<12}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[best]}"),
            console=err_console,
            transient=True,
            disable=not show,
        )
        self._task = self._bar.add_task("queued", total=100, best="")

    def __enter__(self) -> RunProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def update(self, run: Run) -> None:
        """Show ``run``'s latest state: announce newly finished models, move the bar."""
        self.run = run
        for row in run.leaderboard:
            if row.get("model") not in self._seen:
                self._seen.add(row.get("model"))
                self._announce(row, run.metric)
        self._bar.update(
            self._task,
            completed=run.progress,
            description=run.stage,
            best=self._best(run.leaderboard, run.metric),
        )

    def _announce(self, row: dict[str, Any], metric: str | None) -> None:
        if not self.show:
            return
        ok = row.get("status") == "ok"
        mark = "[green]✓[/]" if ok else "[yellow]·[/]"
        # The ranking metric is only known before the end when the user chose it (--metric).
        score = f"{metric} {fmt_score((row.get('mean') or {}).get(metric))}" if metric else ""
        detail = score if ok else row.get("status", "")
        self._bar.console.print(
            f"  {mark} {row.get('model')}  {detail}  ({row.get('fit_time_s') or 0:.1f}s)",
            highlight=False,
            soft_wrap=True,
        )

    @staticmethod
    def _best(board: list[dict[str, Any]], metric: str | None) -> str:
        # The engine keeps the leaderboard ranked, so the first ok row is the best so far.
        ok = [r for r in board if r.get("status") == "ok"]
        if not ok:
            return ""
        score = f" {fmt_score((ok[0].get('mean') or {}).get(metric))}" if metric else ""
        return f"best: {ok[0]['model']}{score}"
