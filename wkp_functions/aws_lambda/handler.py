"""handler(event, context): the function on Lambda's managed Python runtime.

The managed runtime sends the handler's return value as one buffered
response, which Lambda refuses over 6 MB (the Function URL then answers
502). A restore that large cannot come back from here: deploy with the
streaming bootstrap (bootstrap.py) for that; this entry point stays for
functions that only ever restore small chains, and is what the bootstrap's
buffered fallback and the tests under awslambdaric run.
"""
from __future__ import annotations

import json
import logging

from emulator.protocol.errors import ProtocolError

from ..core import error_reply
from .events import BadEvent, buffered_response, request_from_event
from .setup import core_from_env

log = logging.getLogger("wkp.functions.lambda")
_core = None  # the warm instance's core: built on the first invocation, kept while warm


def _instance():
    global _core
    if _core is None:
        _core = core_from_env()
    return _core


def handler(event, context):
    try:
        request = request_from_event(event)
    except BadEvent as exc:
        return {"statusCode": 400, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": "BadEvent", "reason": str(exc)})}
    reply = _instance().handle(request.method, request.path, request.headers, request.body,
                               query=request.query)
    try:
        body = reply.body_bytes()  # a restore is read from the store here
    except ProtocolError as exc:  # the store failed: nothing was sent yet, so say so
        reply = error_reply(exc)
        body = reply.body
    return buffered_response(reply.status, reply.headers, body)
