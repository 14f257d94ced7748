"""Handlers for the local Lambda host's own tests (run by awslambdaric in a runtime process)."""
from __future__ import annotations

import base64
import json
import os
import time


def echo(event, context):
    """What the runtime saw: the context from the Runtime API's headers, the event, /tmp."""
    marker = os.path.join(os.environ["TMPDIR"], "calls")
    with open(marker, "a") as f:
        f.write("x")
    with open(marker) as f:
        calls = len(f.read())
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"request_id": context.aws_request_id,
                                "arn": context.invoked_function_arn,
                                "remaining_ms": context.get_remaining_time_in_millis(),
                                "event": event, "tmp_calls": calls, "pid": os.getpid()})}


def sleep(event, context):
    time.sleep(float(event.get("queryStringParameters", {}).get("s", "5")))
    return {"statusCode": 200, "body": "slept"}


def big(event, context):
    size = int(event["queryStringParameters"]["n"])
    return {"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(b"x" * size).decode()}


def fail(event, context):
    raise RuntimeError("the handler failed on purpose")


def plain(event, context):
    return {"hello": "world"}


def crash(event, context):
    os._exit(3)  # the runtime process dies mid-invocation
