"""Payload sizes without payloads: what a push of each kind weighs.

The simulator never builds a payload; it needs its size. Sizes come from the
fake engines' own value generators (engines_fake/kinds.py) and the engines'
own frame format and codec (emulator/protocol/engine_payload.py, codec.py):
for each kind (and value size), a sample of values is framed as a delta and as
a full and compressed once, giving the WAL bytes per write and the compressed
bytes per record. From those, a delta of n writes and a full of a state of k
records are priced by multiplication. The sample is seeded, so sizes are the
same on every run.
"""
from __future__ import annotations

import bisect
import functools
import random
from dataclasses import dataclass

from emulator.protocol.codec import Encoding
from emulator.protocol.engine_payload import Record, delta_frames, full_frames, record_frame
from engines_fake.kinds import PROFILES, sized

# Values per sample: enough for the codec to find a kind's redundancy, few
# enough that a 256 KiB filestore blob sample stays cheap to compress.
SAMPLE_BYTES = 512 * 1024
SAMPLE_MAX = 64


@dataclass(frozen=True)
class PayloadProfile:
    kind: str
    value_bytes: float           # mean value size
    wal_bytes: float             # WAL bytes per write (the record frame)
    delta_bytes: float           # compressed delta bytes per write
    full_bytes: float            # compressed full bytes per record of the state
    overhead: int                # compressed bytes of an empty payload (headers, trailer)
    # Measured sizes of the sample's first n records (n = 1, 2, 4, ... up to the sample): a small
    # payload compresses less than the whole sample does (a 20-write keyvalue delta weighs 7 %
    # more per write than a 64-write one), so below the sample's size a price is read off these.
    delta_points: tuple[tuple[int, int], ...] = ()
    full_points: tuple[tuple[int, int], ...] = ()

    def delta(self, writes: int) -> int:
        if self.delta_points and writes < self.delta_points[-1][0]:
            return _between(self.delta_points, self.overhead, writes)
        return max(1, round(self.overhead + self.delta_bytes * writes))

    def full(self, records: int) -> int:
        if self.full_points and records < self.full_points[-1][0]:
            return _between(self.full_points, self.overhead, records)
        return max(1, round(self.overhead + self.full_bytes * records))


def _between(points: tuple[tuple[int, int], ...], overhead: int, n: int) -> int:
    """The size of n records, joining the measured points (and 0 records: the overhead) linearly."""
    if n <= 0:
        return max(1, overhead)
    i = bisect.bisect_left(points, (n, -1))
    if points[i][0] == n:
        return points[i][1]
    lo_n, lo_b = points[i - 1] if i else (0, overhead)
    hi_n, hi_b = points[i]
    return max(1, round(lo_b + (hi_b - lo_b) * (n - lo_n) / (hi_n - lo_n)))


@functools.lru_cache(maxsize=None)
def profile(kind: str, value_bytes: int = 0, encoding: Encoding = Encoding.ZSTD) -> PayloadProfile:
    rng = random.Random(f"payload-profile:{kind}:{value_bytes}")
    first = sized(kind, rng, 0, value_bytes)
    count = max(2, min(SAMPLE_MAX, SAMPLE_BYTES // max(1, len(first))))
    values = [first] + [sized(kind, rng, i, value_bytes) for i in range(1, count)]
    records = [Record(i + 1, f"{kind}-{rng.randrange(PROFILES[kind].default_keys)}", v)
               for i, v in enumerate(values)]
    wal = sum(len(record_frame(r)) for r in records) / count
    empty = len(encoding.compress(b"".join(delta_frames(0, 1, []))))
    delta = len(encoding.compress(b"".join(delta_frames(0, count, records))))
    full = len(encoding.compress(b"".join(full_frames(kind, 0, count, records))))
    sizes = sorted({n for n in (1, 2, 4, 8, 16, 32) if n < count} | {count})
    delta_points = tuple((n, len(encoding.compress(b"".join(delta_frames(0, n, records[:n]))))) for n in sizes)
    full_points = tuple((n, len(encoding.compress(b"".join(full_frames(kind, 0, n, records[:n])))))
                        for n in sizes)
    return PayloadProfile(kind, sum(map(len, values)) / count, wal,
                          max(1.0, (delta - empty) / count), max(1.0, (full - empty) / count), empty,
                          delta_points, full_points)


def distinct_keys(writes: int, keys: int, had: int = 0, deletes: float = 0.0) -> int:
    """Expected distinct keys after `writes` operations over `keys` keys, starting from `had`
    distinct keys: the generator writes a uniform key, or (a `deletes` share of operations)
    deletes a key it wrote. Per operation E[k'] = a k + b with a = 1 - (1 - d)/K and b = 1 - 2d,
    so after n: k* + (had - k*) a^n, k* = b / (1 - a)."""
    if keys <= 0:
        return max(0, had + round(writes * (1 - 2 * deletes)))
    if not deletes:
        missing = (keys - had) * (1 - 1 / keys) ** writes
        return min(keys, round(keys - missing))
    a = 1 - (1 - deletes) / keys
    fixed = (1 - 2 * deletes) * keys / (1 - deletes)
    return min(keys, max(0, round(fixed + (had - fixed) * a ** writes)))
