"""The `wkp-emu package --target gcf` entry: the Cloud Functions bundle is
main.py at its root (Cloud Functions' Python runtime imports main.py and calls
the entry point named by --entry-point), re-exporting the function from its
package, with requirements.txt and the README of wkp_functions/gcf."""
from __future__ import annotations

from pathlib import Path

from ..package_command import REPO_ROOT, PackageTarget

SOURCE = REPO_ROOT / "wkp_functions" / "gcf"

MAIN = '''"""Cloud Functions imports main.py from the source root; the function is wkp_functions.gcf.main.wkp."""
from wkp_functions.gcf.main import wkp  # noqa: F401  (entry point: wkp)
'''


def _files(out: Path) -> None:
    (out / "main.py").write_text(MAIN)


def _requirements() -> tuple[str, ...]:
    return tuple(line for line in (SOURCE / "requirements.txt").read_text().splitlines() if line.strip())


GCF = PackageTarget(name="gcf", entry_modules=("wkp_functions.gcf.main",), requirements=_requirements(),
                    extra_files=_files, readme=(SOURCE / "README.md").read_text(),
                    default_dir="wkp-function-gcf")
