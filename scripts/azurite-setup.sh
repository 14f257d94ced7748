#!/usr/bin/env bash
# Installs Azurite (Microsoft's local Azure Storage emulator, from npm) into
# .tools/node_modules, for the Azure Functions stand-in (wkp-emu up --function
# azure) and its tests.
#
# Prints one line; npm's output goes to .tools/azurite-setup.log. It never
# fails: where node or npm is missing or the install fails, the line says why
# and the Azure tests skip with that reason.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
mkdir -p "$tools"
log="$tools/azurite-setup.log"
: >"$log"
say() { echo "azurite: $*" >&2; }
bin="$tools/node_modules/.bin/azurite-blob"

if [ -x "$bin" ]; then
    say "ready ($("$tools/node_modules/.bin/azurite" --version 2>>"$log" || echo installed))"
    exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "unavailable: node and npm are needed to install it (Azure tests will skip)"
    exit 0
fi
[ -f "$tools/package.json" ] || echo '{"name": "wkp-emu-tools", "private": true}' >"$tools/package.json"
echo "# npm install azurite" >>"$log"
if (cd "$tools" && npm install --no-audit --no-fund --loglevel=error --fetch-timeout=60000 --fetch-retries=1 azurite) >>"$log" 2>&1 && [ -x "$bin" ]; then
    say "installed ($("$tools/node_modules/.bin/azurite" --version 2>>"$log" || echo ok))"
else
    say "unavailable: npm install azurite failed (Azure tests will skip; log $log)"
fi
exit 0
