"""The fleet table: one row per engine, repainting only the cells that changed."""
from __future__ import annotations

from textual.widgets import DataTable

from .format import COLUMNS, row_cells


class FleetTable(DataTable):
    """Rows keyed by engine name. `show` diffs against what is on screen: when the
    order is unchanged it updates changed cells in place (cheap, keeps the cursor);
    otherwise it rebuilds and puts the cursor back on the same engine."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._order: list[str] = []
        self._cells: dict[str, tuple] = {}

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.add_column(label, key=label)

    @property
    def selected(self) -> str | None:
        if not self._order or self.cursor_row is None or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    def show(self, model, names: list[str], now: float, marked: set[str]) -> None:
        cells = {n: row_cells(model.rows[n], now, model.alerts.get(n, 0), n in marked) for n in names}
        if names == self._order:
            for name in names:
                old, new = self._cells.get(name), cells[name]
                if old == new:
                    continue
                for i, (a, b) in enumerate(zip(old or (), new)):
                    if a != b:
                        self.update_cell(name, COLUMNS[i], b, update_width=True)
            self._cells = cells
            return
        keep = self.selected
        self.clear()
        for name in names:
            self.add_row(*cells[name], key=name)
        self._order, self._cells = list(names), cells
        if keep in names:
            self.move_cursor(row=names.index(keep), animate=False)
