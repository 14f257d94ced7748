"""Properties of cursors and object keys (hypothesis; pure). Profiles: see
test_properties_signing.py (WKP_HYPOTHESIS_PROFILE=wkp-deep for a long run)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from emulator.protocol import layout
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import MAX_FIELD, Cursor, CursorError
from emulator.protocol.headers import Part

from .test_properties_signing import PROFILE

fields = st.integers(0, MAX_FIELD)
cursors = st.builds(Cursor, fields, fields)
# Text that looks like a cursor now and then: the parser's edges are there.
cursorish = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"wkc_[0-9\u0660-\u0669]{0,14}_[0-9]{0,14}", fullmatch=True),
    cursors.map(str).map(lambda s: s.replace("_", "_0", 1)),
    cursors.map(lambda c: f"wkc_{c.epoch:013d}_{c.seq:04d}"))


@PROFILE
@given(c=cursors)
def test_format_then_parse_is_identity(c):
    assert Cursor.parse(str(c)) == c
    assert Cursor.parse_key_form(c.key_form()) == c


@PROFILE
@given(text=cursorish)
def test_parse_accepts_only_the_canonical_spelling(text):
    """One spelling per value: whatever parses formats back to the same text;
    everything else is a CursorError (a 400), never another exception."""
    try:
        c = Cursor.parse(text)
    except CursorError:
        return
    assert str(c) == text


@PROFILE
@given(a=cursors, b=cursors)
def test_key_form_order_is_cursor_order(a, b):
    """Listing order is replay order, whatever the widths of the text forms."""
    assert (a < b) == (a.key_form() < b.key_form())
    assert (a == b) == (str(a) == str(b))


@PROFILE
@given(kind=st.sampled_from(["full", "delta"]), a=cursors, gap=st.integers(1, 1000),
       encoding=st.sampled_from(list(Encoding)),
       part=st.one_of(st.none(), st.integers(1, 9999).flatmap(
           lambda count: st.builds(Part, st.integers(1, count), st.just(count)))))
def test_object_keys_parse_back(kind, a, gap, encoding, part):
    to = Cursor(a.epoch, min(MAX_FIELD, a.seq + gap))
    frm = a if kind == "delta" and a < to else None
    kind = "delta" if frm else "full"
    key = layout.object_key("default", "vector", "i-1", kind, frm, to, encoding, part)
    obj = layout.parse_key(key, size=3)
    assert (obj.kind, obj.cursor_from, obj.cursor_to, obj.encoding, obj.part) == (kind, frm, to, encoding, part)


@PROFILE
@given(key=st.one_of(st.text(max_size=80), st.from_regex(
    r"weftkit/[a-z]{1,3}/[a-z]{1,3}/[a-z0-9]{1,3}/(full|delta|x)/wkc_[0-9]{12}_[0-9]{12}(_to_wkc_[0-9]{12}_[0-9]{12})?(\.p[0-9]{4}of[0-9]{4})?\.(zst|gz|bin|txt)",
    fullmatch=True)))
def test_parse_key_never_raises(key):
    """Stray keys in a hand-edited bucket are skipped (None), never a crash of the planner."""
    obj = layout.parse_key(key)
    if obj is not None:
        assert (obj.kind == "delta") == (obj.cursor_from is not None)
        assert obj.cursor_from is None or obj.cursor_from < obj.cursor_to
