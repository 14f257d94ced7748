"""The embedded store's own process: moto's S3 served by werkzeug on loopback.

    python -m emulator.store.moto_process --host 127.0.0.1 --port 0 --parent-pid PID

Why a process of its own: moto is pure Python. Run in a thread of the
function's process, the store and the function share one interpreter lock, and
every PUT or GET the function relays competes with the function's own work
(docs/benchmarks.md has the figures). EmbeddedS3 (moto_server.py) owns this
process; this module is only its body.

Protocol with the owner: one JSON line on stdout once the socket is bound
(`{"endpoint": ..., "port": ...}`), then stdout is pointed at stderr (the
owner's log file), so nothing else ever goes down the ready pipe. SIGTERM stops
it; SIGINT is ignored, because a Ctrl-C in the terminal reaches the whole
process group and the owner still needs the store after it (`up` flushes the
engines and exports the store before it stops it).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m emulator.store.moto_process")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 lets the OS pick a free port")
    p.add_argument("--parent-pid", type=int, default=0,
                   help="exit at once if this is no longer our parent (it died before "
                   "the death signal was armed)")
    p.add_argument("--request-log", action="store_true", help="log every request (werkzeug)")
    return p.parse_args(argv)


def _stop(signum, frame):
    raise SystemExit(0)  # unwinds serve_forever in the main thread


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.parent_pid and os.getppid() != args.parent_pid:
        return 3
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # One log line per request costs the store CPU on every PUT; warnings still show.
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.request_log else logging.WARNING)
    from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                               create_backend_app)
    from werkzeug.serving import make_server
    server = make_server(args.host, args.port, DomainDispatcherApplication(create_backend_app),
                         threaded=True, request_handler=MotoRequestHandler)
    host, port = server.server_address[:2]
    print(json.dumps({"endpoint": f"http://{host}:{port}", "port": port, "pid": os.getpid()}),
          flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
