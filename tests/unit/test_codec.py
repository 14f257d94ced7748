"""Codecs: streaming round trips, concatenation, corruption, transcoding, zstd level."""
import gzip
import random

import pytest
import zstandard

from emulator.protocol.codec import ZSTD_LEVEL, CorruptPayload, Encoding, transcode
from emulator.protocol.errors import MalformedRequest

RNG_SEED = 7
COMPRESSED = [Encoding.ZSTD, Encoding.GZIP]


def sample(rng: random.Random, size: int) -> bytes:
    """Half compressible text, half noise, so that codecs do real work."""
    text = b"".join(rng.choice([b"page ", b"wal ", b"row ", b"\x00" * 7]) for _ in range(size // 8))
    noise = rng.randbytes(size - len(text)) if size > len(text) else b""
    return (text + noise)[:size]


def chunks(data: bytes, rng: random.Random, max_size: int = 300):
    """Random cuts, including empty and one-byte chunks."""
    at = 0
    while at < len(data):
        size = rng.choice([0, 1, rng.randint(1, max_size)])
        yield data[at:at + size]
        at += size


def stream(codec, data: bytes, rng: random.Random) -> bytes:
    out = [codec.feed(piece) for piece in chunks(data, rng)]
    out.append(codec.flush())
    return b"".join(out)


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("size", [0, 1, 100, 5_000, 70_000])
def test_streaming_round_trip_with_random_chunks(encoding, size):
    rng = random.Random(RNG_SEED + size)
    data = sample(rng, size)
    for _ in range(3):
        compressed = stream(encoding.compressor(), data, rng)
        assert stream(encoding.decompressor(), compressed, rng) == data
        assert encoding.decompress(compressed) == data
    assert encoding.decompress(encoding.compress(data)) == data


def test_identity_is_the_bytes_themselves():
    assert Encoding.NONE.compress(b"abc") == b"abc"
    assert Encoding.NONE.decompress(b"abc") == b"abc"


def test_compressed_output_is_standard():
    """Other tools can read what we write: zstd frames and gzip members."""
    data = b"standard " * 100
    assert gzip.decompress(Encoding.GZIP.compress(data)) == data
    assert zstandard.ZstdDecompressor().decompressobj().decompress(Encoding.ZSTD.compress(data)) == data
    assert Encoding.GZIP.decompress(gzip.compress(data)) == data
    assert Encoding.ZSTD.decompress(zstandard.ZstdCompressor().compress(data)) == data


@pytest.mark.parametrize("encoding", list(Encoding))
def test_concatenation_decodes_to_the_concatenation(encoding):
    """A restore body is a full followed by deltas, each compressed on its own."""
    rng = random.Random(RNG_SEED)
    pieces = [sample(rng, size) for size in (3000, 0, 1, 20_000, 777)]
    body = b"".join(encoding.compress(p) for p in pieces)
    expected = b"".join(pieces)
    assert encoding.decompress(body) == expected
    for _ in range(5):  # random cuts cross frame/member boundaries anywhere
        assert stream(encoding.decompressor(), body, rng) == expected


@pytest.mark.parametrize("encoding", COMPRESSED)
def test_concatenation_fed_exactly_at_boundaries(encoding):
    pieces = [b"first" * 50, b"second" * 50, b"third"]
    frames = [encoding.compress(p) for p in pieces]
    dec = encoding.decompressor()
    assert b"".join(dec.feed(f) for f in frames) + dec.flush() == b"".join(pieces)


@pytest.mark.parametrize("encoding", COMPRESSED)
def test_truncated_input_raises(encoding):
    rng = random.Random(RNG_SEED)
    pieces = [sample(rng, 4000), sample(rng, 4000)]
    body = b"".join(encoding.compress(p) for p in pieces)
    first = len(encoding.compress(pieces[0]))
    for cut in sorted({1, 5, 10, first // 2, first - 1, first + 1, first + 20, len(body) - 1}):
        with pytest.raises(CorruptPayload):
            encoding.decompress(body[:cut])
        with pytest.raises(CorruptPayload):
            stream(encoding.decompressor(), body[:cut], rng)
    # cutting exactly at a frame/member boundary leaves a valid, shorter stream
    assert encoding.decompress(body[:first]) == pieces[0]


@pytest.mark.parametrize("encoding", COMPRESSED)
def test_a_flipped_byte_never_decodes_to_different_data(encoding):
    """zstd frames carry a checksum, gzip members a CRC32 and a length.

    A flip either raises or lands in bits no decoder reads (gzip's mtime, a
    block's padding bits), in which case the output is still the original:
    never silently different data.
    """
    data = sample(random.Random(RNG_SEED), 2000)
    blob = encoding.compress(data)
    detected = 0
    for i in range(len(blob)):
        damaged = bytearray(blob)
        damaged[i] ^= 0x01
        try:
            out = encoding.decompress(bytes(damaged))
        except CorruptPayload:
            detected += 1
        else:
            assert out == data, f"flip at byte {i} decoded to different data"
    assert detected >= len(blob) - 10


@pytest.mark.parametrize("encoding", COMPRESSED)
@pytest.mark.parametrize("garbage", [b"not compressed at all", b"\x00" * 64, b"\xff"])
def test_garbage_raises(encoding, garbage):
    with pytest.raises(CorruptPayload):
        encoding.decompress(garbage)


@pytest.mark.parametrize("encoding", COMPRESSED)
def test_trailing_garbage_after_a_valid_stream_raises(encoding):
    with pytest.raises(CorruptPayload):
        encoding.decompress(encoding.compress(b"good") + b"junk that is no frame")


def test_corrupt_payload_is_a_400():
    with pytest.raises(MalformedRequest) as info:
        Encoding.GZIP.decompress(b"junk")
    assert info.value.status_hint == 400


@pytest.mark.parametrize("source", list(Encoding))
@pytest.mark.parametrize("target", list(Encoding))
def test_transcode_between_every_pair(source, target):
    rng = random.Random(RNG_SEED)
    pieces = [sample(rng, 3000), sample(rng, 10), sample(rng, 9000)]
    body = b"".join(source.compress(p) for p in pieces)  # a multi-frame chain
    out = stream(transcode(source, target), body, rng)
    assert target.decompress(out) == b"".join(pieces)
    if target is Encoding.NONE:
        assert out == b"".join(pieces)


def test_transcode_of_corrupt_source_raises():
    with pytest.raises(CorruptPayload):
        stream(transcode(Encoding.ZSTD, Encoding.GZIP), b"junk", random.Random(1))


def test_zstd_default_level_is_6():
    assert ZSTD_LEVEL == 6
    data = sample(random.Random(RNG_SEED), 200_000)
    ours = Encoding.ZSTD.compress(data)
    reference = zstandard.ZstdCompressor(level=6, write_checksum=True).compressobj()
    assert ours == reference.compress(data) + reference.flush()
    # the comparison can tell levels apart on this input
    other = {level: zstandard.ZstdCompressor(level=level, write_checksum=True).compressobj()
             for level in (1, 19)}
    for level, cobj in other.items():
        assert cobj.compress(data) + cobj.flush() != ours, level
    params = zstandard.get_frame_parameters(ours)
    assert params.has_checksum


def test_explicit_level_is_honoured():
    data = sample(random.Random(RNG_SEED), 50_000)
    ref = zstandard.ZstdCompressor(level=1, write_checksum=True).compressobj()
    assert Encoding.ZSTD.compress(data, level=1) == ref.compress(data) + ref.flush()


class TestEncodingNames:
    @pytest.mark.parametrize("value, encoding", [
        (None, Encoding.NONE), ("", Encoding.NONE), ("identity", Encoding.NONE),
        ("none", Encoding.NONE), ("Identity", Encoding.NONE), ("zstd", Encoding.ZSTD),
        ("ZSTD", Encoding.ZSTD), ("gzip", Encoding.GZIP), (" gzip ", Encoding.GZIP),
    ])
    def test_from_header(self, value, encoding):
        assert Encoding.from_header(value) is encoding

    @pytest.mark.parametrize("value", ["br", "deflate", "x-gzip", "zstd;q=1", "gzip, zstd"])
    def test_from_header_unknown_is_400_naming_content_encoding(self, value):
        with pytest.raises(MalformedRequest) as info:
            Encoding.from_header(value)
        assert info.value.header == "Content-Encoding"

    def test_header_extension_setting(self):
        assert [e.header for e in Encoding] == ["zstd", "gzip", "identity"]
        assert [e.extension for e in Encoding] == ["zst", "gz", "bin"]
        for e in Encoding:
            assert Encoding.from_extension(e.extension) is e
            assert Encoding.from_header(e.header) is e
            assert Encoding.from_setting(e.value) is e
        with pytest.raises(ValueError):
            Encoding.from_extension("lz4")
        with pytest.raises(ValueError):
            Encoding.from_setting("brotli")
