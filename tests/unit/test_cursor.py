"""Cursor: one spelling per value, total order, growth past four digits, key form."""
import random

import pytest

from emulator.protocol.cursor import MAX_FIELD, ZERO, Cursor, CursorError, parse_optional
from emulator.protocol.errors import MalformedRequest


@pytest.mark.parametrize("text, epoch, seq", [
    ("wkc_0000_0000", 0, 0),
    ("wkc_0000_0024", 0, 24),
    ("wkc_0003_9999", 3, 9999),
    ("wkc_0000_12345", 0, 12345),
    ("wkc_10000_0001", 10000, 1),
    ("wkc_999999999999_999999999999", MAX_FIELD, MAX_FIELD),
])
def test_parse_and_format_round_trip(text, epoch, seq):
    cursor = Cursor.parse(text)
    assert (cursor.epoch, cursor.seq) == (epoch, seq)
    assert str(cursor) == text
    assert Cursor.parse(str(cursor)) == cursor


def test_random_values_round_trip():
    rng = random.Random(1)
    for _ in range(2000):
        cursor = Cursor(rng.randint(0, 10 ** rng.randint(1, 12) - 1),
                        rng.randint(0, 10 ** rng.randint(1, 12) - 1))
        assert Cursor.parse(str(cursor)) == cursor
        assert Cursor.parse_key_form(cursor.key_form()) == cursor


def test_growth_beyond_four_digits_never_wraps():
    assert str(Cursor(0, 9999).advance()) == "wkc_0000_10000"
    assert str(Cursor(0, 12345)) == "wkc_0000_12345"
    assert Cursor(0, 9999) < Cursor(0, 10000)


@pytest.mark.parametrize("text", [
    "",                       # empty
    "wkc_0000",               # one field
    "wkx_0000_0001",          # bad prefix
    "WKC_0000_0001",          # prefix is case-sensitive
    "0000_0001",              # no prefix
    "wkc_000_0001",           # three digits
    "wkc_0000_001",           # three digits
    "wkc_00a0_0001",          # non-digit
    "wkc_0000_000x",
    "wkc_-001_0001",          # sign
    "wkc_+001_0001",
    "wkc_0000_0001 ",         # trailing space
    " wkc_0000_0001",
    "wkc_0000_0001\n",        # trailing newline ($ would accept it, fullmatch must not)
    "wkc_0000__0001",
    "wkc_0000_0001_0002",
    "wkc_00012_0001",         # leading zero in a >4-digit field: a second spelling of 12
    "wkc_0000_01234",
    "wkc_0000_000000000024",  # twelve digits with leading zeros: that is the key form only
    "wkc_0000_1000000000000",  # 10**12: over the cap (thirteen digits)
    "wkc_0000_9999999999999",
    "wkc_\u0660\u0660\u0660\u0661_0001",  # Arabic-Indic digits: int() would accept them
    "wkc_0000_\uff10\uff10\uff10\uff11",  # full-width digits
])
def test_strict_validation(text):
    with pytest.raises(CursorError) as info:
        Cursor.parse(text)
    assert isinstance(info.value, MalformedRequest)  # a bad cursor is a 400
    assert info.value.status_hint == 400


@pytest.mark.parametrize("value", [None, 24, b"wkc_0000_0024"])
def test_parse_refuses_non_text(value):
    with pytest.raises(CursorError):
        Cursor.parse(value)


@pytest.mark.parametrize("epoch, seq", [(-1, 0), (0, -1), (MAX_FIELD + 1, 0), (0, MAX_FIELD + 1),
                                        (0, 1.0), ("0", 1), (True, 1), (0, None)])
def test_constructor_range_and_type(epoch, seq):
    with pytest.raises(CursorError):
        Cursor(epoch, seq)


def test_advance_past_the_cap_is_refused():
    with pytest.raises(CursorError):
        Cursor(0, MAX_FIELD).advance()


def test_total_order_is_epoch_then_seq():
    values = [Cursor(1, 0), Cursor(0, 10**6), Cursor(0, 0), Cursor(2, 5), Cursor(1, 9999),
              Cursor(1, 10000), Cursor(0, 24)]
    assert sorted(values) == [Cursor(0, 0), Cursor(0, 24), Cursor(0, 10**6), Cursor(1, 0),
                              Cursor(1, 9999), Cursor(1, 10000), Cursor(2, 5)]
    assert Cursor(0, 10**6) < Cursor(1, 0)  # a new epoch is after any seq of the old one
    assert Cursor(3, 3) == Cursor.parse("wkc_0003_0003")
    assert hash(Cursor(3, 3)) == hash(Cursor.parse("wkc_0003_0003"))


def test_total_order_properties_random():
    rng = random.Random(2)
    values = [Cursor(rng.randint(0, 3), rng.randint(0, 50)) for _ in range(200)]
    for a, b in zip(values, values[1:] + values[:1]):
        # exactly one of <, ==, > holds, and it agrees with the (epoch, seq) tuple
        assert [a < b, a == b, a > b].count(True) == 1
        assert (a < b) == ((a.epoch, a.seq) < (b.epoch, b.seq))


def test_key_form_is_fixed_width():
    assert Cursor(0, 24).key_form() == "wkc_000000000000_000000000024"
    assert Cursor(MAX_FIELD, 0).key_form() == "wkc_999999999999_000000000000"
    assert len({len(Cursor(e, s).key_form()) for e, s in [(0, 0), (5, 12345), (MAX_FIELD, MAX_FIELD)]}) == 1


def test_key_form_lexicographic_order_is_cursor_order():
    """The point of the key form: sorting text sorts cursors, at every width."""
    rng = random.Random(3)

    def field():
        return rng.randint(0, 10 ** rng.randint(1, 12) - 1)

    cursors = [Cursor(field() if rng.random() < 0.3 else rng.randint(0, 2), field())
               for _ in range(3000)]
    cursors += [Cursor(0, 9999), Cursor(0, 10000), Cursor(1, 0), Cursor(0, MAX_FIELD)]
    by_text = sorted(cursors, key=Cursor.key_form)
    assert by_text == sorted(cursors)
    # the variable-width text form does not have this property, which is why keys avoid it
    assert sorted([Cursor(0, 9999), Cursor(0, 10000)], key=str) != sorted([Cursor(0, 9999), Cursor(0, 10000)])


@pytest.mark.parametrize("text", ["wkc_0000_0024", "wkc_00000000000_000000000024",
                                  "wkc_000000000000_00000000002x", "wkc_000000000000_0000000000024"])
def test_parse_key_form_is_strict(text):
    with pytest.raises(CursorError):
        Cursor.parse_key_form(text)


def test_next_epoch_keeps_seq_and_orders_after():
    cursor = Cursor(0, 24)
    assert cursor.next_epoch() == Cursor(1, 24)
    assert cursor.next_epoch() > Cursor(0, MAX_FIELD)


def test_parse_optional():
    assert parse_optional(None) is None
    assert parse_optional("") is None
    assert parse_optional("wkc_0000_0000") == ZERO
    with pytest.raises(CursorError):
        parse_optional("nope")
