"""Run the Azure Functions reference function locally: our host
(emulator.platforms.azure_host) serving wkp_functions/azure/function_app.py on
loopback, storing in Azurite (Microsoft's Azure Storage emulator, installed
by scripts/azurite-setup.sh) with its well-known development account.

    with start_azure(secret, state_dir=Path(".wkp-emu")) as az:
        az.endpoint, az.storage_endpoint, az.container

`start_azure(..., function=False)` starts Azurite alone, and
`AzureStandIn.start_worker` one host process per instance, which
emulator/platforms/worker_instances.py starts and reaps behind the front.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..standin_process import Child, ChildGroup, StandInFailed, free_port, spawn, wait_json_line, wait_port

REPO = Path(__file__).resolve().parents[3]
APP_DIR = REPO / "wkp_functions" / "azure"
HOST = "127.0.0.1"
# Azurite's development account: public, documented, the same for every Azurite
# (https://learn.microsoft.com/en-us/azure/storage/common/storage-use-azurite)
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def connection_string(blob_endpoint: str) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={blob_endpoint};")


def azurite_binary() -> str | None:
    """The project's Azurite (.tools/), else one on PATH, else None."""
    local = REPO / ".tools" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    return shutil.which("azurite-blob")


MISSING = "Azurite is not installed: run scripts/azurite-setup.sh (it needs node and npm)"


@dataclass
class AzureStandIn(ChildGroup):
    endpoint: str
    storage_endpoint: str
    container: str
    children: list[Child] = field(default_factory=list)
    secret: str = ""
    max_payload: int | None = None
    answer_limit_s: float | None = None
    state_dir: Path | None = None

    def start_worker(self, instance_id: str, tmp: Path, timeout_s: float = 60.0) -> tuple[Child, str]:
        """One instance: a host process of its own (its memory), with TMPDIR its own directory
        (its /tmp). Blocking; returns the process and its endpoint once it is ready."""
        env = function_env(self.secret, self.container, self.storage_endpoint, self.max_payload)
        env["TMPDIR"] = str(tmp)
        host = spawn(f"the Azure Functions host (instance {instance_id})",
                     host_command(0, self.answer_limit_s), Path(self.state_dir) / f"azure-function-{instance_id}.log",
                     json_line=True, cwd=REPO, env=env)
        return host, wait_json_line(host, timeout_s)["endpoint"]

    @property
    def connection_string(self) -> str:
        return connection_string(self.storage_endpoint)



def start_azurite(state_dir: Path, timeout_s: float = 60.0) -> tuple[Child, str]:
    binary = azurite_binary()
    if binary is None:
        raise StandInFailed(MISSING)
    port = free_port(HOST)
    child = spawn("Azurite", [binary, "--blobHost", HOST, "--blobPort", str(port), "--inMemoryPersistence",
                              "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose"],
                  Path(state_dir) / "azurite.log", cwd=state_dir)
    wait_port(child, HOST, port, timeout_s)
    return child, f"http://{HOST}:{port}/{DEV_ACCOUNT}"


def function_env(secret: str, container: str, storage_endpoint: str, max_payload: int | None,
                 base: dict | None = None) -> dict:
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith(("AZURE_", "AzureWebJobs", "WKP_", "WEFTKIT_"))}  # never a real account's
    env.update(PYTHONPATH=str(REPO), WKP_CONTAINER=container, WEFTKIT_PERSIST_SECRET=secret,
               WKP_STORAGE_CONNECTION=connection_string(storage_endpoint))
    if max_payload is not None:
        env["WKP_MAX_PAYLOAD"] = str(max_payload)
    return env


def host_command(port: int, answer_limit_s: float | None) -> list[str]:
    cmd = [sys.executable, "-m", "emulator.platforms.azure_host", "--app-dir", str(APP_DIR),
           "--host", HOST, "--port", str(port)]
    if answer_limit_s is not None:
        cmd += ["--timeout", str(answer_limit_s)]
    return cmd


def start_azure(secret: str, *, state_dir: Path, container: str = "wkp-emu", max_payload: int | None = None,
                port: int = 0, answer_limit_s: float | None = None, timeout_s: float = 60.0,
                function: bool = True) -> AzureStandIn:
    """Azurite (the container created) and, unless `function` is false (the instances start
    their own), one host process at `endpoint`."""
    from wkp_functions.stores.blob import BlobStore

    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    azurite, storage_endpoint = start_azurite(state_dir, timeout_s)
    standin = AzureStandIn("", storage_endpoint, container, [azurite], secret, max_payload, answer_limit_s,
                           state_dir)
    try:
        BlobStore.from_connection_string(connection_string(storage_endpoint), container).ensure_container()
        if not function:
            return standin
        host = spawn("the Azure Functions host", host_command(port, answer_limit_s), state_dir / "azure-function.log", json_line=True,
                     cwd=REPO, env=function_env(secret, container, storage_endpoint, max_payload))
        standin.children.append(host)
        standin.endpoint = wait_json_line(host, timeout_s)["endpoint"]
    except BaseException:
        standin.stop()
        raise
    return standin
