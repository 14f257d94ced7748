"""Runtime processes: one per instance, started cold, stopped when reaped.

Two runtimes, a table so another is one entry:
- `bootstrap`: the function's own custom runtime (wkp_functions.aws_lambda.bootstrap),
  which streams responses;
- `awslambdaric`: Lambda's real runtime interface client (`python -m awslambdaric
  module.function`), the managed Python runtime's loop, buffered responses only;
- `bundle`: the `bootstrap` script of a bundle written by `wkp-emu package
  --target lambda`, run from the bundle's directory (the task root), exactly as
  Lambda runs it.

Each process gets the variables Lambda sets (AWS_LAMBDA_RUNTIME_API pointing
at its own Runtime API endpoint, _HANDLER, AWS_LAMBDA_FUNCTION_NAME, ...), the
function's own variables, and a /tmp of its own (TMPDIR), which lives and
dies with the instance. It runs in a session of its own, so stopping it stops
anything it started.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
HANDLER = "wkp_functions.aws_lambda.handler.handler"

RUNTIMES = {
    "bootstrap": lambda handler, root: [sys.executable, "-m", "wkp_functions.aws_lambda.bootstrap"],
    "awslambdaric": lambda handler, root: [sys.executable, "-m", "awslambdaric", handler],
    # a packaged bundle's own `bootstrap` script, run as Lambda runs it (its python3 is this one)
    "bundle": lambda handler, root: [str(Path(root) / "bootstrap")],
}


@dataclass
class RuntimeProcess:
    instance_id: str
    process: asyncio.subprocess.Process
    tmp: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    async def stop(self, grace_s: float = 2.0) -> None:
        if self.process.returncode is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace_s)
            except asyncio.TimeoutError:
                _signal_group(self.process.pid, signal.SIGKILL)
                await self.process.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def start_runtime(runtime: str, *, instance_id: str, api_address: str, function_name: str,
                        handler: str, env: dict, timeout_s: float, memory_mb: int, region: str,
                        work_dir: Path, task_root: Path = REPO_ROOT) -> RuntimeProcess:
    tmp = work_dir / instance_id / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / instance_id / "runtime.log"
    pythonpath = str(task_root)  # the function sees its own code, as in Lambda
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")])
    child_env = {
        "PATH": path, "HOME": str(tmp.parent), "LANG": "C.UTF-8",
        "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp),
        "AWS_LAMBDA_RUNTIME_API": api_address, "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": function_name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb), "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(timeout_s)),
        "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        **env,
    }
    with open(log_path, "ab") as log:
        process = await asyncio.create_subprocess_exec(
            *RUNTIMES[runtime](handler, task_root), cwd=str(task_root), env=child_env, stdin=asyncio.subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True)
    return RuntimeProcess(instance_id, process, tmp, log_path)
