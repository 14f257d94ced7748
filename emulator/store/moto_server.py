"""The embedded S3: one owner for a moto server's lifecycle on loopback.

moto's ThreadedMotoServer runs werkzeug in a thread of this process; port 0
lets the OS pick a free port, which we read back once it is bound.
"""
from __future__ import annotations

import logging
import os

BUCKET = "wkp-emu"


class EmbeddedS3:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self._server = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "EmbeddedS3":
        # moto reads these to sign its own presigned URLs; harmless placeholders
        # keep a user's real AWS credentials out of any code path.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "wkp-emu")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "wkp-emu")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        from moto.server import ThreadedMotoServer  # heavy import, only when used
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.host, self.port = self._server.get_host_and_port()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
