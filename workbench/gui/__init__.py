"""The desktop application (PySide6): thin widgets, views and undo commands over ``workbench.core``.

Nothing here owns data: the canvas draws and edits a record's instances only through
the command objects in ``commands``, so every edit is undoable and the main window,
menus, shortcuts and tests all go through one place.
"""

from workbench.gui import qt_workarounds  # noqa: E402,F401 - before any widget: PySide6 6.12 refcount bugs
