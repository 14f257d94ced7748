"""Relaying a stored object to the client in the kernel: socket -> pipe -> socket.

Why: a restore is a byte-for-byte relay of the store's bodies (when the chain
has one encoding). Through Python, each byte is copied into the process and
out again; the benchmark showed that relay as the function's whole CPU cost.
splice(2) moves the pages between the two sockets through a pipe without
entering user space, so the function's CPU per restored GiB drops to a few
system calls per MiB (docs/benchmarks.md has the figures).

How it coexists with aiohttp: the response head goes out through aiohttp as
usual and its write buffer is drained to empty; only then are bytes spliced
onto the same socket, so nothing can interleave. The loop waits for
readiness on our own store socket and on a duplicate of the client socket's
descriptor (the event loop refuses watchers on a descriptor that a transport
owns; a dup is a different number for the same socket).

Linux only (os.splice); restore.py falls back to the streaming relay
elsewhere, over TLS, and for chains that need re-encoding.
"""
from __future__ import annotations

import asyncio
import fcntl
import os
import socket

from aiohttp import web

from emulator.store.raw_get import RawObject

PIPE_SIZE = 1024 * 1024
# Send buffer of the client's socket while a restore is spliced into it: with
# the store's side (raw_get.RELAY_RCVBUF), it lets the store and the engine keep
# moving bytes while the function waits for a CPU on a busy machine (three
# processes relay what two would in a raw GET). Capped by net.core.wmem_max.
CLIENT_SNDBUF = 4 * 1024 * 1024
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)


def splice_possible(request: web.Request) -> bool:
    """Whether this response can be spliced: Linux, a plain TCP socket."""
    transport = request.transport
    return (hasattr(os, "splice") and transport is not None
            and transport.get_extra_info("sslcontext") is None
            and transport.get_extra_info("socket") is not None)


async def drain_to_empty(request: web.Request) -> None:
    """Wait until aiohttp's transport holds no unsent bytes."""
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ConnectionResetError("client went away")
    if transport.get_write_buffer_size() == 0:
        return
    transport.set_write_buffer_limits(high=0)  # paused until the buffer is empty
    try:
        await request.writer.drain()
    finally:
        transport.set_write_buffer_limits()


class SpliceRelay:
    """One per response: a pipe and a watcher on the client socket, reused
    for every object of the chain."""

    def __init__(self, request: web.Request, timeout_s: float):
        self._loop = asyncio.get_running_loop()
        self._timeout_s = timeout_s
        self.sent = 0
        self._fds: list[int] = []
        try:  # out of descriptors halfway must not leak the ones already taken
            sock = request.transport.get_extra_info("socket")
            self._dst = self._take(os.dup(sock.fileno()))
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CLIENT_SNDBUF)
            except OSError:
                pass
            self._pipe_r, self._pipe_w = map(self._take, os.pipe())
            try:  # a bigger pipe means fewer round trips; the default (64 KiB) also works
                fcntl.fcntl(self._pipe_w, _F_SETPIPE_SZ, PIPE_SIZE)
            except OSError:
                pass
            # what the kernel granted: waiting on the store while the pipe is full would spin
            self._capacity = fcntl.fcntl(self._pipe_w, _F_GETPIPE_SZ)
        except BaseException:
            self.close()
            raise

    def _take(self, fd: int) -> int:
        self._fds.append(fd)
        return fd

    def close(self) -> None:
        while self._fds:
            os.close(self._fds.pop())

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()

    async def send(self, raw: RawObject) -> None:
        """Splice the rest of `raw`'s body (after its head bytes, which the
        caller sent) to the client. Raises on a short body or a dead peer."""
        src = raw.sock.fileno()
        remaining, in_pipe = raw.length - len(raw.head_bytes), 0
        while remaining or in_pipe:
            moved = False
            if remaining and in_pipe < self._capacity:
                n = _splice(src, self._pipe_w, min(remaining, self._capacity - in_pipe))
                if n == 0:
                    raise ConnectionError(f"object store closed the body with {remaining} bytes unsent")
                if n:
                    remaining, in_pipe, moved = remaining - n, in_pipe + n, True
            if in_pipe:
                n = _splice(self._pipe_r, self._dst, in_pipe)
                if n:
                    in_pipe, self.sent, moved = in_pipe - n, self.sent + n, True
            if not moved:
                await self._ready(src if remaining and in_pipe < self._capacity else None,
                                  self._dst if in_pipe else None)

    async def _ready(self, read_fd: int | None, write_fd: int | None) -> None:
        """Until the store socket is readable or the client socket writable."""
        waiter = self._loop.create_future()

        def wake():
            if not waiter.done():
                waiter.set_result(None)
        if read_fd is not None:
            self._loop.add_reader(read_fd, wake)
        if write_fd is not None:
            self._loop.add_writer(write_fd, wake)
        try:
            async with asyncio.timeout(self._timeout_s):
                await waiter
        except TimeoutError:
            raise ConnectionError(f"restore relay stalled for {self._timeout_s:.0f} s") from None
        finally:
            if read_fd is not None:
                self._loop.remove_reader(read_fd)
            if write_fd is not None:
                self._loop.remove_writer(write_fd)


def _splice(src: int, dst: int, count: int) -> int | None:
    """Bytes moved, 0 at end of input, None when it would block."""
    try:
        return os.splice(src, dst, count, flags=_FLAGS)
    except BlockingIOError:
        return None
