"""Keeping the embedded store across `down`/`up`: export to the state dir, import back.

Export writes every object (bytes plus a JSON sidecar of its metadata) into a
fresh temporary directory beside the archive, fsyncs, and only then swaps it
in with renames, so an export that fails midway (disk full, a crash) leaves
the previous archive whole. Import uploads the archive into the empty
embedded bucket before the function opens for requests.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

ARCHIVE = "store"
_META = ".meta.json"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def export_store(store, state_dir: Path) -> int:
    """Write the whole bucket to state_dir/store; how many objects."""
    final = state_dir / ARCHIVE
    tmp = state_dir / f"{ARCHIVE}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    count = 0
    try:
        for info in await store.list(""):
            target = tmp / info.key
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as f:
                async for chunk in store.stream(info.key):
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            head = await store.head(info.key)
            (target.parent / (target.name + _META)).write_text(
                json.dumps(dict(head.metadata) if head else {}))
            count += 1
        _fsync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = state_dir / f"{ARCHIVE}.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    _fsync_dir(state_dir)
    shutil.rmtree(old, ignore_errors=True)
    return count


def _chunks(path: Path):
    async def gen():
        with path.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                yield chunk
    return gen()


async def import_store(store, state_dir: Path) -> int:
    """Upload state_dir/store into the bucket; how many objects."""
    root = state_dir / ARCHIVE
    if not root.is_dir():
        return 0
    count = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.endswith(_META):
            continue
        key = path.relative_to(root).as_posix()
        meta_path = path.parent / (path.name + _META)
        metadata = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        await store.put_stream(key, _chunks(path), metadata)
        count += 1
    return count
