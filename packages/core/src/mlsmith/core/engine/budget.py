"""Wall-clock budget bookkeeping and a rough per-candidate cost model."""

from __future__ import annotations

import statistics
import time


class Budget:
    """Time left for launching work, net of what finalizing the current best will need.

    Costs are learned as "seconds per unit of candidate cost" from folds already run, so a
    candidate that clearly cannot finish is skipped instead of eating the rest of the budget.
    """

    def __init__(self, limit_s: float | None, clock=time.monotonic) -> None:
        self.limit_s = limit_s
        self._clock = clock
        self.started = clock()
        self.reserve_s = 0.0
        self._unit_seconds: list[float] = []

    @property
    def unlimited(self) -> bool:
        return self.limit_s is None

    def elapsed(self) -> float:
        return self._clock() - self.started

    def remaining(self) -> float:
        if self.limit_s is None:
            return float("inf")
        return self.limit_s - self.elapsed() - self.reserve_s

    def exhausted(self) -> bool:
        return self.remaining() <= 0

    def fraction_used(self) -> float:
        if not self.limit_s:
            return 0.0
        return min(1.0, self.elapsed() / self.limit_s)

    def observe(self, cost: float, fold_wall_s: float) -> None:
        self._unit_seconds.append(fold_wall_s / max(cost, 1e-3))

    def estimate(self, cost: float) -> float | None:
        """Estimated wall seconds of one fold batch of a candidate of this cost (None: no data)."""
        if not self._unit_seconds:
            return None
        return cost * statistics.median(self._unit_seconds)
