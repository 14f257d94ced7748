"""The WKP-1 cursor: `wkc_EEEE_SSSS`.

A cursor names a point in one engine's history: `epoch` is the lineage
generation (bumped when a writer adopts a lineage, so a stale writer is
fenced), `seq` the engine's WAL sequence number (its lsn). Order is
(epoch, seq), which is also the order of the canonical text while both fields
fit in four digits.

Width: the text form pads each field to four digits and grows beyond four when
a value needs it (`wkc_0000_12345`), never truncating or wrapping. Only one
spelling is accepted per value (no extra leading zeros beyond four digits), so
equal cursors always have equal text. Fields are capped at 10**12 - 1; larger
values are refused rather than silently reordered. Object keys use `key_form`,
fixed at twelve digits per field, so that listing order stays replay order
whatever the values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MalformedRequest

MAX_FIELD = 10**12 - 1
# [0-9], not \d: \d also matches non-ASCII digits ("٠٠٠١"), which int() accepts,
# and would give one value a second spelling.
_TEXT = re.compile(r"wkc_([0-9]{4,12})_([0-9]{4,12})")
_KEY = re.compile(r"wkc_([0-9]{12})_([0-9]{12})")


class CursorError(MalformedRequest):
    pass


def _field(digits: str, text: str) -> int:
    if len(digits) > 4 and digits[0] == "0":
        raise CursorError(f"cursor {text!r} is not canonical: a field wider than four digits has a leading zero")
    return int(digits)


@dataclass(frozen=True, init=False)
class Cursor:
    """Ordered by (epoch, seq); the comparisons are written out below rather than generated
    (order=True compares two tuples built per call, twice as slow; a push compares several)."""
    epoch: int
    seq: int

    def __init__(self, epoch: int, seq: int):
        # Written by hand, not generated: a frozen dataclass's __init__ sets each field through
        # object.__setattr__, twice as slow as filling __dict__, and every push round makes
        # cursors. Two plain ints in range pass one test; anything else takes _check, which
        # says what is wrong.
        fields = self.__dict__
        fields["epoch"], fields["seq"] = epoch, seq
        if not (type(epoch) is int and type(seq) is int and 0 <= epoch <= MAX_FIELD
                and 0 <= seq <= MAX_FIELD):
            self._check()

    def _check(self) -> None:
        for name in ("epoch", "seq"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise CursorError(f"cursor {name} must be an int, got {value!r}")
            if not 0 <= value <= MAX_FIELD:
                raise CursorError(f"cursor {name} {value} outside 0..{MAX_FIELD}")

    def __lt__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.epoch < other.epoch or (self.epoch == other.epoch and self.seq < other.seq)

    def __le__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.epoch < other.epoch or (self.epoch == other.epoch and self.seq <= other.seq)

    def __gt__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.epoch > other.epoch or (self.epoch == other.epoch and self.seq > other.seq)

    def __ge__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.epoch > other.epoch or (self.epoch == other.epoch and self.seq >= other.seq)

    @classmethod
    def parse(cls, text: str) -> "Cursor":
        if not isinstance(text, str):
            raise CursorError(f"cursor must be text, got {text!r}")
        match = _TEXT.fullmatch(text)
        if not match:
            raise CursorError(f"bad cursor {text!r}: expected wkc_EEEE_SSSS (four to twelve digits per field)")
        return cls(_field(match[1], text), _field(match[2], text))

    @classmethod
    def parse_key_form(cls, text: str) -> "Cursor":
        match = _KEY.fullmatch(text)
        if not match:
            raise CursorError(f"bad key cursor {text!r}")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return "wkc_%04d_%04d" % (self.epoch, self.seq)  # a third faster than the f-string's :04d

    def key_form(self) -> str:
        return f"wkc_{self.epoch:012d}_{self.seq:012d}"

    def advance(self, n: int = 1) -> "Cursor":
        return Cursor(self.epoch, self.seq + n)

    def next_epoch(self) -> "Cursor":
        """The first cursor of a new lineage generation descending from this one."""
        return Cursor(self.epoch + 1, self.seq)


ZERO = Cursor(0, 0)


def parse_optional(text: str | None) -> Cursor | None:
    """Empty or absent means "no cursor" (a first full, a latest restore)."""
    if text is None or text == "":
        return None
    return Cursor.parse(text)
