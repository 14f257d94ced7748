"""The WKP-1 function on Google Cloud Functions (2nd gen), Python, HTTP trigger.

    gcloud functions deploy wkp --gen2 --runtime python311 --trigger-http \
        --entry-point wkp --source . --allow-unauthenticated \
        --set-env-vars WKP_BUCKET=my-bucket --set-secrets WEFTKIT_PERSIST_SECRET=wkp-secret:latest

Entry point `wkp` is a functions-framework HTTP function over the platform-
neutral core (wkp_functions/core.py) with the GCS store. The core is built on
the first request and kept while the instance is warm (its warm chain state is
a cache; every answer is decided against the bucket). A restore is streamed
(Cloud Functions 2nd gen runs on Cloud Run, which streams responses); a push
body is read from the request stream, not copied.

Variables (docs/functions.md, "Google Cloud Functions"):
  WKP_BUCKET              the GCS bucket (required)
  WEFTKIT_PERSIST_SECRET  the HMAC secret the engines share (required)
  WKP_MAX_PAYLOAD         largest body accepted, bytes (default 32 MiB, the platform's request limit)
  WKP_TAKEOVER_LEASE_S    lineage takeover lease, seconds (default 120)
  STORAGE_EMULATOR_HOST   a local GCS emulator instead of GCS (no credentials are sent to it)
"""
from __future__ import annotations

import json
import logging
import os
import threading

import flask
import functions_framework

from wkp_functions.core import FunctionCore
from wkp_functions.settings import SetupError, core_settings
from wkp_functions.stores.gcs import GCSStore

log = logging.getLogger("wkp.functions.gcf")

DEFAULT_MAX_PAYLOAD = 32 * 1024 * 1024  # Cloud Functions 2nd gen: 32 MiB per HTTP request

_core: FunctionCore | None = None
_building = threading.Lock()


def core_from_env(env=None) -> FunctionCore:
    env = os.environ if env is None else env
    bucket, config = core_settings(env, store_variable="WKP_BUCKET", store_what="the GCS bucket",
                                   default_max_payload=DEFAULT_MAX_PAYLOAD)
    return FunctionCore(GCSStore.from_env(bucket, env=env), config)


def _instance() -> FunctionCore:
    global _core
    with _building:  # one instance serves several requests at once on 2nd gen
        if _core is None:
            _core = core_from_env()
        return _core


@functions_framework.http
def wkp(request: flask.Request) -> flask.Response:
    try:
        core = _instance()
    except SetupError as exc:
        log.error("%s", exc)
        return flask.Response(json.dumps({"error": "Misconfigured", "reason": str(exc)}), 500,
                              {"Content-Type": "application/json"})
    reply = core.handle(request.method, request.path, request.headers, request.stream,
                        query=request.query_string.decode("latin-1"))
    # a restore's iterator is sent as it comes; its Content-Length is in the headers
    return flask.Response(reply.body, reply.status, reply.headers, direct_passthrough=reply.streamed)
