"""The fleet table: one line per engine, drawn line by line (Textual's line API).

Only the lines on screen are drawn, each from a cached strip, so scrolling or
moving the cursor through 1,000 engines repaints two lines, and an event repaints
the one row it changed. (A DataTable re-rendered every visible cell on each
cursor move: about ten times slower at 1,000 rows.)
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

from .format import COLUMNS, row_cells

GAP = 2
CURSOR = Style(reverse=True)


def _text(cell) -> Text:
    return cell if isinstance(cell, Text) else Text(str(cell))


def cell_widths(cells: tuple) -> tuple[int, ...]:
    return tuple(_text(cell).cell_len for cell in cells)


def column_widths(rows) -> list[int]:
    """Each column as wide as its header and its widest cell (pure; rows of cell widths)."""
    widths = [len(h) for h in COLUMNS]
    for row in rows:
        widths = [max(a, b) for a, b in zip(widths, row)]
    return widths


def line_segments(cells: tuple, widths: list[int]) -> list[Segment]:
    out: list[Segment] = [Segment(" ")]
    for cell, width in zip(cells, widths):
        text = _text(cell)
        out.append(Segment(text.plain, text.style if isinstance(text.style, Style) else
                           Style.parse(text.style) if text.style else None))
        out.append(Segment(" " * (width - text.cell_len + GAP)))
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
        self.cells: dict[str, tuple] = {}
        self.widths = [len(h) for h in COLUMNS]
        self.cursor = 0
        self._strips: dict[str, Strip] = {}
        self._made: dict[str, tuple] = {}  # name -> (its cache key, cells, cell widths)

    @property
    def selected(self) -> str | None:
        return self.order[self.cursor] if 0 <= self.cursor < len(self.order) else None

    def _cells(self, model, name: str, now: float, marked: bool) -> tuple:
        """A row's cells, made again only when the row, the second or its mark changed."""
        key = (model.versions.get(name), int(now), model.alerts.get(name, 0), marked)
        made = self._made.get(name)
        if made is None or made[0] != key:
            cells = row_cells(model.rows[name], now, key[2], marked, model.member_status(name))
            made = self._made[name] = (key, cells, cell_widths(cells))
        return made

    def show(self, model, names: list[str], now: float, marked: set[str]) -> None:
        made = [self._cells(model, n, now, n in marked) for n in names]
        cells = {n: m[1] for n, m in zip(names, made)}
        widths = column_widths(m[2] for m in made)
        if names == self.order and widths == self.widths:
            for y, name in enumerate(names):
                if cells[name] != self.cells.get(name):
                    self._strips.pop(name, None)
                    self.refresh_line(y)
            self.cells = cells
            return
        keep = self.selected
        self.order, self.cells, self.widths, self._strips = list(names), cells, widths, {}
        self.cursor = names.index(keep) if keep in names else min(self.cursor, max(0, len(names) - 1))
        self.virtual_size = Size(sum(widths) + GAP * len(widths) + 1, len(names))
        if self.header is not None:
            self.header.update(Text(" " + "".join(h.ljust(w + GAP) for h, w in zip(COLUMNS, widths)),
                                    style="bold"))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        if not 0 <= index < len(self.order):
            return Strip.blank(width)
        name = self.order[index]
        strip = self._strips.get(name)
        if strip is None:
            strip = self._strips[name] = Strip(line_segments(self.cells[name], self.widths))
        strip = strip.crop_extend(self.scroll_offset.x, self.scroll_offset.x + width, None)
        return strip.apply_style(CURSOR) if index == self.cursor and self.has_focus else strip

    def _place(self, index: int) -> None:
        if not self.order:
            return
        before, self.cursor = self.cursor, max(0, min(len(self.order) - 1, index))
        self.refresh_line(before)
        self.refresh_line(self.cursor)
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
