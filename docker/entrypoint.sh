#!/bin/sh
# mlsmith container entrypoint (POSIX sh).
#
# 1. Makes sure MLSMITH_DATA_DIR exists (default /data in the image, a named volume in compose).
# 2. When secrets use the local Fernet key file (MLSMITH_SECRETS_URL unset/empty, or fernet-file://...),
#    creates that key inside the data volume on first start -- mode 0600 in a 0700 folder, written to
#    a temp file and linked into place atomically, by the local secrets adapter's own helper, so the
#    format is exactly what the adapter reads -- and reuses it on every later start. Losing this file
#    means losing every secret encrypted with it: back the volume up.
# 3. Brings the database schema up to date (`mlsmith migrate`, idempotent).
# 4. Replaces itself with `mlsmith "$@"` (default CMD: serve --host 0.0.0.0), so signals reach it.
#
# Works outside a container too (the deploy tests run it against a temp dir): it only needs
# `mlsmith` on PATH, and uses the Python next to it (override with MLSMITH_PYTHON).
set -eu
umask 077

log() { printf 'entrypoint: %s\n' "$*" >&2; }

: "${MLSMITH_DATA_DIR:=.mlsmith}"
export MLSMITH_DATA_DIR
mkdir -p "$MLSMITH_DATA_DIR"
data_dir=$(cd "$MLSMITH_DATA_DIR" && pwd -P)

if ! mlsmith_bin=$(command -v mlsmith); then
    log "mlsmith is not on PATH"
    exit 127
fi
python_bin=${MLSMITH_PYTHON:-$(dirname "$mlsmith_bin")/python}

secrets_url=${MLSMITH_SECRETS_URL:-}
key_file=
case $secrets_url in
    "") key_file=$data_dir/.secrets/fernet.key ;;  # the Settings default
    [Ff][Ee][Rr][Nn][Ee][Tt]-[Ff][Ii][Ll][Ee]://*) key_file=${secrets_url#*://} ;;
    *) ;;  # kms:// and friends: no local key
esac

if [ -n "$key_file" ]; then
    case $key_file in
        /*) ;;
        *)
            log "MLSMITH_SECRETS_URL needs an absolute key path: fernet-file:///path/to/fernet.key"
            exit 64
            ;;
    esac
    if [ -e "$key_file" ]; then
        state=reusing
    else
        state=created
    fi
    # load_or_create_key reads and validates an existing key, or creates it atomically (mkstemp 0600
    # + fsync + link; a concurrent start that loses the race reads the winner's key). It never
    # prints the key; an invalid file fails with one line that does not quote it.
    "$python_bin" - "$key_file" <<'PY'
import sys
from pathlib import Path

from mlsmith.backends.local.secrets import load_or_create_key
from mlsmith.core.errors import ConfigError

try:
    load_or_create_key(Path(sys.argv[1]))
except ConfigError as exc:
    sys.exit(f"entrypoint: {exc}")
PY
    log "$state Fernet key file $key_file"
fi

"$mlsmith_bin" migrate
exec "$mlsmith_bin" "$@"
