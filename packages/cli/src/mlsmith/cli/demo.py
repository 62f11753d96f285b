"""``mlsmith demo``: train -> promote -> predict on a bundled real dataset (breast cancer)."""

from __future__ import annotations

from typing import Annotated

import typer

from mlsmith.cli.backend import Embedded
from mlsmith.cli.context import state
from mlsmith.cli.output import console, print_warning
from mlsmith.cli.train import report_run
from mlsmith.cli.views import version_line

MODEL_NAME = "breast-cancer"
ALIAS = "champion"
HOLDOUT_FRACTION = 0.2
# sklearn codes the diagnosis 0/1; readable labels give readable proba_<class> columns.
LABELS = {0: "malignant", 1: "benign"}


def demo(
    ctx: typer.Context,
    time_budget: Annotated[
        float, typer.Option("--time-budget", help="Seconds for the model search.")
    ] = 20.0,
    seed: Annotated[int, typer.Option(help="Seed of the hold-out split and the run.")] = 0,
) -> None:
    """Train on scikit-learn's breast cancer data, promote the best, predict held-out rows."""
    from sklearn.datasets import load_breast_cancer

    from mlsmith.core.services import datasets, prediction, registry, training

    st = state(ctx)
    demo_dir = st.settings.data_dir.expanduser() / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)

    df = load_breast_cancer(as_frame=True).frame
    df["target"] = df["target"].map(LABELS)
    # Rows the run never sees, so the accuracy printed at the end is an honest estimate.
    holdout = df.sample(frac=HOLDOUT_FRACTION, random_state=seed)
    train_path = demo_dir / "breast_cancer_train.csv"
    df.drop(index=holdout.index).to_csv(train_path, index=False)

    console.print(
        f"[bold]1/3 train[/] on {train_path} ({len(df) - len(holdout)} rows; "
        f"{len(holdout)} held out), time budget {time_budget:g}s",
        highlight=False,
        soft_wrap=True,
    )
    ds = datasets.ingest_file(st.backends, st.scope, train_path)
    run = training.start_run(
        st.backends, st.scope, ds.id, "target", time_budget_s=time_budget, seed=seed
    )
    run = Embedded(st).watch(run.id)  # the demo is embedded by nature
    report_run(run, as_json=False, hint=False)

    console.print(f"\n[bold]2/3 promote[/] run {run.id}", highlight=False, soft_wrap=True)
    rv = registry.promote(st.backends, st.scope, run.id, MODEL_NAME, alias=ALIAS)
    console.print(version_line(rv), highlight=False, soft_wrap=True)

    console.print(f"\n[bold]3/3 predict[/] {len(holdout)} held-out rows with {MODEL_NAME}@{ALIAS}")
    features = holdout.drop(columns=["target"])
    result, warnings, _ = prediction.predict(
        st.backends, st.scope, f"{MODEL_NAME}@{ALIAS}", features
    )
    for warning in warnings:
        print_warning(warning)
    out = st.settings.data_dir.expanduser() / "demo_predictions.csv"
    result.to_csv(out, index=False)
    console.print(_head_table(result))
    accuracy = float((result["prediction"].to_numpy() == holdout["target"].to_numpy()).mean())
    console.print(f"predictions: {out.resolve()}", highlight=False, soft_wrap=True)
    console.print(
        f"held-out accuracy: [bold]{accuracy:.3f}[/] on {len(holdout)} rows", highlight=False
    )


def _head_table(frame, n: int = 5):
    from rich.table import Table

    table = Table(title=f"first {n} predictions", title_justify="left")
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for row in frame.head(n).itertuples(index=False):
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    return table
