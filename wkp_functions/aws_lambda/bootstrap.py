"""A Lambda custom runtime in Python that streams responses: `python -m wkp_functions.aws_lambda.bootstrap`.

Lambda's managed Python runtime only returns buffered responses (6 MB at
most); response streaming is open to any runtime that speaks the Runtime
API's streaming mode itself. This loop does: it asks for the next
invocation, hands the Function URL event to the core, and posts the answer
as a chunked body with `Lambda-Runtime-Function-Response-Mode: streaming`,
starting with the http-integration-response prelude (status and headers,
then eight NUL bytes). A restore goes out chunk by chunk as it is read from
S3, up to the 200 MB a streamed response may carry.

A failure before the first byte is posted to .../error; one after it (the
store failing in the middle of a restore) cuts the stream short, so the
client sees a body shorter than its Content-Length and retries, rather than
a truncated restore taken for a whole one. An environment that cannot build
the function is reported to /init/error, and the process exits.
"""
from __future__ import annotations

import http.client
import itertools
import json
import logging
import os
import sys
import traceback

from emulator.protocol.errors import ProtocolError

from ..core import error_reply
from .events import STREAM_CONTENT_TYPE, BadEvent, request_from_event, streaming_prelude
from .setup import SetupError, core_from_env

API = "/2018-06-01/runtime"
log = logging.getLogger("wkp.functions.lambda")


class RuntimeApi:
    """The Runtime API at AWS_LAMBDA_RUNTIME_API (host:port), over plain HTTP/1.1."""

    def __init__(self, address: str):
        self.address = address

    def _connect(self, timeout: float | None = None) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.address, timeout=timeout)

    def _post(self, path: str, body: bytes, headers: dict) -> int:
        conn = self._connect(30)
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def next(self) -> tuple[str, dict]:
        """Block until the next invocation: (request id, event)."""
        conn = self._connect()  # a long poll: no timeout
        try:
            conn.request("GET", f"{API}/invocation/next")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"invocation/next answered {resp.status}: {body[:200]!r}")
            return resp.getheader("Lambda-Runtime-Aws-Request-Id"), json.loads(body)
        finally:
            conn.close()

    def error(self, path: str, exc: BaseException) -> None:
        payload = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                   "stackTrace": traceback.format_exception(exc)[-5:]}
        self._post(path, json.dumps(payload).encode(),
                   {"Content-Type": "application/json",
                    "Lambda-Runtime-Function-Error-Type": f"Runtime.{type(exc).__name__}"})

    def stream(self, request_id: str, status: int, headers: dict, chunks) -> int:
        """Post a streamed response; returns the Runtime API's status. If `chunks`
        raises, the connection is cut before the last chunk and the error re-raised."""
        conn = self._connect(60)
        try:
            conn.putrequest("POST", f"{API}/invocation/{request_id}/response", skip_accept_encoding=True)
            conn.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
            conn.putheader("Transfer-Encoding", "chunked")
            conn.putheader("Content-Type", STREAM_CONTENT_TYPE)
            conn.endheaders()
            conn.send(_chunk(streaming_prelude(status, headers)))
            try:
                for chunk in chunks:
                    if chunk:
                        conn.send(_chunk(chunk))
            except BaseException:
                conn.sock.close()  # no last chunk: the host fails the invocation
                raise
            conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()


def _started(chunks):
    iterator = iter(chunks)
    first = next(iterator, b"")
    return itertools.chain([first], iterator)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def serve_one(api: RuntimeApi, core) -> None:
    request_id, event = api.next()
    try:
        request = request_from_event(event)
        reply = core.handle(request.method, request.path, request.headers, request.body,
                            query=request.query)
    except BadEvent as exc:
        api.stream(request_id, 400, {"Content-Type": "application/json"},
                   [json.dumps({"error": "BadEvent", "reason": str(exc)}).encode()])
        return
    except Exception as exc:  # the core answers protocol errors itself; this is a bug or a crash
        log.exception("invocation %s failed", request_id)
        api.error(f"{API}/invocation/{request_id}/error", exc)
        return
    body = [reply.body]
    if reply.streamed:
        try:  # the first chunk before the status goes out: a store failing at once still gets its 503
            body = _started(reply.body)
        except ProtocolError as exc:
            reply = error_reply(exc)
            body = [reply.body]
    try:
        api.stream(request_id, reply.status, reply.headers, body)
    except Exception:
        log.exception("invocation %s: the response stream failed", request_id)


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        print("AWS_LAMBDA_RUNTIME_API is not set: this runs inside Lambda (or the local Lambda host)",
              file=sys.stderr)
        return 2
    api = RuntimeApi(address)
    try:
        core = core_from_env()
    except (SetupError, ValueError) as exc:
        api.error(f"{API}/init/error", exc)
        print(f"init failed: {exc}", file=sys.stderr)
        return 1
    while True:
        serve_one(api, core)


if __name__ == "__main__":
    sys.exit(main())
