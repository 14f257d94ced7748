"""The fleet table: one line per engine, drawn line by line (Textual's line API).

Only the lines on screen are drawn, each from a cached strip, and nothing a key
press does costs in proportion to the fleet: moving the cursor repaints two lines,
a page or a new filter repaints the lines on screen (the order comes from the
model's cache), and an event repaints the one row it changed. A row's cells are
made again only when the row changes; the one thing that moves with the clock
alone, the age of the last push, is put in front of its cell when the line is
drawn, so the passing seconds cost the lines on screen, not the fleet. Columns
are as wide as their widest cell over the whole fleet (not only the rows a filter
shows), so they stay put while a filter is typed. (A DataTable re-rendered every
visible cell on each cursor move and rebuilt itself on each filter: about ten
times slower at 1,000 rows.)
"""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .format import AGE_WIDTH, COLUMNS, PUSH, push_age, still_cells

GAP = 2
CURSOR = Style(reverse=True)


def _text(cell) -> Text:
    return cell if isinstance(cell, Text) else Text(str(cell))


def cell_widths(cells: tuple) -> tuple[int, ...]:
    """Each cell's width on screen; the push column with room for an age in front."""
    widths = [_text(cell).cell_len for cell in cells]
    if cells[PUSH] != "-":
        widths[PUSH] += AGE_WIDTH + 1
    return tuple(widths)


def column_widths(rows) -> list[int]:
    """Each column as wide as its header and its widest cell (pure; rows of cell widths)."""
    widths = [len(h) for h in COLUMNS]
    for row in rows:
        widths = [max(a, b) for a, b in zip(widths, row)]
    return widths


def with_age(cells: tuple, age: str | None) -> tuple:
    """The cells with the push's age in front of the push column, right-aligned."""
    if age is None:
        return cells
    return (*cells[:PUSH], f"{age:>{AGE_WIDTH}} {cells[PUSH]}", *cells[PUSH + 1:])


def line_segments(cells: tuple, widths: list[int]) -> list[Segment]:
    """A line's segments: the plain cells and their padding run together, one segment
    per styled cell (few objects per line, so the garbage collector has little to walk)."""
    out: list[Segment] = []
    plain = [" "]
    for cell, width in zip(cells, widths):
        text = _text(cell)
        if text.style:
            out.append(Segment("".join(plain)))
            out.append(Segment(text.plain, text.style if isinstance(text.style, Style) else Style.parse(text.style)))
            plain = []
        else:
            plain.append(text.plain)
        plain.append(" " * (width - text.cell_len + GAP))
    out.append(Segment("".join(plain)))
    return out


class FleetTable(ScrollView, can_focus=True):
    BINDINGS = [Binding("up", "move(-1)", show=False), Binding("down", "move(1)", show=False),
                Binding("pageup", "page(-1)", show=False), Binding("pagedown", "page(1)", show=False),
                Binding("home", "jump(0)", show=False), Binding("end", "jump(-1)", show=False)]

    class Selected(Message):
        """Enter on a row."""

    def __init__(self, header=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.header = header          # a Static above the table that shows the column names
        self.order: list[str] = []
        self.widths = [len(h) for h in COLUMNS]
        self.cursor = 0
        self.model = None
        self.now = 0.0
        self._made: dict[str, tuple] = {}    # name -> (its cache key, still cells, cell widths)
        self._lines: dict[str, tuple] = {}   # name -> (cache key, push age, (x, width), strip)
        self._seen: tuple = (None, frozenset())  # (model generation, marks) the cells were made for
        self._header_for: list[int] | None = None

    @property
    def selected(self) -> str | None:
        return self.order[self.cursor] if 0 <= self.cursor < len(self.order) else None

    def _key(self, model, name: str, marked: bool) -> tuple:
        return (model.versions.get(name), model.alerts.get(name, 0), marked)

    def _cells(self, model, name: str, marked: bool) -> tuple:
        """A row's still cells, made again only when the row or its mark changed."""
        key = self._key(model, name, marked)
        made = self._made.get(name)
        if made is None or made[0] != key:
            cells = still_cells(model.rows[name], key[1], marked, model.member_status(name))
            made = self._made[name] = (key, cells, cell_widths(cells))
        return made

    def show(self, model, names: list[str], now: float, marked: set[str]) -> None:
        """Show `names` (the model's rows, in order) at `now`. Costs the rows that
        changed since the last call and the lines on screen, not the fleet."""
        self.model, ticked = model, int(now) != int(self.now)
        self.now = now
        seen = (model.generation, frozenset(marked))
        if seen != self._seen:
            self._seen = seen
            self._remake(model, marked)
        if names != self.order:
            keep = self.selected
            self.order = list(names)
            self.cursor = (self.order.index(keep) if keep in names else
                           min(self.cursor, max(0, len(self.order) - 1)))
            self._resize()
            self._reveal()
            self.refresh()
        elif ticked:  # the lines on screen whose push age reads differently now
            top, height = self.scroll_offset.y, self.size.height
            for y, name in enumerate(self.order[top:top + height], start=top):
                made, row = self._lines.get(name), model.rows.get(name)
                if made is None or row is None or made[1] != push_age(row.get("last_push"), now):
                    self.refresh_line(y)

    def _remake(self, model, marked: set[str]) -> None:
        """After the fleet changed: the changed rows' cells, and the widths if they moved."""
        changed = [n for n in model.rows
                   if (made := self._made.get(n)) is None or made[0] != self._key(model, n, n in marked)]
        gone = [n for n in self._made if n not in model.rows]
        before = [self._made[n][2] for n in changed if n in self._made] + [self._made[n][2] for n in gone]
        for name in gone:
            del self._made[name]
        for name in changed:
            self._lines.pop(name, None)
            self._cells(model, name, name in marked)
        if any(w[i] >= self.widths[i] for w in before for i in range(len(COLUMNS))):
            widths = column_widths(m[2] for m in self._made.values())  # a widest cell changed
        else:  # only wider cells can move the columns
            widths = column_widths([self.widths, *(self._made[n][2] for n in changed)])
        if widths != self.widths or self._header_for != widths:
            self.widths = self._header_for = widths
            self._lines.clear()
            self._resize()
            if self.header is not None:
                self.header.update(Text(" " + "".join(h.ljust(w + GAP) for h, w in zip(COLUMNS, widths)),
                                        style="bold"))
            self.refresh()
            return
        top, height = self.scroll_offset.y, self.size.height
        changed_set = set(changed)
        for y, name in enumerate(self.order[top:top + height], start=top):
            if name in changed_set or name not in model.rows:  # a changed row on screen
                self.refresh_line(y)

    def _resize(self) -> None:
        self.virtual_size = Size(sum(self.widths) + GAP * len(self.widths) + 1, len(self.order))

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        if not 0 <= index < len(self.order) or self.order[index] not in self.model.rows:
            return Strip.blank(width)
        name = self.order[index]
        key, cells, _ = self._cells(self.model, name, name in self._seen[1])
        age = push_age(self.model.rows[name].get("last_push"), self.now)
        x = self.scroll_offset.x
        made = self._lines.get(name)
        if made is None or made[0] != key or made[1] != age or made[2] != (x, width):
            if len(self._lines) > 4 * max(self.size.height, 50):  # keep about the lines on screen
                self._lines.clear()
            segments = line_segments(with_age(cells, age), self.widths)
            strip = Strip(segments, sum(s.cell_length for s in segments)).crop_extend(x, x + width, None)
            made = self._lines[name] = (key, age, (x, width), strip)
        strip = made[3]  # the same strip object again: Textual's caches of it hit
        return strip.apply_style(CURSOR) if index == self.cursor and self.has_focus else strip

    def _place(self, index: int) -> None:
        if not self.order:
            return
        before, self.cursor = self.cursor, max(0, min(len(self.order) - 1, index))
        self.refresh_line(before)
        self.refresh_line(self.cursor)
        self._reveal()

    def _reveal(self) -> None:
        """Scroll so that the cursor's line is on screen."""
        top, height = self.scroll_offset.y, max(1, self.size.height)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def action_move(self, step: int) -> None:
        self._place(self.cursor + step)

    def action_page(self, step: int) -> None:
        self._place(self.cursor + step * max(1, self.size.height - 1))

    def action_jump(self, where: int) -> None:
        self._place(where if where >= 0 else len(self.order) - 1)

    def move_to(self, name: str) -> None:
        if name in self.order:
            self._place(self.order.index(name))

    def on_focus(self) -> None:
        self.refresh_line(self.cursor)

    def on_blur(self) -> None:
        self.refresh_line(self.cursor)

    def on_click(self, event) -> None:
        self._place(self.scroll_offset.y + event.y)
