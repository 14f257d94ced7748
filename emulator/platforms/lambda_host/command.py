"""`wkp-emu lambda-host`: the Lambda reference function on the local Lambda host, in the foreground.

Without --s3-endpoint an embedded moto S3 runs beside it. Prints one JSON
line when ready (the Function URL's endpoint, the store, the secret), like
`wkp-emu function`, so the conformance kit and engines can be pointed at it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
import sys

from emulator.store.moto_server import BUCKET, EmbeddedS3, StoreFailed
from emulator.function.command import _seconds  # the function's own seconds flag

from .host import HostSettingsError
from .runtimes import RUNTIMES
from .serving import DEFAULT_MAX_PAYLOAD, LambdaFunctionSettings, start_lambda_function


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "lambda-host", help="run the Lambda reference function on a local Lambda (Function URL)",
        description="Run the WKP-1 Lambda function (wkp_functions.aws_lambda) in runtime processes "
        "behind a local Function URL and Lambda Runtime API, storing in S3 (an embedded moto unless "
        "--s3-endpoint). Prints one JSON line when ready.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_count(0), default=0, help="the Function URL's port (default: free)")
    p.add_argument("--secret", help="HMAC secret; generated and printed when omitted")
    p.add_argument("--runtime", choices=list(RUNTIMES), default="bootstrap",
                   help="bootstrap: the function's streaming custom runtime (default); awslambdaric: "
                   "the managed Python runtime's client, buffered responses only (6 MB)")
    p.add_argument("--max-payload", type=_count(1), default=DEFAULT_MAX_PAYLOAD, metavar="BYTES",
                   help="the function's largest body (WKP_MAX_PAYLOAD; default 4 MiB)")
    p.add_argument("--timeout", type=_seconds, default=900.0, metavar="SECONDS",
                   help="the function's timeout (default 900, Lambda's largest)")
    p.add_argument("--instances-max", type=_count(1), default=10, metavar="N",
                   help="concurrent instances; all busy at N: 429 (default 10)")
    p.add_argument("--keep-alive", type=_seconds, default=600.0, metavar="SECONDS",
                   help="reap an instance idle this long (default 600)")
    p.add_argument("--paced", action="store_true",
                   help="stream responses at Lambda's rate: 6 MB at full speed, then 2 MB/s")
    p.add_argument("--s3-endpoint", metavar="URL", help="use this S3-compatible store instead of moto")
    p.add_argument("--bucket", default=BUCKET)
    p.add_argument("--log-level", default="WARNING")
    p.set_defaults(func=run)


def _count(minimum: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise ValueError(text)
        return value
    parse.__name__ = f"integer (at least {minimum})"
    return parse



def run(args) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0
    except (StoreFailed, HostSettingsError) as exc:
        print(f"wkp-emu lambda-host: {exc}", file=sys.stderr)
        return 1


async def _serve(args) -> int:
    secret = args.secret or secrets.token_urlsafe(32)
    s3 = None
    if args.s3_endpoint is None:
        s3 = await asyncio.to_thread(lambda: EmbeddedS3(args.host, 0).start())
    endpoint = args.s3_endpoint or s3.endpoint
    try:
        host = await start_lambda_function(LambdaFunctionSettings(
            secret=secret, s3_endpoint=endpoint, bucket=args.bucket, runtime=args.runtime,
            max_payload=args.max_payload, timeout_s=args.timeout, instances_max=args.instances_max,
            keep_alive_s=args.keep_alive, paced=args.paced), args.host, args.port)
    except BaseException:
        if s3:
            await asyncio.to_thread(s3.stop)
        raise
    print(json.dumps({"endpoint": host.endpoint, "s3_endpoint": endpoint, "bucket": args.bucket,
                      "secret": secret, "max_payload": args.max_payload, "runtime": args.runtime}),
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await host.stop()
    if s3:
        await asyncio.to_thread(s3.stop)
    return 0
