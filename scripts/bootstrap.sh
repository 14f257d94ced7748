#!/usr/bin/env bash
# Creates (or refreshes) the project's virtualenv at .venv so that a fresh
# clone needs nothing installed by hand. Re-installs only when pyproject.toml
# changed since the last install (a stamp file holds its hash).
# Usage: scripts/bootstrap.sh [EXTRA]   e.g. "test" for the test dependencies.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
extra="${1:-}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "wkp-emu needs Python 3.11 or newer as '$python' (set PYTHON=...)" >&2
    exit 1
fi
# One bootstrap at a time: ./wkp-emu and ./run-tests started together (or a
# test that runs ./wkp-emu) must not install into the same venv concurrently.
exec 9>"$root/.wkp-bootstrap.lock"
flock 9
stamp="$venv/.wkp-installed${extra:+-$extra}"
want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
    spec="$root"
    [ -n "$extra" ] && spec="$root[$extra]"
    "$venv/bin/python" -m pip install --quiet -e "$spec" >&2
    echo "$want" > "$stamp"
fi
