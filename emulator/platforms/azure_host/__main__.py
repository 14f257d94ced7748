"""python -m emulator.platforms.azure_host --app-dir DIR [--port 0] [--timeout 230]

Serves a Python v2 programming model app on loopback and prints one JSON line
when ready ({"endpoint": ...}); SIGTERM stops it. The app's settings are its
environment variables, as application settings are on Azure."""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from .host import ANSWER_LIMIT_S, REQUEST_LIMIT, AppLoadError, AzureHost, HostSettings


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be positive")
        return value
    return parse


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.platforms.azure_host",
                                     description="a local host for Azure Functions Python v2 apps")
    parser.add_argument("--app-dir", type=Path, required=True, help="the directory of function_app.py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--timeout", type=_positive(float), default=ANSWER_LIMIT_S,
                        help=f"the HTTP answer limit, seconds (default {ANSWER_LIMIT_S:g}, Azure's)")
    parser.add_argument("--request-limit", type=_positive(int), default=REQUEST_LIMIT,
                        help=f"largest request body, bytes (default {REQUEST_LIMIT}, Azure's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        host = AzureHost(args.app_dir, HostSettings(request_limit=args.request_limit,
                                                    answer_limit_s=args.timeout))
    except AppLoadError as exc:
        print(f"azure host: {exc}", file=sys.stderr)
        return 2
    address, port = host.serve(args.host, args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(json.dumps({"endpoint": f"http://{address}:{port}",
                      "functions": [f.name for f in host.functions]}), flush=True)
    stop.wait()
    host.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
