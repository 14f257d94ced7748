"""What a Function URL does around the function: its event in, the HTTP answer out. Pure.

Documented shapes (docs/functions.md gives the sources): the event is
payload format 2.0 (rawPath, rawQueryString, headers lower-cased with
repeated ones joined by commas, requestContext.http, the body base64 unless
it is text); a buffered result that is a dict with statusCode is the
response (headers, body, isBase64Encoded, cookies), anything else is a 200
application/json whose body is the result; a streamed result starts with a
JSON prelude (statusCode, headers, cookies) and eight NUL bytes.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Iterable

PRELUDE_SEPARATOR = b"\x00" * 8
STREAM_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
MAX_PRELUDE = 64 * 1024  # a prelude longer than this is not one (the host stops looking)
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")

# Lambda's own answer to an event over the request limit, as the Invoke API words it.
REQUEST_TOO_LARGE = "Request must be smaller than {limit} bytes for the InvokeFunction operation"


@dataclass(frozen=True)
class UrlResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class BadResult(ValueError):
    """The function's result cannot be read as a Function URL response (502)."""


def _is_text(content_type: str) -> bool:
    return any(content_type.lower().startswith(t) for t in _TEXT_TYPES)


def event_for(*, method: str, path: str, query: str, headers: Iterable[tuple[str, str]], body: bytes,
              request_id: str, url_id: str, account: str, source_ip: str,
              now: float | None = None) -> dict:
    joined: dict[str, str] = {}
    cookies = []
    for name, value in headers:
        low = name.lower()
        if low == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        joined[low] = f"{joined[low]},{value}" if low in joined else value
    text = _is_text(joined.get("content-type", "")) if body else True
    if text:
        try:
            encoded, b64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text = False
    if not text:
        encoded, b64 = base64.b64encode(body).decode("ascii"), True
    now = time.time() if now is None else now
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": account, "apiId": url_id,
            "domainName": f"{url_id}.lambda-url.us-east-1.on.aws", "domainPrefix": url_id,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": joined.get("user-agent", "")},
            "requestId": request_id, "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000)},
        "isBase64Encoded": b64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        from urllib.parse import parse_qsl
        params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    if body:
        event["body"] = encoded
    return event


def _headers_of(result: dict) -> list[tuple[str, str]]:
    headers = result.get("headers") or {}
    if not isinstance(headers, dict):
        raise BadResult("headers is not an object")
    out = [(str(k), str(v)) for k, v in headers.items()]
    for cookie in result.get("cookies") or ():
        out.append(("Set-Cookie", str(cookie)))
    return out


def read_buffered(payload: bytes) -> UrlResponse:
    """A buffered result, as the Function URL turns it into HTTP."""
    try:
        result = json.loads(payload) if payload else None
    except ValueError:
        raise BadResult("the function's result is not JSON") from None
    if not (isinstance(result, dict) and "statusCode" in result):
        return UrlResponse(200, (("Content-Type", "application/json"),), payload)
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        raise BadResult(f"statusCode {result['statusCode']!r} is not a number") from None
    body = result.get("body") or ""
    if not isinstance(body, str):
        body = json.dumps(body)
    try:
        raw = base64.b64decode(body, validate=True) if result.get("isBase64Encoded") else body.encode()
    except ValueError:
        raise BadResult("isBase64Encoded is true but the body is not base64") from None
    return UrlResponse(status, tuple(_headers_of(result)), raw)


def read_prelude(data: bytes) -> tuple[int, list[tuple[str, str]]]:
    """The status and headers of a streamed response's prelude (before the separator)."""
    try:
        prelude = json.loads(data)
        status = int(prelude.get("statusCode", 200))
    except (ValueError, TypeError, AttributeError):
        raise BadResult("the stream's prelude is not a JSON object with a statusCode") from None
    return status, _headers_of(prelude)
