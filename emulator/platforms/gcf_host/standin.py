"""Run the Cloud Functions reference function locally: the real
functions-framework serving wkp_functions/gcf/main.py on loopback, storing in
a local GCS (gcs_emulator.py) through STORAGE_EMULATOR_HOST.

    with start_gcf(secret, state_dir=Path(".wkp-emu")) as gcf:
        gcf.endpoint          # http://127.0.0.1:PORT, the function
        gcf.storage_endpoint  # the GCS emulator (bucket gcf.bucket)

What functions-framework gives is the request handling of Cloud Functions'
Python runtime (Flask behind gunicorn, one process, threads); the platform
around it is not in it. Its instances are: `start_gcf(..., function=False)`
starts the store alone, and `GcfStandIn.start_worker` one functions-framework
process per instance, which emulator/platforms/worker_instances.py starts and
reaps behind the front (emulator/platforms/front.py). No request limit in front
(the function's own WKP_MAX_PAYLOAD refuses larger bodies with 413), no IAM.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..standin_process import Child, ChildGroup, spawn, free_port, wait_json_line, wait_port

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "wkp_functions" / "gcf" / "main.py"
TARGET = "wkp"
HOST = "127.0.0.1"


@dataclass
class GcfStandIn(ChildGroup):
    endpoint: str
    storage_endpoint: str
    bucket: str
    children: list[Child] = field(default_factory=list)
    secret: str = ""
    max_payload: int | None = None
    state_dir: Path | None = None

    def start_worker(self, instance_id: str, tmp: Path, timeout_s: float = 60.0) -> tuple[Child, str]:
        """One instance: a functions-framework process of its own (its memory), with TMPDIR its
        own directory (its /tmp). Blocking; returns the process and its endpoint once it listens."""
        port = free_port(HOST)
        env = function_env(self.secret, self.bucket, self.storage_endpoint, self.max_payload)
        env["TMPDIR"] = str(tmp)
        fn = spawn(f"functions-framework (instance {instance_id})",
                   [sys.executable, "-m", "functions_framework", "--target", TARGET, "--source", str(SOURCE),
                    "--host", HOST, "--port", str(port)],
                   Path(self.state_dir) / f"gcf-function-{instance_id}.log", cwd=REPO, env=env)
        wait_port(fn, HOST, port, timeout_s)
        return fn, f"http://{HOST}:{port}"



def function_env(secret: str, bucket: str, storage_endpoint: str, max_payload: int | None,
                 base: dict | None = None) -> dict:
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith(("GOOGLE_", "CLOUDSDK_", "WKP_", "WEFTKIT_"))}  # never a real project's
    env.update(PYTHONPATH=str(REPO), WKP_BUCKET=bucket, WEFTKIT_PERSIST_SECRET=secret,
               STORAGE_EMULATOR_HOST=storage_endpoint, THREADS=env.get("THREADS", "8"))
    if max_payload is not None:
        env["WKP_MAX_PAYLOAD"] = str(max_payload)
    return env


def start_gcf(secret: str, *, state_dir: Path, bucket: str = "wkp-emu", max_payload: int | None = None,
              port: int = 0, timeout_s: float = 60.0, function: bool = True) -> GcfStandIn:
    """The GCS emulator and, unless `function` is false (the instances start their own),
    one functions-framework process at `endpoint`."""
    state_dir = Path(state_dir)
    store = spawn("the GCS emulator",
                  [sys.executable, "-m", "emulator.platforms.gcf_host.gcs_emulator", "--host", HOST,
                   "--port", "0", "--bucket", bucket],
                  state_dir / "gcs-emulator.log", json_line=True, cwd=REPO,
                  env={**os.environ, "PYTHONPATH": str(REPO)})
    standin = GcfStandIn("", "", bucket, [store], secret, max_payload, state_dir)
    try:
        storage_endpoint = wait_json_line(store, timeout_s)["endpoint"]
        if not function:
            standin.storage_endpoint = storage_endpoint
            return standin
        port = port or free_port(HOST)
        fn = spawn("functions-framework",
                   [sys.executable, "-m", "functions_framework", "--target", TARGET, "--source", str(SOURCE),
                    "--host", HOST, "--port", str(port)],
                   state_dir / "gcf-function.log", cwd=REPO,
                   env=function_env(secret, bucket, storage_endpoint, max_payload))
        standin.children.append(fn)
        wait_port(fn, HOST, port, timeout_s)
    except BaseException:
        standin.stop()
        raise
    standin.endpoint, standin.storage_endpoint = f"http://{HOST}:{port}", storage_endpoint
    return standin
