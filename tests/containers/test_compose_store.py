"""`wkp-emu store`: the compose files' store service, a real process on loopback.

Objects put into it survive a stop and a start through its data directory;
it reports ready (JSON line and ready file) only after they are loaded.
"""
from __future__ import annotations

import signal
import subprocess

import boto3
from botocore.config import Config

from tests.support.processes import WKP_EMU, start
from tests.support.processes import test_env as child_env


def _client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="wkp-emu",
                        aws_secret_access_key="wkp-emu", config=Config(retries={"max_attempts": 1}))


def test_objects_survive_a_stop_and_a_start(tmp_path):
    data, ready = tmp_path / "data", tmp_path / "run" / "store.ready"
    args = ["store", "--port", "0", "--bucket", "kept", "--data-dir", str(data), "--ready-file", str(ready)]
    store = start(args, tmp_path=tmp_path, name="store")
    try:
        assert store.ready["loaded"] == 0 and store.ready["bucket"] == "kept"
        assert ready.exists()
        s3 = _client(store.ready["endpoint"])
        s3.put_object(Bucket="kept", Key="weftkit/default/relational/r1/full/a.zst", Body=b"full",
                      Metadata={"checksum": "sha256=abc"})
        s3.put_object(Bucket="kept", Key="weftkit/default/relational/r1/delta/b.zst", Body=b"delta" * 1000)
    finally:
        code = store.stop(signal.SIGTERM)
    assert code == 0, store.stderr()
    assert not ready.exists()
    assert "2 objects written to" in store.stderr()
    assert (data / "store/weftkit/default/relational/r1/full/a.zst").read_bytes() == b"full"

    again = start(args, tmp_path=tmp_path, name="store")
    try:
        assert again.ready["loaded"] == 2 and ready.exists()
        s3 = _client(again.ready["endpoint"])
        obj = s3.get_object(Bucket="kept", Key="weftkit/default/relational/r1/full/a.zst")
        assert obj["Body"].read() == b"full" and obj["Metadata"] == {"checksum": "sha256=abc"}
        listed = s3.list_objects_v2(Bucket="kept")["Contents"]
        assert sorted(o["Key"] for o in listed) == ["weftkit/default/relational/r1/delta/b.zst",
                                                  "weftkit/default/relational/r1/full/a.zst"]
    finally:
        assert again.stop(signal.SIGINT) == 0, again.stderr()  # Ctrl-C saves too


def test_without_a_data_dir_it_keeps_nothing(tmp_path):
    store = start(["store", "--port", "0"], tmp_path=tmp_path, name="store")
    try:
        assert store.ready["data_dir"] is None and store.ready["bucket"] == "wkp-emu"
        _client(store.ready["endpoint"]).put_object(Bucket="wkp-emu", Key="k", Body=b"v")
    finally:
        assert store.stop() == 0
    assert "written" not in store.stderr()


def test_a_data_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    out = subprocess.run(WKP_EMU + ["store", "--data-dir", str(tmp_path / "f")], env=child_env(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert f"--data-dir {tmp_path / 'f'} is not a directory" in out.stderr



def test_a_damaged_archive_is_reported_not_served(tmp_path):
    kept = tmp_path / "data" / "store" / "weftkit"
    kept.mkdir(parents=True)
    (kept / "a.zst").write_bytes(b"x")
    (kept / "a.zst.meta.json").write_text("{not json")
    out = subprocess.run(WKP_EMU + ["store", "--data-dir", str(tmp_path / "data")], env=child_env(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and out.stdout == ""
    assert f"could not load the objects in {tmp_path / 'data' / 'store'}" in out.stderr
    assert "Traceback" not in out.stderr
