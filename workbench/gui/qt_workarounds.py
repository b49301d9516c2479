"""Work around PySide6 reference-count bugs that abort the interpreter.

PySide6 6.12 on CPython 3.11 drops a reference without taking one in two places:

- every ``SignalInstance.emit()`` made from Python loses a reference to ``True``;
- every void C++ method called from Python (``QRectF.setWidth``, ``painter.drawRect``...)
  returns ``None`` without taking a reference to it.

Both objects start with a few thousand references, so after a few thousand mouse moves
or painted items CPython aborts with "bool_dealloc: deallocating True or False" or
"none_dealloc: deallocating None". CPython 3.12+ makes both immortal (PEP 683), which
hides the bugs there. ``apply()`` probes each leak once and, only where it is real, adds
a huge number of references so the count can never reach zero. It runs when
``workbench.gui`` is imported, before any widget exists.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, QRectF, Signal

_HEADROOM = 1 << 48  # references added: ~10^14 leaking calls before it could matter
_applied: dict[str, bool] = {}


class _Probe(QObject):
    ping = Signal(object)


def emit_leaks_true() -> bool:
    """Whether one ``emit()`` costs ``True`` a reference on this PySide6/CPython."""
    probe = _Probe()
    before = sys.getrefcount(True)
    probe.ping.emit(None)
    return sys.getrefcount(True) < before


def void_call_leaks_none() -> bool:
    """Whether a void C++ call costs ``None`` a reference on this PySide6/CPython."""
    rect = QRectF()
    before = sys.getrefcount(None)
    for _ in range(32):
        rect.setWidth(1.0)
    return sys.getrefcount(None) < before


def _pin(obj: object) -> None:
    refcnt = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field of every CPython object
    if refcnt.value < _HEADROOM:
        refcnt.value += _HEADROOM


def apply() -> dict[str, bool]:
    """Pin ``True`` and ``None`` where they leak; returns which were pinned (idempotent)."""
    if _applied or sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return _applied
    _applied["True"] = emit_leaks_true()
    _applied["None"] = void_call_leaks_none()
    for name, obj in (("True", True), ("None", None)):
        if _applied[name]:
            _pin(obj)
    return _applied


apply()
