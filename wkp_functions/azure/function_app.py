"""The WKP-1 function on Azure Functions, Python v2 programming model, one HTTP trigger.

    func azure functionapp publish <APP_NAME> --python

`wkp` answers every route (`{*path}`, with host.json's routePrefix emptied,
so the engines' endpoint is the app's root URL) and hands the request to the
platform-neutral core (wkp_functions/core.py) over Blob Storage. The trigger
is anonymous: WKP-1's HMAC signature is the authentication.

The v2 model's HttpResponse is buffered: a restore is joined in memory before
it is sent, so size the plan's memory for your largest restore chain. Azure
answers an HTTP trigger within 230 s at most (its load balancer's idle
timeout): past that the client gets 502 while the function runs on.

Application settings (docs/functions.md, "Azure Functions"):
  WKP_CONTAINER           the blob container (required)
  WKP_STORAGE_CONNECTION  the storage account's connection string (default: AzureWebJobsStorage)
  WEFTKIT_PERSIST_SECRET  the HMAC secret the engines share (required)
  WKP_MAX_PAYLOAD         largest body accepted, bytes (default 100 MiB, the platform's request limit)
  WKP_TAKEOVER_LEASE_S    lineage takeover lease, seconds (default 120)
"""
from __future__ import annotations

import json
import logging
import os
import threading
from urllib.parse import urlsplit

import azure.functions as func

from emulator.protocol.errors import ProtocolError
from wkp_functions.core import FunctionCore, error_reply
from wkp_functions.settings import SetupError, core_settings, required
from wkp_functions.stores.blob import BlobStore

log = logging.getLogger("wkp.functions.azure")

DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024  # an HTTP trigger's request limit (maxRequestLength)

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

_core: FunctionCore | None = None
_building = threading.Lock()


def core_from_env(env=None) -> FunctionCore:
    env = os.environ if env is None else env
    container, config = core_settings(env, store_variable="WKP_CONTAINER", store_what="the blob container",
                                      default_max_payload=DEFAULT_MAX_PAYLOAD)
    connection = env.get("WKP_STORAGE_CONNECTION") or required(
        env, "AzureWebJobsStorage", "the storage account's connection string (or set WKP_STORAGE_CONNECTION)")
    return FunctionCore(BlobStore.from_connection_string(connection, container), config)


def _instance() -> FunctionCore:
    global _core
    with _building:  # one worker serves several requests at once
        if _core is None:
            _core = core_from_env()
        return _core


@app.route(route="{*path}")  # every method: the core answers 405 itself
def wkp(req: func.HttpRequest) -> func.HttpResponse:
    try:
        core = _instance()
    except SetupError as exc:
        log.error("%s", exc)
        return func.HttpResponse(json.dumps({"error": "Misconfigured", "reason": str(exc)}),
                                 status_code=500, mimetype="application/json")
    path = "/" + (req.route_params.get("path") or "")
    query = urlsplit(req.url).query  # as sent: the signature covers the raw query string
    reply = core.handle(req.method, path, req.headers, req.get_body(), query=query)
    try:
        body = reply.body_bytes()  # a restore's chain is read here, after handle() answered
    except ProtocolError as exc:  # the store failed mid-read: nothing was sent yet, so say so
        reply = error_reply(exc)
        body = reply.body
    return func.HttpResponse(body, status_code=reply.status, headers=reply.headers)
