"""A local GCS on loopback: gcp-storage-emulator, plus the generation checks
the reference function relies on and the emulator lacks.

    python -m emulator.platforms.gcf_host.gcs_emulator --port 0 --bucket wkp-emu
    {"endpoint": "http://127.0.0.1:40123", "bucket": "wkp-emu"}      (then serves until SIGTERM)

gcp-storage-emulator accepts `ifGenerationMatch` and ignores it; GCS answers
412 when the precondition fails. The reference function relies on it twice:
the lineage takeover claims a lineage with a create-only put
(ifGenerationMatch=0), so with the emulator as it ships two engines could both
win one claim; and a restore reads an object in ranges pinned to the
generation it listed, so a rewrite meanwhile must fail the read rather than
mix two versions (the client asks for that generation, and for it only). This
launcher checks the generation asked for before the emulator's own handler
runs (the emulator serves one request at a time, so check and write cannot
interleave), for uploads (media, multipart, the start of a
resumable upload) and media downloads (`generation` and `ifGenerationMatch`:
404 for a generation that is no longer there, 412 for a failed precondition).
Everything else is the emulator's own.
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
_emulator_download = objects.download


def _object_name(request) -> str | None:
    if "name" in request.query:
        return request.query["name"][0]
    data = request.data
    if isinstance(data, dict):
        if isinstance(data.get("meta"), dict):  # multipart: metadata part, then the media
            return data["meta"].get("name")
        return data.get("name")
    return None


def precondition_failed(request, storage, name: str | None = None) -> str | None:
    """Why the request's ifGenerationMatch fails, or None when it holds (or is absent)."""
    wanted = request.query.get("ifGenerationMatch")
    if not wanted or "upload_id" in request.query:
        return None
    name = name if name is not None else _object_name(request)
    if name is None:
        return None
    try:
        current = str(storage.get_file_obj(request.params["bucket_name"], name).get("generation"))
    except NotFound:
        current = "0"
    return None if current == wanted[0] else f"generation is {current}, not {wanted[0]}"


def _refuse(response, reason: str) -> None:
    response.status = HTTPStatus.PRECONDITION_FAILED
    response.json({"error": {"code": 412, "message": f"Precondition Failed: {reason}",
                             "errors": [{"reason": "conditionNotMet", "message": reason}]}})


def insert_with_preconditions(request, response, storage, *args, **kwargs):
    reason = precondition_failed(request, storage)
    if reason is not None:
        return _refuse(response, reason)
    return _emulator_insert(request, response, storage, *args, **kwargs)


def _current_generation(request, storage, name: str) -> str:
    try:
        return str(storage.get_file_obj(request.params["bucket_name"], name).get("generation"))
    except NotFound:
        return "0"


def download_with_preconditions(request, response, storage, *args, **kwargs):
    name = request.params.get("object_id")
    pinned = request.query.get("generation")
    if pinned and name and pinned[0] != _current_generation(request, storage, name):
        # GCS keeps no overwritten generation (without versioning): that one is gone
        response.status = HTTPStatus.NOT_FOUND
        return response.json({"error": {"code": 404, "message": f"No such object: {name}#{pinned[0]}"}})
    reason = precondition_failed(request, storage, name)
    if reason is not None:
        return _refuse(response, reason)
    return _emulator_download(request, response, storage, *args, **kwargs)


_WRAPPED = {_emulator_insert: insert_with_preconditions, _emulator_download: download_with_preconditions}


def install_preconditions() -> None:
    """Route every upload and media download through the checks (idempotent)."""
    objects.insert = insert_with_preconditions  # the router's fallback looks it up here
    objects.download = download_with_preconditions  # objects.get (alt=media) calls it by name
    gcs_server.HANDLERS = tuple(
        (regex, {m: _WRAPPED.get(h, h) for m, h in handlers.items()})
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
