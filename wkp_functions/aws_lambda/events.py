"""Function URL events (payload format 2.0) in, responses out. Pure.

A Function URL hands the function an event with the method in
requestContext.http.method, the path in rawPath, the query as sent in
rawQueryString, headers lower-cased (repeated ones joined with commas), and
the body as text or base64 (isBase64Encoded). A buffered answer is a dict
(statusCode, headers, body, isBase64Encoded); a streamed one starts with a
JSON prelude (statusCode, headers, cookies) and eight NUL bytes, then the
body (the application/vnd.awslambda.http-integration-response content type).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Mapping

STREAM_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_SEPARATOR = b"\x00" * 8


class BadEvent(ValueError):
    """An event that is not a Function URL (payload 2.0) HTTP request."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


def request_from_event(event) -> HttpRequest:
    if not isinstance(event, dict) or event.get("version") != "2.0":
        raise BadEvent("not a payload format 2.0 event (a Function URL invokes with version 2.0)")
    try:
        method = event["requestContext"]["http"]["method"]
        path = event["rawPath"]
    except (KeyError, TypeError):
        raise BadEvent("the event has no requestContext.http.method or rawPath") from None
    body = event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except (ValueError, TypeError, AttributeError):
        raise BadEvent("the event's body is not valid base64 (isBase64Encoded is true)") from None
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return HttpRequest(method, path, event.get("rawQueryString") or "", headers, raw)


def buffered_response(status: int, headers: Mapping[str, str], body: bytes) -> dict:
    """The dict a handler returns: the body always base64, since WKP-1 bodies are bytes."""
    return {"statusCode": status, "headers": dict(headers),
            "body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


def streaming_prelude(status: int, headers: Mapping[str, str]) -> bytes:
    """What a streamed response starts with, before the body's first byte."""
    return json.dumps({"statusCode": status, "headers": dict(headers), "cookies": []}).encode() \
        + PRELUDE_SEPARATOR
