"""Status bar fields: image index, image size, zoom, cursor position in image pixels and the raw
value there for high-bit-depth images."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar


class StatusFields:
    """Permanent labels on the right of the status bar; messages still show on the left."""

    def __init__(self, bar: QStatusBar) -> None:
        self.index = QLabel()
        self.size = QLabel()
        self.zoom = QLabel()
        self.cursor = QLabel()
        self.cursor.setMinimumWidth(120)
        for label in (self.index, self.size, self.zoom, self.cursor):
            bar.addPermanentWidget(label)
        self.clear()

    def clear(self) -> None:
        for label in (self.index, self.size, self.zoom, self.cursor):
            label.setText("")

    def set_image(self, index: int, total: int, shown: int, size: tuple[int, int] | None, name: str) -> None:
        filtered = f" ({shown} shown)" if shown != total else ""
        self.index.setText(f"{name}  {index + 1} / {total}{filtered}")
        self.size.setText(f"{size[0]} × {size[1]}" if size else "size unknown")

    def set_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f}%")

    def set_cursor(self, x: float, y: float, value: str | None = None) -> None:
        """``value`` is the raw pixel value there (a thermal image's counts or degrees)."""
        self.cursor.setText(f"x {x:.0f}  y {y:.0f}" + (f"  = {value}" if value is not None else ""))
