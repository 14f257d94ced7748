"""The `wkp-emu package --target azure` entry: the Azure Functions bundle is
function_app.py at its root (the Python v2 model's worker imports it and finds
the FunctionApp), re-exporting the app from its package, with host.json,
requirements.txt and the README of wkp_functions/azure."""
from __future__ import annotations

import shutil
from pathlib import Path

from ..package_command import REPO_ROOT, PackageTarget

SOURCE = REPO_ROOT / "wkp_functions" / "azure"

FUNCTION_APP = '''"""The v2 model's worker imports function_app.py from the app root; the app is
wkp_functions.azure.function_app.app."""
from wkp_functions.azure.function_app import app  # noqa: F401
'''

FUNCIGNORE = ".venv\n__pycache__\n*.pyc\nlocal.settings.json\n"


def _files(out: Path) -> None:
    (out / "function_app.py").write_text(FUNCTION_APP)
    shutil.copyfile(SOURCE / "host.json", out / "host.json")
    (out / ".funcignore").write_text(FUNCIGNORE)


def _requirements() -> tuple[str, ...]:
    return tuple(line for line in (SOURCE / "requirements.txt").read_text().splitlines() if line.strip())


AZURE = PackageTarget(name="azure", entry_modules=("wkp_functions.azure.function_app",),
                      requirements=_requirements(), extra_files=_files,
                      readme=(SOURCE / "README.md").read_text(), default_dir="wkp-function-azure")
