"""The AutoML engine: pure pandas / numpy / scikit-learn (+ LightGBM when installed).

Knows nothing of storage, HTTP or the database: callers pass a DataFrame and a ``TrainConfig`` and
get an ``AutoMLResult`` back, with progress reported through ``on_event``.
"""

from mlsmith.core.engine.metrics import available_metrics, default_metric, higher_is_better
from mlsmith.core.engine.predict import predict_frame
from mlsmith.core.engine.search import fit_automl
from mlsmith.core.engine.types import AutoMLResult, EngineEvent, LeaderboardRow, TrainConfig

__all__ = [
    "AutoMLResult",
    "EngineEvent",
    "LeaderboardRow",
    "TrainConfig",
    "available_metrics",
    "default_metric",
    "fit_automl",
    "higher_is_better",
    "predict_frame",
]
