#!/usr/bin/env bash
# Makes docker usable for the docker tests (the docker backend, the engine image,
# compose files): installs Debian's docker.io, docker-compose and debootstrap
# when missing, and starts dockerd when no daemon answers.
#
# Prints one line; the details go to .venv/docker-setup.log. It never fails:
# where docker cannot run (no apt, no root, dockerd refuses to start), the line
# says why and the docker tests skip with that reason.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$root/.venv"
log="$root/.venv/docker-setup.log"
: >"$log"

say() { echo "docker: $*" >&2; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
    else echo "not root and no password-less sudo: cannot run $*" >>"$log"; return 1
    fi
}
daemon_answers() { docker info >>"$log" 2>&1; }

missing=()
command -v docker >/dev/null || missing+=(docker.io)
command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
note=""
if [ ${#missing[@]} -gt 0 ]; then
    pkgs="$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//')"
    echo "# apt-get install $pkgs" >>"$log"
    if ! command -v apt-get >/dev/null; then
        note="$pkgs missing and no apt-get to install them"
    elif ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
             as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs; } >>"$log" 2>&1; then
        note="installing $pkgs failed"
    fi
fi

if daemon_answers; then
    say "ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo dockerd))${note:+; $note (log $log)}"
    exit 0
fi
if [ -n "$note" ] && ! command -v docker >/dev/null; then
    say "unavailable: $note (docker tests will skip; log $log)"
    exit 0
fi
if [ -n "${DOCKER_HOST:-}" ]; then
    say "unavailable: DOCKER_HOST=$DOCKER_HOST does not answer (docker tests will skip; log $log)"
    exit 0
fi
# No daemon: start one (as a service where there is an init that manages it, else by hand).
echo "# starting dockerd" >>"$log"
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    as_root systemctl start docker >>"$log" 2>&1
elif command -v service >/dev/null && [ -x /etc/init.d/docker ]; then
    as_root service docker start >>"$log" 2>&1
fi
if ! daemon_answers; then
    as_root sh -c "nohup dockerd --host unix:///var/run/docker.sock >>'$root/.venv/dockerd.log' 2>&1 &" >>"$log" 2>&1
fi
for _ in $(seq 60); do
    if daemon_answers; then
        say "started dockerd ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
        exit 0
    fi
    sleep 0.5
done
reason="$(tail -n 1 "$root/.venv/dockerd.log" 2>/dev/null | cut -c1-160)"
say "unavailable: dockerd did not start${reason:+: $reason} (docker tests will skip; log $log)"
exit 0
