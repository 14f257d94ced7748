"""Fixtures for the reference functions: a real moto S3 server on loopback."""
from __future__ import annotations

import uuid

import pytest

from emulator.store.moto_server import EmbeddedS3
from wkp_functions.stores.s3 import S3Store

SECRET = "platform-secret"


@pytest.fixture(scope="session")
def moto():
    with EmbeddedS3() as s3:
        yield s3


@pytest.fixture
def bucket(moto):
    """A fresh bucket on the moto server: (endpoint, name)."""
    name = f"p-{uuid.uuid4().hex[:12]}"
    store = S3Store.from_env(name, endpoint_url=moto.endpoint, region="us-east-1")
    store.ensure_bucket()
    return moto.endpoint, name


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch):
    # moto takes any credentials; boto3 only needs some (never the user's own)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "wkp-emu")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wkp-emu")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
