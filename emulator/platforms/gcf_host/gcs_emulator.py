"""A local GCS on loopback: gcp-storage-emulator, plus the one check the
reference function relies on that it lacks.

    python -m emulator.platforms.gcf_host.gcs_emulator --port 0 --bucket wkp-emu
    {"endpoint": "http://127.0.0.1:40123", "bucket": "wkp-emu"}      (then serves until SIGTERM)

gcp-storage-emulator accepts `ifGenerationMatch` on an upload and ignores it;
GCS refuses the upload with 412 when the precondition fails. The function's
lineage takeover claims a lineage with a create-only put (ifGenerationMatch=0),
so with the emulator as it ships two engines could both win one claim. This
launcher checks the precondition before the emulator's own upload handler runs
(the emulator serves one request at a time, so check and write cannot
interleave), for the three upload types the client uses: media, multipart and
the start of a resumable upload. Everything else is the emulator's own.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from http import HTTPStatus

from gcp_storage_emulator import server as gcs_server
from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects

_emulator_insert = objects.insert


def _object_name(request) -> str | None:
    if "name" in request.query:
        return request.query["name"][0]
    data = request.data
    if isinstance(data, dict):
        if isinstance(data.get("meta"), dict):  # multipart: metadata part, then the media
            return data["meta"].get("name")
        return data.get("name")
    return None


def precondition_failed(request, storage) -> str | None:
    """Why the upload's ifGenerationMatch fails, or None when it holds (or is absent)."""
    wanted = request.query.get("ifGenerationMatch")
    if not wanted or "upload_id" in request.query:
        return None
    name = _object_name(request)
    if name is None:
        return None
    try:
        current = str(storage.get_file_obj(request.params["bucket_name"], name).get("generation"))
    except NotFound:
        current = "0"
    return None if current == wanted[0] else f"generation is {current}, not {wanted[0]}"


def insert_with_preconditions(request, response, storage, *args, **kwargs):
    reason = precondition_failed(request, storage)
    if reason is not None:
        response.status = HTTPStatus.PRECONDITION_FAILED
        response.json({"error": {"code": 412, "message": f"Precondition Failed: {reason}",
                                 "errors": [{"reason": "conditionNotMet", "message": reason}]}})
        return
    return _emulator_insert(request, response, storage, *args, **kwargs)


def install_preconditions() -> None:
    """Route every upload through insert_with_preconditions (idempotent)."""
    objects.insert = insert_with_preconditions  # the router's fallback looks it up here
    gcs_server.HANDLERS = tuple(
        (regex, {m: (insert_with_preconditions if h is _emulator_insert else h) for m, h in handlers.items()})
        for regex, handlers in gcs_server.HANDLERS)


def serve(host: str, port: int, bucket: str | None):
    install_preconditions()
    srv = gcs_server.create_server(host, port, in_memory=True, default_bucket=bucket)
    srv.start()
    return srv


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.platforms.gcf_host.gcs_emulator",
                                     description="a local GCS (gcp-storage-emulator) on loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bucket", default=None, help="create this bucket at start")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("gcp_storage_emulator").setLevel(logging.CRITICAL)
    srv = serve(args.host, args.port, args.bucket)
    host, port = srv._api._httpd.server_address[:2]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(json.dumps({"endpoint": f"http://{host}:{port}", "bucket": args.bucket}), flush=True)
    stop.wait()
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
