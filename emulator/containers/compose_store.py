"""`wkp-emu store`: the emulator's S3 store (moto) on its own, keeping its objects in a directory.

The store service of the files `wkp-emu compose` writes, and usable alone:

    wkp-emu store --port 18700 --data-dir wkp-emu-store

moto keeps objects in memory only, so the store loads `DIR/store/` (one file
per object, plus its metadata; the same archive `wkp-emu up` keeps in its
state directory) into the bucket before it reports ready, and writes the whole
bucket back there when SIGTERM or SIGINT stops it. The write is atomic (a new
archive is swapped in only once complete), so a failed one leaves the previous
archive whole. What was stored after the last clean stop is lost if the store
is killed with SIGKILL.

Readiness is announced twice, both after the archive is loaded: one JSON line
on stdout, and `--ready-file` created (a compose healthcheck tests for it; a
restore answered before the load would find nothing and let an engine boot
empty over its own lineage). The ready file is removed again when it stops.
"""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from emulator.store.moto_server import BUCKET, EmbeddedS3, StoreFailed


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("store", help="run the emulator's S3 store (moto), kept in a directory",
                              description="Run the emulator's S3 store (moto) on loopback. With "
                              "--data-dir its objects are loaded from DIR/store at start and written "
                              "back when it stops (SIGTERM or Ctrl-C). Prints one JSON line when ready.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--bucket", default=BUCKET, help=f"created if missing (default {BUCKET})")
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help="keep the objects in DIR/store across restarts (default: memory only)")
    p.add_argument("--ready-file", type=Path, metavar="PATH",
                   help="created once the store is loaded and serving, removed when it stops")
    p.add_argument("--log-level", default="WARNING")
    p.set_defaults(func=run)


def _say(message: str) -> None:
    print(f"wkp-emu store: {message}", file=sys.stderr, flush=True)


def run(args) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.ready_file:
        args.ready_file.unlink(missing_ok=True)  # a restarted container keeps its /tmp
    if args.data_dir and args.data_dir.exists() and not args.data_dir.is_dir():
        _say(f"--data-dir {args.data_dir} is not a directory")
        return 2
    try:  # from the main thread: the child's death signal is tied to the thread that starts it
        s3 = EmbeddedS3(args.host, args.port).start()
    except StoreFailed as exc:
        _say(str(exc))
        return 1
    try:
        return asyncio.run(_serve(args, s3.endpoint))
    except KeyboardInterrupt:
        return 0
    finally:
        if args.ready_file:
            args.ready_file.unlink(missing_ok=True)
        s3.stop()


async def _serve(args, endpoint: str) -> int:
    from emulator.store.interface import StoreUnavailable
    from emulator.store.s3 import S3Store
    from emulator.supervisor.store_archive import ARCHIVE, export_store, import_store

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with S3Store(endpoint, args.bucket) as store:
        await store.ensure_bucket()
        try:
            loaded = await import_store(store, args.data_dir) if args.data_dir else 0
        except (OSError, ValueError, StoreUnavailable) as exc:  # ValueError: a metadata file that is not JSON
            _say(f"could not load the objects in {args.data_dir / ARCHIVE}: {exc}")
            return 1
        if args.ready_file:
            args.ready_file.parent.mkdir(parents=True, exist_ok=True)
            args.ready_file.touch()
        print(json.dumps({"endpoint": endpoint, "bucket": args.bucket, "loaded": loaded,
                          "data_dir": str(args.data_dir) if args.data_dir else None}), flush=True)
        await stop.wait()
        if args.ready_file:
            args.ready_file.unlink(missing_ok=True)
        if not args.data_dir:
            return 0
        try:
            args.data_dir.mkdir(parents=True, exist_ok=True)
            saved = await export_store(store, args.data_dir)
        except (OSError, StoreUnavailable) as exc:
            _say(f"could not write the objects to {args.data_dir / ARCHIVE}: {exc}; "
                 "the previous archive is kept")
            return 1
        _say(f"{saved} objects written to {args.data_dir / ARCHIVE}")
        return 0
