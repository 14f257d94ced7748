"""Serving the Lambda reference function on the local host, over an S3 store.

Shared by `wkp-emu lambda-host` and `wkp-emu up --function lambda`: make sure
the bucket exists, then start the host with the function's variables (the
bucket, the secret, the store's endpoint, loopback credentials for moto).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from emulator.platforms.profiles import function_profile

from .host import LambdaHost, LambdaHostSettings

DEFAULT_MAX_PAYLOAD = 4 * 1024 * 1024  # wkp_functions.aws_lambda.setup's: a body whose event fits 6 MB
EMBEDDED_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "wkp-emu", "AWS_SECRET_ACCESS_KEY": "wkp-emu"}


@dataclass
class LambdaFunctionSettings:
    secret: str
    s3_endpoint: str
    bucket: str
    runtime: str = "bootstrap"
    max_payload: int = DEFAULT_MAX_PAYLOAD
    timeout_s: float = 900.0
    instances_max: int = 10
    keep_alive_s: float | None = 600.0
    paced: bool = False  # stream at the lambda-url profile's rate after its unthrottled prefix
    work_dir: Path | None = None


def _ensure_bucket(endpoint: str, bucket: str) -> None:
    import boto3  # only when a Lambda function runs

    from wkp_functions.stores.s3 import S3Store
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="wkp-emu",
                                    aws_secret_access_key="wkp-emu")
    S3Store(session.client("s3", endpoint_url=endpoint), bucket).ensure_bucket()


async def start_lambda_function(settings: LambdaFunctionSettings, host: str = "127.0.0.1",
                                port: int = 0, *, faults=None, metrics=None) -> LambdaHost:
    await asyncio.to_thread(_ensure_bucket, settings.s3_endpoint, settings.bucket)
    profile = function_profile("lambda-url")
    env = {"WKP_BUCKET": settings.bucket, "WEFTKIT_PERSIST_SECRET": settings.secret,
           "AWS_ENDPOINT_URL_S3": settings.s3_endpoint, "WKP_MAX_PAYLOAD": str(settings.max_payload),
           **EMBEDDED_CREDENTIALS}
    host_settings = LambdaHostSettings(
        env=env, runtime=settings.runtime, timeout_s=settings.timeout_s,
        instances_max=settings.instances_max, keep_alive_s=settings.keep_alive_s,
        stream_unthrottled_bytes=profile.stream_unthrottled_bytes if settings.paced else None,
        stream_rate_bytes_s=profile.stream_rate_bytes_s if settings.paced else None,
        work_dir=settings.work_dir)
    return await LambdaHost(host_settings, host=host, faults=faults, metrics=metrics).start(port)
