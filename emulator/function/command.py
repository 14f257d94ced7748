"""`wkp-emu function`: the WKP-1 function (and an embedded moto S3) in the foreground.

Without --s3-endpoint the embedded store runs in a child process of this one
(store/moto_server.py): its own interpreter lock, its output in a log file,
and it dies with this process even on SIGKILL.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
import sys
from pathlib import Path

from emulator.protocol.function_rules import DEFAULT_MAX_PAYLOAD, Limits
from emulator.store.moto_server import BUCKET, EmbeddedS3, StoreFailed

from emulator.platforms.profiles import FUNCTION_PROFILES, function_profile, fit_report

from .config import FunctionConfig, apply_profile


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("function", help="run the WKP-1 function on an S3 store",
                              description="Run the WKP-1 function (POST /persist, GET /restore, "
                              "GET /health). Without --s3-endpoint an embedded moto S3 server is "
                              "started on loopback, in a process of its own. Prints one JSON line "
                              "when ready.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787, help="0 picks a free port (default 8787)")
    p.add_argument("--secret", help="HMAC secret; generated and printed when omitted")
    p.add_argument("--max-payload", type=_positive, default=DEFAULT_MAX_PAYLOAD, metavar="BYTES",
                   help="largest compressed body accepted (default 100 MiB)")
    p.add_argument("--max-inflight", type=_positive, default=256, metavar="N",
                   help="concurrent requests before 429 (default 256)")
    p.add_argument("--s3-endpoint", metavar="URL", help="use this S3-compatible store instead of moto")
    p.add_argument("--bucket", default=BUCKET)
    p.add_argument("--s3-port", type=int, default=0, help="port of the embedded moto (default: free)")
    p.add_argument("--s3-log", type=Path, metavar="FILE",
                   help="keep the embedded moto's output in FILE (default: an unnamed "
                   "temporary file, quoted only if the store fails to start)")
    p.add_argument("--async", dest="async_storage", action="store_true",
                   help="answer 202 once verified and store in the background")
    p.add_argument("--no-splice", dest="splice", action="store_false",
                   help="relay restores through Python instead of splicing sockets in the kernel")
    p.add_argument("--takeover-lease", type=float, default=120.0, metavar="SECONDS")
    g = p.add_argument_group("instances and platform (docs/functions.md)")
    g.add_argument("--profile", choices=list(FUNCTION_PROFILES),
                   help="run behind that platform's limits and instance model (request and response "
                   "sizes, streamed rate, timeout, concurrency, cold start, keep-alive)")
    g.add_argument("--instances-max", type=_positive, metavar="N",
                   help="instances at most; all busy at N: 429 (default 4, of which more than one only "
                   "when a request asks for a new one; or the profile's)")
    g.add_argument("--instance-concurrency", type=_positive, metavar="N",
                   help="requests one instance serves at once (default --max-inflight, or the profile's)")
    g.add_argument("--keep-alive", type=_seconds, metavar="SECONDS",
                   help="reap an instance idle this long (default never, or the profile's)")
    g.add_argument("--cold-start-ms", type=_non_negative, metavar="MS",
                   help="a new instance serves after this delay (default 0, or the profile's median)")
    g.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                   help="the platform answers 502 to a request still running then (default: the profile's)")
    g.add_argument("--instances-dir", type=Path, metavar="DIR",
                   help="each instance's /tmp is a directory under DIR (default: a temporary directory)")
    p.add_argument("--log-level", default="WARNING")
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise ValueError(text)
    return value


_seconds.__name__ = "positive number of seconds"  # argparse: "invalid positive number of seconds value"


def run(args) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0
    except StoreFailed as exc:
        print(f"wkp-emu function: {exc}", file=sys.stderr)
        return 1


async def _serve(args) -> int:
    secret = args.secret or secrets.token_urlsafe(32)
    s3 = None
    if args.s3_endpoint is None:  # blocks a second or two, before anything is served
        s3 = EmbeddedS3(args.host, args.s3_port, log_path=args.s3_log).start()
    endpoint = args.s3_endpoint or s3.endpoint
    limits, instances, platform = apply_profile(
        args.profile, limits=Limits(max_payload=args.max_payload, max_inflight=args.max_inflight),
        instances={"instances_max": args.instances_max, "instance_concurrency": args.instance_concurrency,
                   "keep_alive_s": args.keep_alive, "cold_start_ms": args.cold_start_ms},
        timeout_s=args.timeout)
    config = FunctionConfig(secret=secret, s3_endpoint=endpoint, bucket=args.bucket, limits=limits,
                            async_storage=args.async_storage, splice=args.splice,
                            takeover_lease_s=args.takeover_lease, instances=instances, platform=platform,
                            instances_dir=str(args.instances_dir) if args.instances_dir else None)
    if args.profile:  # before anything is deployed: what this platform means for big pushes and restores
        for line in fit_report(function_profile(args.profile)):
            print(line, file=sys.stderr, flush=True)
    from .runner import start_function  # here, not at the top: the app and S3 client cost a second to import
    try:                                 # and every `wkp-emu` command (each engine pod's) registers this module
        running = await start_function(config, args.host, args.port, s3)
    except BaseException:
        if s3:
            await asyncio.to_thread(s3.stop)
        raise
    ready = {"endpoint": running.endpoint, "s3_endpoint": endpoint, "bucket": args.bucket,
             "secret": secret, "max_payload": limits.max_payload}
    if args.profile:
        ready["profile"] = args.profile
    print(json.dumps(ready), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.stop()
    return 0
