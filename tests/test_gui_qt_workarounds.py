"""The PySide6 emit() refcount leak on True is neutralized (else the app aborts after a few thousand emits)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from workbench.gui import qt_workarounds


class _Emitter(QObject):
    changed = Signal(object)


def test_many_emits_do_not_exhaust_true():
    qt_workarounds.apply()
    e = _Emitter()
    seen = []
    e.changed.connect(seen.append)
    for i in range(20_000):  # more than True's natural reference count on CPython 3.11
        e.changed.emit(i)
    assert len(seen) == 20_000
    assert sys.getrefcount(True) > 1000


def test_many_void_calls_do_not_exhaust_none():
    from PySide6.QtCore import QRectF

    qt_workarounds.apply()
    rect = QRectF()
    for _ in range(50_000):  # more than None's natural reference count on CPython 3.11
        rect.setWidth(1.0)
    assert sys.getrefcount(None) > 1000
