"""The engine image `wkp-emu/engine:<version>`, built from local files only.

No image registry is reachable, so nothing is pulled. The image is three
layers, each its own image so that each is cached on its own:

1. `wkp-emu/rootfs:bookworm` - a minimal Debian root filesystem with python3,
   made by debootstrap from the Debian mirror (the same mirror apt uses) and
   brought in with `docker import`. Built once per machine.
2. `wkp-emu/engine-deps:<digest>` - a venv at /opt/wkp-emu with the
   project's dependencies, installed offline from a wheelhouse that pip
   downloads on the host (for the image's platform: CPython 3.11, glibc 2.36)
   at the versions installed here. The digest covers the requirements, the
   pinned versions and the platform, so it is rebuilt only when they change.
3. `wkp-emu/engine:<version>` - the project's wheel (built from this source
   tree) installed on top, entrypoint `wkp-emu`. It carries the digest of the
   source it was built from (label `wkp-emu.source`): `ensure_image` rebuilds
   this layer (seconds) when the source changed, so a container never runs
   older code than the supervisor that starts it.

Layers 2 and 3 are made by running a container of the layer below with the
wheels bind-mounted read-only and committing it, so no wheel is copied into a
layer and no network is used inside the build. The wheels are mounted as a
host-config mount, not as a container volume: a volume would be committed into
the image as a `VOLUME`, and every container of the image would then get an
anonymous volume that nothing removes. Layers 2 and 3 carry the build recipe
(label `wkp-emu.recipe`); one built by another recipe, or declaring a volume,
is never reused but built again.

Why debootstrap and not a root filesystem copied from the host: the host's
Python may be a pyenv or distribution build linked against whatever the host
has; a debootstrapped Debian is a known, self-consistent system whose python3
matches the wheels' platform, and the same on every machine.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

IMAGE_REPOSITORY = "wkp-emu/engine"
ROOTFS_REPOSITORY = "wkp-emu/rootfs"
DEPS_REPOSITORY = "wkp-emu/engine-deps"
SUITE = "bookworm"                # Debian 12: python3 is CPython 3.11, glibc 2.36
IMAGE_PYTHON = "3.11"
IMAGE_GLIBC_MINOR = 36
PACKAGES = ("python3", "python3-venv", "ca-certificates")
VENV = "/opt/wkp-emu"
WORKDIR = "/var/lib/wkp-emu"      # world-writable: containers run as the caller's uid
DEFAULT_MIRROR = "http://deb.debian.org/debian"
LABEL_ROLE = "wkp-emu.image"
LABEL_SOURCE = "wkp-emu.source"
LABEL_VERSION = "wkp-emu.version"
LABEL_RECIPE = "wkp-emu.recipe"
# How layers 2 and 3 are made. Bumped when a change to the build makes images built before it wrong,
# so that every machine rebuilds them: 2 = the build inputs are no longer committed as VOLUMEs.
RECIPE = "2"
# Source that goes into the wheel (pyproject's packages) and decides the image's digest.
SOURCE_FILES = ("pyproject.toml", "README.md")


class ImageError(RuntimeError):
    """The image could not be built; the message says what failed and where its log is."""


@dataclass(frozen=True)
class Step:
    name: str        # rootfs | deps | engine
    tag: str
    seconds: float
    cached: bool     # already there: nothing was built


@dataclass
class BuildReport:
    tag: str
    steps: list[Step] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def built(self) -> bool:
        return any(not s.cached for s in self.steps)


def cache_dir() -> Path:
    """Where the wheelhouse, the build log and the build lock live."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wkp-emu"


def build_log() -> Path:
    return cache_dir() / "image-build.log"


def source_root() -> Path:
    """The source tree the image is built from: a clone of this repository."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise ImageError(f"the engine image is built from a source checkout; no pyproject.toml in {root}")
    return root


def package_version(root: Path | None = None) -> str:
    root = root or source_root()
    with (root / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def image_tag(root: Path | None = None) -> str:
    return f"{IMAGE_REPOSITORY}:{package_version(root)}"


def source_packages(root: Path) -> tuple[str, ...]:
    """The top-level packages pyproject.toml puts in the wheel (its packages.find include list), so that a
    package added there is in the image too, and a change to it makes the image stale."""
    with (root / "pyproject.toml").open("rb") as f:
        found = tomllib.load(f).get("tool", {}).get("setuptools", {}).get("packages", {}).get("find", {})
    include = found.get("include") if isinstance(found, dict) else None
    if not include:  # setuptools' own default: every top-level package
        return tuple(sorted(p.parent.name for p in root.glob("*/__init__.py")))
    return tuple(sorted({pattern.rstrip("*").split(".")[0] for pattern in include}))


def _source_files(root: Path):
    for name in SOURCE_FILES:
        if (root / name).is_file():
            yield root / name
    for package in source_packages(root):
        base = root / package
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def source_digest(root: Path | None = None) -> str:
    """sha256 over the relative path and content of every file that goes into the wheel."""
    root = root or source_root()
    h = hashlib.sha256()
    for path in _source_files(root):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def requirements(root: Path | None = None) -> list[str]:
    root = root or source_root()
    with (root / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def _machine() -> str:
    machine = os.uname().machine
    return {"arm64": "aarch64", "amd64": "x86_64"}.get(machine, machine)


def wheel_platforms() -> list[str]:
    """Every manylinux tag the image's glibc accepts (pip does not widen --platform itself)."""
    m = _machine()
    tags = [f"manylinux_2_{minor}_{m}" for minor in range(IMAGE_GLIBC_MINOR, 4, -1)]
    if m in ("x86_64", "i686"):
        tags += [f"manylinux2014_{m}", f"manylinux2010_{m}", f"manylinux1_{m}"]
    else:
        tags += [f"manylinux2014_{m}"]
    return tags


def _constraints() -> str:
    """The versions installed here (what `pip freeze` lists), so the image runs what the tests ran."""
    from importlib.metadata import distributions
    pins = {}
    for dist in distributions():
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"] or "").lower()  # PEP 503 names
        if name and name not in ("wkp-emu", "pip", "setuptools", "wheel"):
            pins[name] = f"{name}=={dist.version}"
    return "".join(line + "\n" for _, line in sorted(pins.items()))


def deps_digest(reqs: list[str], constraints: str) -> str:
    h = hashlib.sha256()
    for part in (SUITE, IMAGE_PYTHON, *wheel_platforms(), *reqs, constraints):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def docker_client(client=None):
    if client is not None:
        return client
    import docker
    try:
        c = docker.from_env()
        c.ping()
        return c
    except Exception as exc:  # DockerException, connection refused, permission denied
        raise ImageError(f"cannot reach the docker daemon ({exc}); start dockerd "
                         f"(scripts/docker-setup.sh does) or set DOCKER_HOST") from None


def _image(client, tag: str):
    import docker
    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


@contextlib.contextmanager
def _build_lock():
    """One build at a time on this machine (tests and `up` may ask at once)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / "image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _run_logged(cmd: list[str], log: Path, what: str, **kw) -> None:
    with log.open("a") as f:
        f.write(f"\n# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {' '.join(cmd)}\n")
        f.flush()
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, **kw).returncode
    if code != 0:
        raise ImageError(f"{what} failed (exit {code}): {_tail(log)}; full log: {log}")


def _tail(log: Path, lines: int = 3) -> str:
    try:
        kept = [x.strip() for x in log.read_text(errors="replace").splitlines() if x.strip()]
    except OSError:
        return ""
    return " | ".join(kept[-lines:])


def _privileged(cmd: list[str]) -> list[str]:
    """debootstrap and tar of a root filesystem need root: sudo -n when we are not."""
    if os.geteuid() == 0:
        return cmd
    if shutil.which("sudo"):
        return ["sudo", "-n", *cmd]
    raise ImageError(f"building the root filesystem needs root ({cmd[0]}); run `wkp-emu image build` as root once")


def _build_rootfs(client, tag: str, log: Path) -> None:
    debootstrap = shutil.which("debootstrap") or next(
        (p for p in ("/usr/sbin/debootstrap", "/sbin/debootstrap") if os.path.exists(p)), None)
    if not debootstrap:
        raise ImageError("debootstrap is not installed (apt-get install debootstrap; "
                         "scripts/docker-setup.sh installs it)")
    mirror = os.environ.get("WKP_EMU_DEBIAN_MIRROR") or DEFAULT_MIRROR
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir()))
    target, tarball = work / "rootfs", work / "rootfs.tar"
    try:
        _run_logged(_privileged([debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}",
                                 SUITE, str(target), mirror]), log, f"debootstrap {SUITE} from {mirror}")
        # Package caches are not needed in an image that never runs apt.
        _run_logged(_privileged(["sh", "-c", f"rm -rf {target}/var/cache/apt/archives/*.deb "
                                             f"{target}/var/lib/apt/lists/*"]), log, "cleaning the rootfs")
        _run_logged(_privileged(["tar", "--numeric-owner", "-C", str(target), "-cf", str(tarball), "."]),
                    log, "packing the rootfs")
        repository, _, version = tag.partition(":")
        client.api.import_image_from_file(
            str(tarball), repository=repository, tag=version,
            changes=["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     f"LABEL {LABEL_ROLE}=rootfs"])
        if _image(client, tag) is None:
            raise ImageError(f"docker import of {tarball} did not create {tag}")
    finally:
        subprocess.run(_privileged(["rm", "-rf", str(work)]), capture_output=True)


def _wheelhouse(reqs: list[str], constraints: str, digest: str, log: Path) -> Path:
    """The dependencies as wheels for the image's platform, downloaded once per digest."""
    house = cache_dir() / "wheels" / digest[:16]
    if (house / ".complete").exists():
        return house
    if house.exists():
        shutil.rmtree(house)
    house.mkdir(parents=True)
    (house / "constraints.txt").write_text(constraints)
    (house / "requirements.txt").write_text("".join(r + "\n" for r in reqs))
    cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--disable-pip-version-check",
           "--python-version", IMAGE_PYTHON, "--implementation", "cp",
           "--abi", "cp" + IMAGE_PYTHON.replace(".", ""), "--abi", "abi3", "--abi", "none",
           "-c", str(house / "constraints.txt"), "-r", str(house / "requirements.txt"), "-d", str(house)]
    for platform in wheel_platforms():
        cmd += ["--platform", platform]
    _run_logged(cmd, log, "downloading the dependencies' wheels (pip download)")
    (house / ".complete").write_text(digest)
    return house


def reusable(config: dict) -> bool:
    """May a cached deps or engine image (its Config, as docker inspects it) be used as it is?
    Only if this recipe built it: an image that declares volumes (the recipe before 2 did)
    gives every container anonymous volumes that `down` leaves behind."""
    return (config.get("Labels") or {}).get(LABEL_RECIPE) == RECIPE and not config.get("Volumes")


def _reusable(image) -> bool:
    return image is not None and reusable(image.attrs.get("Config") or {})


def _run_and_commit(client, base: str, script: str, tag: str, *, inputs: tuple[Path, str], changes: list[str],
                    log: Path, what: str) -> None:
    """Run `script` in a container of `base` (no network) with the host directory `inputs[0]`
    mounted read-only at `inputs[1]`, commit the result as `tag`.

    A mount (HostConfig.Mounts), not `volumes=`: the SDK also lists a volume's path in the
    container's Config.Volumes, which `commit` would keep as a VOLUME of the image."""
    from docker.types import Mount
    source, target = inputs
    container = client.containers.create(
        base, ["sh", "-ec", script], mounts=[Mount(target, str(source), type="bind", read_only=True)],
        network_mode="none", labels={LABEL_ROLE: "build"}, user="0:0", entrypoint=[])
    try:
        container.start()
        code = container.wait().get("StatusCode", 1)
        output = container.logs().decode(errors="replace")
        with log.open("a") as f:
            f.write(f"\n# {what}: {script}\n{output}")
        if code != 0:
            raise ImageError(f"{what} failed (exit {code}): {_tail(log)}; full log: {log}")
        repository, _, version = tag.partition(":")
        container.commit(repository=repository, tag=version, changes=changes)
    finally:
        with contextlib.suppress(Exception):
            container.remove(force=True, v=True)


def _build_deps(client, base: str, tag: str, house: Path, log: Path) -> None:
    script = (f"python3 -m venv {VENV}\n"
              f"{VENV}/bin/pip install --no-index --disable-pip-version-check --find-links /wheels "
              f"-c /wheels/constraints.txt -r /wheels/requirements.txt\n"
              f"mkdir -p {WORKDIR} && chmod 1777 {WORKDIR}\n")
    _run_and_commit(client, base, script, tag, inputs=(house, "/wheels"),
                    changes=[f"LABEL {LABEL_ROLE}=deps", f"LABEL {LABEL_RECIPE}={RECIPE}"],
                    log=log, what="installing the dependencies")


def _project_wheel(root: Path, out: Path, log: Path) -> Path:
    """The project's wheel, built from a copy of the source (the shared tree gets no build/)."""
    src = out / "src"
    src.mkdir()
    for name in SOURCE_FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, src / name)
    for package in source_packages(root):
        if (root / package).is_dir():
            shutil.copytree(root / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run_logged([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                 "-w", str(out / "dist"), str(src)], log, "building the project's wheel (pip wheel)")
    wheels = sorted((out / "dist").glob("wkp_emu-*.whl"))
    if not wheels:
        raise ImageError(f"pip wheel made no wkp_emu wheel; full log: {log}")
    return wheels[-1]


def _build_engine(client, base: str, tag: str, root: Path, digest: str, log: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="engine-", dir=cache_dir()) as tmp:
        wheel = _project_wheel(root, Path(tmp), log)
        script = (f"{VENV}/bin/pip install --no-index --no-deps --disable-pip-version-check "
                  f"/dist/{wheel.name}\n")
        changes = [f"ENV PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "ENV HOME=/tmp", "ENV PYTHONUNBUFFERED=1", "ENV PYTHONDONTWRITEBYTECODE=1",
                   f"WORKDIR {WORKDIR}", 'ENTRYPOINT ["wkp-emu"]', 'CMD ["--help"]',
                   f"LABEL {LABEL_ROLE}=engine", f"LABEL {LABEL_SOURCE}={digest}",
                   f"LABEL {LABEL_VERSION}={package_version(root)}", f"LABEL {LABEL_RECIPE}={RECIPE}"]
        _run_and_commit(client, base, script, tag, inputs=(wheel.parent, "/dist"),
                        changes=changes, log=log, what="installing the project's wheel")


def _timed(report: BuildReport, name: str, tag: str, cached: bool, build: Callable[[], None],
           progress: Callable[[str], None] | None) -> None:
    if cached:
        report.steps.append(Step(name, tag, 0.0, True))
        return
    if progress:
        progress(f"building {tag} ({_WHAT[name]})")
    t0 = time.monotonic()
    build()
    report.steps.append(Step(name, tag, time.monotonic() - t0, False))


_WHAT = {"rootfs": f"debootstrap {SUITE} + docker import, once per machine",
         "deps": "the dependencies' wheels into a venv",
         "engine": "the project's wheel"}


def build_image(client=None, *, rebuild: bool = False, from_scratch: bool = False,
                progress: Callable[[str], None] | None = None) -> BuildReport:
    """Build what is missing or stale. `rebuild`: the engine layer even if current;
    `from_scratch`: every layer (a new rootfs, a new wheelhouse)."""
    client = docker_client(client)
    root = source_root()
    tag = image_tag(root)
    report = BuildReport(tag)
    log = build_log()
    with _build_lock():
        rootfs = f"{ROOTFS_REPOSITORY}:{SUITE}"
        _timed(report, "rootfs", rootfs, not from_scratch and _image(client, rootfs) is not None,
               lambda: _build_rootfs(client, rootfs, log), progress)
        reqs, constraints = requirements(root), _constraints()
        digest = deps_digest(reqs, constraints)
        deps = f"{DEPS_REPOSITORY}:{digest[:12]}"

        def make_deps():
            if from_scratch:
                shutil.rmtree(cache_dir() / "wheels" / digest[:16], ignore_errors=True)
            _build_deps(client, rootfs, deps, _wheelhouse(reqs, constraints, digest, log), log)
        _timed(report, "deps", deps, not from_scratch and _reusable(_image(client, deps)), make_deps, progress)
        source = source_digest(root)
        current = _image(client, tag)
        fresh = (_reusable(current) and current.labels.get(LABEL_SOURCE) == source
                 and _parent_is(client, current, deps))
        _timed(report, "engine", tag, fresh and not (rebuild or from_scratch),
               lambda: _build_engine(client, deps, tag, root, source, log), progress)
        if report.built:
            _tidy(client, deps)
    return report


def _parent_is(client, image, deps_tag: str) -> bool:
    """Was `image` built on the current dependencies image? (its history contains it)"""
    deps = _image(client, deps_tag)
    if deps is None:
        return False
    return any(layer.get("Id") == deps.id for layer in image.history())


def _tidy(client, deps_tag: str) -> None:
    """Images a rebuild replaced go, so disk use stays bounded: older dependency layers and
    untagged wkp-emu images. Docker keeps any that a container (even a stopped one) still uses."""
    for image in client.images.list(name=DEPS_REPOSITORY):
        for tag in image.tags:
            if tag != deps_tag:
                with contextlib.suppress(Exception):
                    client.images.remove(tag)
    for _ in range(2):  # a replaced deps image is dangling only once the engine image on it is gone
        with contextlib.suppress(Exception):
            client.images.prune(filters={"dangling": True, "label": LABEL_ROLE})


def ensure_image(client=None, *, rebuild: bool = False,
                 progress: Callable[[str], None] | None = None) -> str:
    """The engine image's tag, building it (or its stale top layer) from local files when needed."""
    return build_image(client, rebuild=rebuild, progress=progress).tag
