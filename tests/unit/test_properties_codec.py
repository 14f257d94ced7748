"""Properties of the codecs: concatenation under every compression and every
chunking (hypothesis; pure). A restore body is the stored full followed by its
deltas, byte for byte, and arrives in whatever pieces the network makes.
Profiles: see test_properties_signing.py (WKP_HYPOTHESIS_PROFILE=wkp-deep)."""
from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from emulator.protocol.codec import CorruptPayload, Encoding, transcode

from .test_properties_signing import PROFILE

encodings = st.sampled_from(list(Encoding))
pieces = st.lists(st.one_of(st.binary(max_size=400), st.binary(max_size=8).map(lambda b: b * 300)),
                  min_size=1, max_size=5)
cuts = st.lists(st.integers(0, 10_000), max_size=12)


def chunked(data: bytes, at: list[int]) -> list[bytes]:
    points = sorted({p % (len(data) + 1) for p in at} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def compress_streaming(encoding: Encoding, data: bytes, at: list[int]) -> bytes:
    comp = encoding.compressor()
    return b"".join(comp.feed(chunk) for chunk in chunked(data, at)) + comp.flush()


def decode(encoding: Encoding, chunks) -> bytes:
    dec = encoding.decompressor()
    return b"".join(dec.feed(chunk) for chunk in chunks) + dec.flush()


@PROFILE
@given(encoding=encodings, parts=pieces, feed_cuts=cuts, read_cuts=cuts)
def test_concatenated_objects_decode_to_the_concatenated_content(encoding, parts, feed_cuts, read_cuts):
    """Each object compressed on its own (fed in any pieces), the objects concatenated,
    the whole read in any pieces: the content comes out, in order."""
    stored = b"".join(compress_streaming(encoding, p, feed_cuts) for p in parts)
    assert decode(encoding, chunked(stored, read_cuts)) == b"".join(parts)


@PROFILE
@given(source=encodings, target=encodings, parts=pieces, read_cuts=cuts)
def test_transcoding_a_chain_keeps_its_content(source, target, parts, read_cuts):
    """A mixed chain is re-encoded object by object into the full's encoding."""
    stored = b"".join(source.compress(p) for p in parts)
    t = transcode(source, target)
    out = b"".join(t.feed(chunk) for chunk in chunked(stored, read_cuts)) + t.flush()
    assert target.decompress(out) == b"".join(parts)


@PROFILE
@given(encoding=st.sampled_from([Encoding.ZSTD, Encoding.GZIP]), data=st.binary(min_size=1, max_size=300),
       cut=st.integers(1, 10_000))
def test_a_truncated_stream_is_corrupt_not_short(encoding, data, cut):
    """A body cut inside a frame or member must fail, never decode to a silent prefix."""
    whole = encoding.compress(data)
    truncated = whole[:cut % len(whole)]
    assume(truncated)  # no bytes at all is no frame at all: an empty body, not a cut one
    with pytest.raises(CorruptPayload):
        decode(encoding, [truncated])


@PROFILE
@given(encoding=st.sampled_from([Encoding.ZSTD, Encoding.GZIP]), junk=st.binary(min_size=1, max_size=200))
def test_garbage_is_a_corrupt_payload_or_decodes(encoding, junk):
    """Arbitrary bytes under a codec: decoded, or CorruptPayload (a 400), never another exception."""
    try:
        decode(encoding, [junk])
    except CorruptPayload:
        pass
