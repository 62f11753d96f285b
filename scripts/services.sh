#!/usr/bin/env bash
# Start the local services the tests use when they are installed but not running.
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

ensure_postgres() {
  pg_up && return 0
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_up && return 0; sleep 1; done
  fi
  echo "warning: PostgreSQL is not reachable on 127.0.0.1:5432; its tests fail under CI=true" >&2
}
