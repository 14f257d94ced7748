"""An asynchronous face (emulator/store/interface.py's ObjectStore) on a
reference function's synchronous store (GCS, Blob Storage), for what
`wkp-emu up` does to the function's store itself: status, export at `down`,
import at `up`, reset. Each call runs in a worker thread; a stream is read in
its thread and handed over chunk by chunk, and a streamed put is fed from the
event loop to the store's thread through a bounded queue, so neither side
holds a whole object.
"""
from __future__ import annotations

import asyncio
import queue
import threading
from typing import AsyncIterator, Mapping

from emulator.store.interface import ObjectInfo

_END = object()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


class AsyncStore:
    def __init__(self, sync_store):
        self.sync = sync_store

    async def ping(self) -> None:
        await asyncio.to_thread(self.sync.ping)

    async def list(self, prefix: str) -> list[ObjectInfo]:
        return await asyncio.to_thread(self.sync.list, prefix)

    async def head(self, key: str) -> ObjectInfo | None:
        return await asyncio.to_thread(self.sync.head, key)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self.sync.get, key)

    async def stream(self, key: str, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        chunks = await asyncio.to_thread(lambda: iter(self.sync.stream(key, chunk_size)))
        while True:
            chunk = await asyncio.to_thread(next, chunks, _END)
            if chunk is _END:
                return
            yield chunk

    async def put(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None,
                  *, if_absent: bool = False) -> ObjectInfo:
        return await asyncio.to_thread(lambda: self.sync.put(key, data, metadata, if_absent=if_absent))

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes],
                         metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        handoff: queue.Queue = queue.Queue(maxsize=4)
        stop = threading.Event()

        def body():
            while True:
                item = handoff.get()
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.exc  # the store's put_stream then leaves nothing
                yield item

        def give(item) -> bool:
            while not stop.is_set():
                try:
                    handoff.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def store():
            try:
                return self.sync.put_stream(key, body(), metadata)
            finally:
                stop.set()  # a store that failed early stops the feeder

        task = asyncio.ensure_future(asyncio.to_thread(store))
        try:
            async for chunk in chunks:
                if not await asyncio.to_thread(give, chunk):
                    break
            else:
                await asyncio.to_thread(give, _END)
        except BaseException as exc:
            await asyncio.to_thread(give, _Failed(exc))
            await asyncio.gather(task, return_exceptions=True)
            raise
        return await task

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.sync.delete, key)

    async def delete_prefix(self, prefix: str) -> int:
        def remove() -> int:
            infos = self.sync.list(prefix)
            for info in infos:
                self.sync.delete(info.key)
            return len(infos)
        return await asyncio.to_thread(remove)

    async def close(self) -> None:
        pass
