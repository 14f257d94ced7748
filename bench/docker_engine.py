"""The docker backend's costs, each beside the process backend measured in the same run.

- engine start to ready: a container engine (DockerBackend.start: fresh named
  volume, container create and start, the engine's ready line) against a
  process engine (ProcessBackend.start: fresh volume directory, the child's
  ready line); median of --starts, persistence disabled so only the pod's own
  start is timed;
- per-engine memory once ready and idle: the RSS of the containerised engine
  (its processes seen from the host) and its container's cgroup memory, against
  the RSS of the process engine;
- image build: first (every layer from scratch: debootstrap, the wheelhouse,
  the project's wheel; with --cold), the top layer alone (after a source
  change), and a cached `ensure_image` (nothing to do), as ratios of the first.

    python bench/docker_engine.py [--starts 5] [--kind relational] [--cold]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from emulator.containers.image import build_image, docker_client  # noqa: E402
from emulator.supervisor.backends import PodSpec  # noqa: E402
from emulator.supervisor.backends.docker import DockerBackend  # noqa: E402
from emulator.supervisor.backends.process import ProcessBackend  # noqa: E402

MiB = 1024 * 1024
ENV = {"WEFTKIT_PERSIST_MODE": "disabled"}


def spec(root: Path, kind: str, generation: int) -> PodSpec:
    return PodSpec(f"{kind}-1", kind, generation, 0, ENV, root / "witness" / f"{kind}-1",
                   root / "logs" / f"{kind}-1.log", wipe=True, stop_grace_s=10)


def tree_rss(pid: int) -> int:
    """RSS of a process and its descendants (a container: docker-init, the engine)."""
    try:
        top = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [top, *top.children(recursive=True)])
    except psutil.Error:
        return 0


def cgroup_memory(client, container_id: str) -> int:
    stats = client.api.stats(container_id, stream=False)
    usage = stats.get("memory_stats", {})
    detail = usage.get("stats", {})  # as `docker stats` reports it: minus inactive page cache
    cache = detail.get("inactive_file", detail.get("total_inactive_file", 0))
    return max(0, usage.get("usage", 0) - cache)


async def starts(backend, root: Path, kind: str, n: int, client=None) -> tuple[list[float], list[int], list[int]]:
    times, rss, cgroup = [], [], []
    for generation in range(1, n + 1):
        t0 = time.perf_counter()
        pod = await backend.start(spec(root, kind, generation))
        times.append(time.perf_counter() - t0)
        await asyncio.sleep(2)  # idle a moment: imports settled, the first requests' buffers not
        rss.append(tree_rss(pod.pid) if pod.pid else 0)
        if client is not None:
            cgroup.append(await asyncio.to_thread(cgroup_memory, client, pod.id))
        await pod.stop(10)
    return times, rss, cgroup


async def measure(args) -> None:
    client = docker_client()
    with tempfile.TemporaryDirectory(prefix="wkp-bench-docker-") as tmp:
        root = Path(tmp)
        process = ProcessBackend(root / "p")
        docker = DockerBackend(root / "d", keep_volumes=False, client=client, progress=lambda m: None)
        await docker.prepare()
        try:
            p_times, p_rss, _ = await starts(process, root / "p", args.kind, args.starts)
            d_times, d_rss, d_cgroup = await starts(docker, root / "d", args.kind, args.starts, client)
        finally:
            await docker.close()
    p, d = statistics.median(p_times), statistics.median(d_times)
    print(f"engine start to ready ({args.kind}, median of {args.starts}): process {p:.2f} s, "
          f"container {d:.2f} s, ratio {d / p:.2f}x")
    pr, dr, dc = (statistics.median(x) / MiB for x in (p_rss, d_rss, d_cgroup))
    print(f"engine memory idle ({args.kind}): process rss {pr:.1f} MiB, container rss {dr:.1f} MiB "
          f"({dr / pr:.2f}x), container cgroup {dc:.1f} MiB ({dc / pr:.2f}x)")


def image_builds(args) -> None:
    client = docker_client()
    first = None
    if args.cold:
        report = build_image(client, from_scratch=True)
        first = report.seconds
        steps = ", ".join(f"{s.name} {s.seconds:.1f} s" for s in report.steps)
        print(f"image build first (from scratch): {first:.1f} s ({steps})")
    top = build_image(client, rebuild=True).seconds
    t0 = time.perf_counter()
    cached = build_image(client)
    cached_s = time.perf_counter() - t0
    assert not cached.built, "a build right after a build found something to do"
    base = f", {top / first:.3f}x of the first" if first else ""
    print(f"image build top layer (the project's wheel, after a source change): {top:.1f} s{base}")
    base = f", {cached_s / first:.5f}x of the first" if first else f", {cached_s / top:.3f}x of the top layer"
    print(f"image build cached (ensure_image, nothing to do): {cached_s:.2f} s{base}")
    size = client.images.get(cached.tag).attrs["Size"] / MiB
    print(f"image size: {cached.tag} {size:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--kind", default="relational")
    ap.add_argument("--cold", action="store_true", help="also time a from-scratch build (minutes)")
    args = ap.parse_args()
    image_builds(args)
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
