"""The function instance, built once per execution environment from its environment.

Variables (docs/functions.md, "AWS Lambda"):
  WKP_BUCKET              the S3 bucket (required)
  WEFTKIT_PERSIST_SECRET  the HMAC secret the engines share (required)
  WKP_MAX_PAYLOAD         largest body accepted, bytes (default 4 MiB: see below)
  WKP_TAKEOVER_LEASE_S    lineage takeover lease (default 120)
  AWS_ENDPOINT_URL_S3     another S3-compatible store (boto3 reads it itself)

Why 4 MiB: a Function URL refuses an invocation payload over 6 MB, and the
payload is the event, in which a binary body is base64 (4/3 of its size).
A 4 MiB body is a 5.33 MiB event, so a push up to the limit reaches the
function, and one over it gets WKP-1's 413 naming the limit (the engine
splits), as long as it is under about 4.5 MiB. Larger ones are refused by
Lambda itself, with a 413 that names no limit.
"""
from __future__ import annotations

import os

from emulator.protocol.function_rules import Limits
from emulator.protocol.takeover import DEFAULT_LEASE_S

from ..core import CoreConfig, FunctionCore
from ..settings import SetupError, number as _number  # the variables' checks all functions share
from ..stores.s3 import S3Store

DEFAULT_MAX_PAYLOAD = 4 * 1024 * 1024


def core_from_env(env=None) -> FunctionCore:
    env = os.environ if env is None else env
    bucket = env.get("WKP_BUCKET")
    if not bucket:
        raise SetupError("WKP_BUCKET is not set: the S3 bucket the function stores in")
    secret = env.get("WEFTKIT_PERSIST_SECRET")
    if not secret:
        raise SetupError("WEFTKIT_PERSIST_SECRET is not set: the secret the engines sign with")
    limits = Limits(max_payload=_number(env, "WKP_MAX_PAYLOAD", DEFAULT_MAX_PAYLOAD))
    config = CoreConfig(secret=secret, limits=limits,
                        takeover_lease_s=_number(env, "WKP_TAKEOVER_LEASE_S", DEFAULT_LEASE_S, float))
    return FunctionCore(S3Store.from_env(bucket, region=env.get("AWS_REGION")), config)
