#!/usr/bin/env bash
# Creates (or refreshes) the project's virtualenv at .venv so that a fresh
# clone needs nothing installed by hand. Re-installs only when pyproject.toml
# changed since the last install (a stamp file holds its hash).
# Usage: scripts/bootstrap.sh [EXTRA]   e.g. "test" for the test dependencies.
#
# The installer's output goes to .venv/bootstrap.log, not to the terminal: the
# user sees one "setting up" line. If the install fails, the log's last lines
# and its path are printed and the script exits non-zero.
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
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
    exit 0
fi

failed() {  # $1: what failed, $2: its log
    echo "wkp-emu: $1 failed; the last lines of its log:" >&2
    tail -n 25 "$2" | sed 's/^/    /' >&2
    echo "wkp-emu: full log: $2" >&2
    exit 1
}

if [ ! -x "$venv/bin/python" ]; then
    what="setting up .venv${extra:+ with the $extra dependencies} (the first run takes a minute or two)"
elif [ ! -f "$stamp" ]; then
    what="installing the ${extra:+$extra }dependencies into .venv"
else
    what="refreshing .venv${extra:+ with the $extra dependencies} (pyproject.toml changed)"
fi
echo "wkp-emu: $what ..." >&2
if [ ! -x "$venv/bin/python" ]; then
    venv_log="$(mktemp)"
    "$python" -m venv "$venv" >"$venv_log" 2>&1 || failed "creating $venv" "$venv_log"
    rm -f "$venv_log"
fi
log="$venv/bootstrap.log"
spec="$root"
[ -n "$extra" ] && spec="$root[$extra]"
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) pip install -e $spec"
    "$venv/bin/python" -m pip install --upgrade pip &&
        "$venv/bin/python" -m pip install -e "$spec"
} >"$log" 2>&1 || failed "installing the dependencies" "$log"
echo "$want" > "$stamp"
