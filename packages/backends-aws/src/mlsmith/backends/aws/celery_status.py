"""Status records of Celery tasks: one small Redis hash per task id, written by both sides.

Celery results are ignored (SECURITY.md: the metadata DB is the truth), but the compute port still
has to answer ``status``/``wait``/``cancel`` for a task that runs on another machine. So the client
(``CeleryCompute.submit``/``cancel``) and the task itself (start, heartbeat, end) keep one hash per
task id, ``<prefix>task:<id>``, with a TTL refreshed on every write (bounded: nothing is kept
forever, and nothing but these few fields is stored; no result, no kwargs). Every change is one Lua
script, so the check and the write are atomic (a submit never races a start, a cancel never races
an end). Timestamps come from the Redis server clock, so client and worker clocks may differ.

Fields: ``state`` (pending, running, done, failed, cancelled), ``gen`` (submission number of this id;
a message of an older submission is ignored), ``starts`` (deliveries of this submission that began:
bounded, because a worker lost mid-task makes the broker deliver again), ``cancel`` (1 once cancel
was asked: whatever ends the task then counts as cancelled), ``beat`` (server time of the running
task's last heartbeat), ``lost_at`` (when a stopped worker handed the task back), ``error``, ``worker``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlsmith.core.errors import BackendUnavailable

LIVE = ("pending", "running")
ENDED = ("done", "failed", "cancelled")

_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1e6\n"

# KEYS[1] record; ARGV ttl. Returns the new generation, or -1 while the id is live.
_SUBMIT = (
    _NOW
    + """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'pending' or state == 'running' then return -1 end
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'state', 'pending', 'starts', 0, 'cancel', 0, 'error', '',
           'beat', '', 'lost_at', '', 'worker', '', 'submitted', tostring(now))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return gen
"""
)

# KEYS[1]; ARGV gen, max_deliveries, worker, ttl. Returns run | skip | exhausted.
_START = (
    _NOW
    + """
local r = redis.call('HMGET', KEYS[1], 'state', 'gen', 'cancel', 'starts')
if not r[1] or tonumber(r[2]) ~= tonumber(ARGV[1]) then return 'skip' end
if r[1] ~= 'pending' and r[1] ~= 'running' then return 'skip' end
if r[3] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled')
  return 'skip'
end
local starts = tonumber(r[4] or '0') + 1
redis.call('HSET', KEYS[1], 'starts', starts)
redis.call('EXPIRE', KEYS[1], ARGV[4])
if starts > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'failed', 'error',
    'the task was delivered ' .. starts .. ' times; its worker was lost every time')
  return 'exhausted'
end
redis.call('HSET', KEYS[1], 'state', 'running', 'beat', tostring(now), 'lost_at', '',
           'worker', ARGV[3])
return 'run'
"""
)

# KEYS[1]; ARGV gen, ttl. Refreshes the heartbeat of a running task of this generation; returns
# 2 when a cancel was asked (the task's fallback if the revoke broadcast never reached its worker).
_BEAT = (
    _NOW
    + """
local r = redis.call('HMGET', KEYS[1], 'state', 'gen', 'cancel')
if r[1] ~= 'running' or tonumber(r[2]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'beat', tostring(now))
redis.call('EXPIRE', KEYS[1], ARGV[2])
if r[3] == '1' then return 2 end
return 1
"""
)

# KEYS[1]; ARGV gen, state, error, ttl. Ends a live task of this generation (a cancel wins).
_END = """
local r = redis.call('HMGET', KEYS[1], 'state', 'gen', 'cancel')
if not r[1] or tonumber(r[2]) ~= tonumber(ARGV[1]) then return 0 end
if r[1] ~= 'pending' and r[1] ~= 'running' then return 0 end
local state, err = ARGV[2], ARGV[3]
if r[3] == '1' then state, err = 'cancelled', '' end
redis.call('HSET', KEYS[1], 'state', state, 'error', err)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS[1]; ARGV gen, reason, ttl. A stopping worker gives the task back to the broker.
_HAND_BACK = (
    _NOW
    + """
local r = redis.call('HMGET', KEYS[1], 'state', 'gen', 'cancel')
if r[1] ~= 'running' or tonumber(r[2]) ~= tonumber(ARGV[1]) then return 0 end
if r[3] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'error', '')
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'pending', 'lost_at', tostring(now), 'error', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
)

# KEYS[1]. Returns {'pending'|'running'|'no', gen}: a pending task ends cancelled at once.
_CANCEL = """
local r = redis.call('HMGET', KEYS[1], 'state', 'gen', 'cancel')
if r[1] ~= 'pending' and r[1] ~= 'running' then return {'no', r[2] or '0'} end
if r[3] == '1' then return {'again', r[2]} end
redis.call('HSET', KEYS[1], 'cancel', 1)
if r[1] == 'pending' then redis.call('HSET', KEYS[1], 'state', 'cancelled') end
return {r[1], r[2]}
"""


@dataclass(frozen=True, slots=True)
class Record:
    state: str
    gen: int
    error: str
    cancel: bool
    beat: float | None
    lost_at: float | None
    now: float  # the Redis server's clock when the record was read


class StatusRecords:
    def __init__(self, client: Any, prefix: str, ttl_s: int) -> None:
        self._r = client
        self._prefix = prefix
        self._ttl = int(ttl_s)
        self._scripts = {
            name: client.register_script(src)
            for name, src in {
                "submit": _SUBMIT,
                "start": _START,
                "beat": _BEAT,
                "end": _END,
                "hand_back": _HAND_BACK,
                "cancel": _CANCEL,
            }.items()
        }

    @classmethod
    def from_url(cls, url: str, prefix: str, ttl_s: int) -> StatusRecords:
        import redis

        return cls(
            redis.Redis.from_url(url, socket_timeout=10, health_check_interval=30), prefix, ttl_s
        )

    def key(self, task_id: str) -> str:
        return f"{self._prefix}task:{task_id}"

    def _call(self, name: str, task_id: str, *args: Any) -> Any:
        import redis

        try:
            return self._scripts[name](keys=[self.key(task_id)], args=list(args))
        except redis.RedisError as exc:
            raise BackendUnavailable(f"celery status store: {exc}") from exc

    def submit(self, task_id: str) -> int | None:
        """Record a new submission; its generation, or None while the id is still live."""
        gen = int(self._call("submit", task_id, self._ttl))
        return None if gen < 0 else gen

    def start(self, task_id: str, gen: int, max_deliveries: int, worker: str) -> str:
        return _text(self._call("start", task_id, gen, max_deliveries, worker, self._ttl))

    def beat(self, task_id: str, gen: int) -> str:
        """'ok', 'cancel' (a cancel was asked) or 'gone' (not this running task any more)."""
        return {1: "ok", 2: "cancel"}.get(int(self._call("beat", task_id, gen, self._ttl)), "gone")

    def end(self, task_id: str, gen: int, state: str, error: str | None) -> bool:
        return bool(self._call("end", task_id, gen, state, error or "", self._ttl))

    def hand_back(self, task_id: str, gen: int, reason: str) -> bool:
        return bool(self._call("hand_back", task_id, gen, reason, self._ttl))

    def cancel(self, task_id: str) -> tuple[str, int]:
        """Ask to cancel: ('pending' | 'running' | 'again' | 'no', generation)."""
        outcome, gen = self._call("cancel", task_id)
        return _text(outcome), int(gen or 0)

    def get(self, task_id: str) -> Record | None:
        import redis

        try:
            with self._r.pipeline(transaction=False) as pipe:
                pipe.hgetall(self.key(task_id))
                pipe.time()
                fields, (secs, micros) = pipe.execute()
        except redis.RedisError as exc:
            raise BackendUnavailable(f"celery status store: {exc}") from exc
        if not fields:
            return None
        f = {_text(k): _text(v) for k, v in fields.items()}
        return Record(
            state=f.get("state", ""),
            gen=int(f.get("gen") or 0),
            error=f.get("error", ""),
            cancel=f.get("cancel") == "1",
            beat=float(f["beat"]) if f.get("beat") else None,
            lost_at=float(f["lost_at"]) if f.get("lost_at") else None,
            now=secs + micros / 1e6,
        )

    def close(self) -> None:
        self._r.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
