"""scripts/docker-setup.sh, as ./run-tests calls it: one line, and it never fails the run."""
from __future__ import annotations

import os
import shutil
import subprocess

from tests.support.processes import REPO

SCRIPT = REPO / "scripts" / "docker-setup.sh"


def run(**env) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT)], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_a_daemon_that_does_not_answer_is_one_line_with_the_reason_and_exit_0(tmp_path):
    done = run(DOCKER_HOST=f"unix://{tmp_path}/none.sock")
    assert done.returncode == 0 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("docker: unavailable: ")
    assert "docker tests will skip" in lines[0] and "docker-setup.log" in lines[0]


def test_with_docker_present_it_says_ready_in_one_line():
    done = run()
    lines = done.stderr.splitlines()
    assert done.returncode == 0 and len(lines) == 1 and lines[0].startswith("docker: ")
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        assert lines[0].startswith("docker: ready (")
