"""Login throttling: failed attempts per account and per client address in a sliding window.

The state is **per process** (a dict in memory, one per ``Backends``): N server processes allow up
to N times the configured failures, and a restart forgets them. That bounds online guessing well
enough next to argon2's cost; a shared store (the DB, Redis) would make the bound global.

Unknown accounts are counted exactly like known ones, so throttling reveals nothing either.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable

from mlsmith.core.errors import Throttled

MAX_TRACKED = 100_000  # keys kept at most; beyond it the stalest are dropped (memory bound)


class LoginThrottle:
    def __init__(
        self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures, self.window_s, self._clock = max_failures, window_s, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        """Throttled (with ``retry_after_s``) when any key has too many recent failures."""
        with self._lock:
            now = self._clock()
            wait = max((self._wait(k, now) for k in keys), default=0.0)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise Throttled(
                f"too many failed sign-in attempts; try again in {retry} s", retry_after_s=retry
            )

    def failure(self, *keys: str) -> None:
        with self._lock:
            now = self._clock()
            for k in keys:
                self._recent(k, now).append(now)
            if len(self._failures) > MAX_TRACKED:
                self._prune(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def _wait(self, key: str, now: float) -> float:
        q = self._recent(key, now)
        if len(q) < self.max_failures:
            if not q:
                self._failures.pop(key, None)
            return 0.0
        # Allowed again once enough failures have left the window.
        return q[-self.max_failures] + self.window_s - now

    def _prune(self, now: float) -> None:
        for k in list(self._failures):
            if not self._recent(k, now):
                del self._failures[k]
        excess = len(self._failures) - MAX_TRACKED
        if excess > 0:
            stalest = sorted(self._failures, key=lambda k: self._failures[k][-1])[:excess]
            for k in stalest:
                del self._failures[k]


_registry: weakref.WeakKeyDictionary[object, LoginThrottle] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def for_backends(backends) -> LoginThrottle:
    """The throttle of this process for these backends (keyed by the metadata store)."""
    s = backends.settings
    with _registry_lock:
        throttle = _registry.get(backends.metadata)
        if throttle is None:
            throttle = LoginThrottle(s.login_max_failures, s.login_window_s)
            _registry[backends.metadata] = throttle
        return throttle


def account_key(email: str) -> str:
    return f"account:{email}"


def client_key(client: str) -> str:
    return f"client:{client}"
