"""The main window: an assembly of the small widgets, wired together.

The session (``session.py``) holds the open dataset, the current image, the selection and
the checkpoint; the window changes it and the widgets follow it. Every widget does its
own job (list, canvas, classes, findings, saving, the tool docks) and talks through
signals; every menu entry and shortcut is a row of ``actions.SPECS``. Nothing here draws
labels or parses files.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeyEvent, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.display_window import DisplaySettings, pixel_value_text
from workbench.core.input_range import dataset_range
from workbench.core.wording import count_noun
from workbench.gui import (
    commands,
    qt_workarounds,  # noqa: F401 - before any emit: PySide6 6.12 refcount bug
)
from workbench.gui.actions import build_actions, shortcut_table
from workbench.gui.canvas import CANVAS_KEYS, AnnotationCanvas
from workbench.gui.class_panel import ClassPanel
from workbench.gui.commands import EditNotifier
from workbench.gui.display_panel import DisplayPanel
from workbench.gui.findings_panel import FindingsPanel
from workbench.gui.icons import app_icon
from workbench.gui.image_cache import DecodedImage, ImageCache, decode_scale_for
from workbench.gui.image_list import ImageListWidget
from workbench.gui.jobs import run_in_pool
from workbench.gui.opening import DatasetOpener, is_dataset_path, sample_dataset_path
from workbench.gui.predictions.runner import PredictorFactory
from workbench.gui.preferences import PreferencesDialog
from workbench.gui.saving import AUTOSAVE_MESSAGE_MS, SaveController
from workbench.gui.session import Session
from workbench.gui.settings import Settings
from workbench.gui.start_page import StartPage, ask_file, ask_folder
from workbench.gui.status_bar import StatusFields
from workbench.gui.thumbnails import ThumbnailLoader
from workbench.gui.tool_docks import ToolDocks
from workbench.gui.validation_job import FindingsStore, ValidationJob, ValidationResult

PREFETCH_AHEAD, PREFETCH_BEHIND = 3, 1
OPENING_MESSAGE_MS = 60000  # replaced by "Opened ..." long before, unless opening hangs
#: Keys a focused slider or spin box uses itself; the window's shortcuts on them (Left/Right:
#: previous/next image) must not take them away.
_VALUE_KEYS = frozenset(
    {
        Qt.Key.Key_Left,
        Qt.Key.Key_Right,
        Qt.Key.Key_Up,
        Qt.Key.Key_Down,
        Qt.Key.Key_PageUp,
        Qt.Key.Key_PageDown,
        Qt.Key.Key_Home,
        Qt.Key.Key_End,
    }
)
#: Keys that move through a list: a jump made by them keeps the focus in the list.
_BROWSE_KEYS = _VALUE_KEYS


class MainWindow(QMainWindow):
    """Start page or dataset editor, with list, classes and findings docks."""

    pixelsShown = Signal(str)  # image path, once its pixels are on the canvas

    def __init__(
        self,
        settings: Settings | None = None,
        parent: QWidget | None = None,
        *,
        predictor_factory: PredictorFactory | None = None,
        query_devices: bool = True,
    ) -> None:
        """``predictor_factory`` replaces the checkpoint loader (tests); ``query_devices=False``
        keeps the train form from asking torch for GPUs when it is first shown."""
        super().__init__(parent)
        self.settings = settings or Settings()
        self.session = Session()
        self.store: FindingsStore | None = None
        self.pixels_scale: float | None = None  # decode scale of the pixels on the canvas
        self.shown_raw = None  # a high-bit-depth image's raw pixels at that scale (status bar value)
        self._record_index: dict[int, int] = {}
        self._last_key: int | None = None  # of the last key press anywhere in the window

        self.undo_stack = QUndoStack(self)
        self.notifier = EditNotifier(self)
        self.thumbnails = ThumbnailLoader(parent=self)
        self.images = ImageCache(parent=self)
        self.opener = DatasetOpener(self)
        self.validation = ValidationJob(self)
        self.saver = SaveController(self.undo_stack, self.settings.pref("autosave_seconds"), parent=self)

        self.canvas = AnnotationCanvas(self.undo_stack, self.notifier)
        self.start_page = StartPage()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.start_page)
        self.pages.addWidget(self.canvas)
        self.setCentralWidget(self.pages)
        self.image_list = ImageListWidget(self.thumbnails)
        self.class_panel = ClassPanel(self.undo_stack, self.notifier)
        self.findings_panel = FindingsPanel(self.undo_stack, self.notifier)
        self.docks = {
            "images": self._dock("Images", self.image_list, Qt.DockWidgetArea.LeftDockWidgetArea),
            "classes": self._dock("Classes", self.class_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            "findings": self._dock("Findings", self.findings_panel, Qt.DockWidgetArea.RightDockWidgetArea),
        }
        self.status = StatusFields(self.statusBar())
        # Hidden until an image needs it (16-bit or float): an 8-bit dataset never sees it.
        self.display_panel = DisplayPanel()
        self.display_dock = self._dock("Display", self.display_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.display_dock.hide()
        self._display_offered = False
        # The window follows a new current image first, so the canvas shows it before the
        # tool docks (connected next) draw on it.
        self.session.record_changed.connect(self._on_current_changed)
        # Built before restoreState, so their layout persists.
        self.tools = ToolDocks(
            self,
            self.session,
            self.canvas,
            self.undo_stack,
            self.notifier,
            save=self.save,
            listed_records=self._listed_records,
            show_message=lambda text, ms: self.statusBar().showMessage(text, ms),
            jump_to=self.jump_to,
            findings_dock=self.docks["findings"],
            predictor_factory=predictor_factory,
            query_devices=query_devices,
        )
        self.actions = build_actions(self, self._slots(), self.undo_stack, self.tools.docks())
        self.actions["select_tool"].setChecked(True)

        self._connect()
        self.setAcceptDrops(True)
        self.setWindowIcon(app_icon())
        self.resize(1400, 900)
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        self._docks_sized = state is not None and self.restoreState(state)
        self.show_start_page()

    # ------------------------------------------------------------------ assembly
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    @property
    def ds(self) -> Dataset | None:
        return self.session.dataset

    @property
    def dataset_path(self) -> str | None:
        return self.session.dataset_path

    @property
    def current(self) -> int | None:
        return self.session.index

    def _listed_records(self) -> list[ImageRecord]:
        """The records the image list shows now (its filter applied), in its order."""
        if self.ds is None:
            return []
        return [self.ds.records[int(i)] for i in self.image_list.model.visible_records()]

    def _slots(self) -> dict[str, object]:
        return self.tools.slots() | {
            "open_folder": lambda: self._open_if(ask_folder(self)),
            "open_file": lambda: self._open_if(ask_file(self)),
            "open_sample": self.open_sample,
            "save": self.save,
            "start_page": self.close_dataset,
            "quit": self.close,
            "delete": self.canvas.delete_selected,
            "copy_previous": self.copy_previous_labels,
            "class_picker": self.canvas.open_class_picker,
            "draw_box": self.canvas.draw_one_box,
            "cycle_visibility": self.canvas.cycle_visibility,
            "swap_left_right": self.canvas.swap_left_right,
            "place_keypoints": self.canvas.start_placing,
            "add_class": self.class_panel.ask_add_class,
            "remap_class": self.findings_panel.open_remap_dialog,
            "select_tool": lambda: self.set_tool("select"),
            "box_tool": lambda: self.set_tool("box" if self.actions["box_tool"].isChecked() else "select"),
            "next_image": lambda: self.step_image(1),
            "prev_image": lambda: self.step_image(-1),
            "next_finding": lambda: self.findings_panel.next_finding(1),
            "prev_finding": lambda: self.findings_panel.next_finding(-1),
            "fit": self.canvas.fit,
            "zoom_1to1": self.canvas.zoom_1to1,
            "zoom_in": self.canvas.zoom_in,
            "zoom_out": self.canvas.zoom_out,
            "duplicate": self.canvas.duplicate_selected,
            "copy_boxes": self.canvas.copy_selection,
            "paste_boxes": self.canvas.paste,
            "grid": self.image_list.set_grid,
            "show_shortcuts": self.show_shortcuts,
            "preferences": self.edit_preferences,
        }

    def _connect(self) -> None:
        self.start_page.openRequested.connect(self.open_path)
        self.start_page.sampleRequested.connect(self.open_sample)
        self.opener.opened.connect(self._on_opened)
        self.opener.failed.connect(self._on_open_failed)
        self.validation.finished.connect(self._on_validated)
        self.images.imageReady.connect(self._on_image_ready)
        self.image_list.recordActivated.connect(self.show_record)
        self.image_list.filterChanged.connect(self._update_status)
        self.class_panel.classActivated.connect(self.canvas.set_current_class)
        self.findings_panel.jumpRequested.connect(self.jump_to)
        # Enter on a finding browsed to with the arrow keys: now edit it (digits, Del, arrows).
        self.findings_panel.tree.itemActivated.connect(lambda *_: self.canvas.setFocus(Qt.FocusReason.OtherFocusReason))
        self.notifier.recordChanged.connect(self._on_record_changed)
        self.notifier.classesChanged.connect(self._on_classes_changed)
        self.notifier.editApplied.connect(self._refresh_totals)
        self.canvas.selectionChanged.connect(self.session.set_selection)
        self.canvas.cursorMoved.connect(self._on_cursor)
        self.display_panel.displayChanged.connect(self.set_display)
        self.display_panel.datasetRangeWanted.connect(self._compute_dataset_range)
        self.canvas.zoomChanged.connect(self._on_zoom)
        self.canvas.toolChanged.connect(self._tool_changed)
        self.canvas.statusMessage.connect(lambda msg: self.statusBar().showMessage(msg, 5000))
        self.saver.dirtyChanged.connect(self.setWindowModified)
        self.saver.saved.connect(lambda paths: self.statusBar().showMessage(f"Saved {len(paths)} file(s)", 3000))
        self.saver.failed.connect(self._on_save_failed)
        # An autosave failure must not put a dialog over the user's work: it is said in the
        # status bar, and the next save (timer, image switch, Ctrl+S) tries again.
        self.saver.autosaveFailed.connect(lambda m: self.statusBar().showMessage(m, AUTOSAVE_MESSAGE_MS))

    # ------------------------------------------------------------------ opening
    def _open_if(self, path: str | None) -> None:
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        """Open a dataset in the background (after offering to save the current one)."""
        if not self.saver.confirm_close(self):
            return
        self.statusBar().showMessage(f"Opening {path}…", OPENING_MESSAGE_MS)
        self.opener.open(path)

    def open_sample(self) -> None:
        try:
            path = sample_dataset_path()
        except OSError as e:
            QMessageBox.critical(self, "Sample dataset", f"Could not write the sample dataset: {e}")
            return
        self.open_path(path)

    def _on_open_failed(self, path: str, message: str) -> None:
        self.statusBar().clearMessage()
        QMessageBox.warning(self, "Cannot open dataset", message)
        if self.ds is None:
            self.show_start_page()

    def _on_opened(self, ds: Dataset, path: str) -> None:
        self.store = None
        self.session.open_dataset(ds, path)
        self._record_index = {id(r): i for i, r in enumerate(ds.records)}
        self.settings.add_recent(path)
        self._fill_recent_menu()
        self.images.clear()
        self.thumbnails.clear_queue()
        self.saver.set_dataset(ds)
        self.image_list.set_dataset(ds)
        self.class_panel.set_dataset(ds)
        self.findings_panel.set_dataset(ds)
        self.pages.setCurrentWidget(self.canvas)
        for dock in self.docks.values():
            dock.show()
        if not self._docks_sized:  # first run: a sensible layout (later runs restore the user's)
            self._docks_sized = True
            self.resizeDocks([self.docks["images"], self.docks["findings"]], [260, 360], Qt.Orientation.Horizontal)
            self.resizeDocks([self.docks["classes"], self.docks["findings"]], [150, 600], Qt.Orientation.Vertical)
        self.setWindowTitle(f"{Path(path).name}[*] — Workbench")
        self.statusBar().showMessage(f"Opened {path}: {len(ds.records)} images; validating…", 5000)
        if ds.records:
            self.show_record(self._restored_index(ds, path))
        self.validation.start(ds)

    def _restored_index(self, ds: Dataset, path: str) -> int:
        """The image that was current when this dataset was last open (the first one otherwise)."""
        last = self.settings.last_image(path)
        if last:
            for i, rec in enumerate(ds.records):
                if ds.rel(rec.path) == last:
                    return i
        return 0

    def _on_validated(self, result: ValidationResult) -> None:
        if result.ds is not self.ds:
            return  # a dataset that was closed meanwhile
        self.store = result.store
        # Records edited while validation ran were re-read in the worker: re-check them now.
        for rec in result.ds.dirty_records():
            self.store.refresh_record(rec)
            result.facts.update(self._record_index[id(rec)], rec, len(self.store.for_record(rec)))
        self.image_list.model.set_facts(result.facts)
        self.class_panel.set_counts(result.facts.totals(result.ds.nc), result.facts.unknown_total(result.ds.nc))
        self.findings_panel.set_store(self.store)
        n = len(self.store.all())
        self.statusBar().showMessage(result.error or f"Validation: {count_noun(n, 'finding')}", 5000)
        if self.current is not None:
            self.image_list.select_record(self.current)

    def close_dataset(self) -> None:
        if not self.saver.confirm_close(self):
            return
        self.store = None
        self.session.close_dataset()
        self.saver.set_dataset(None)
        for widget in (self.image_list, self.class_panel, self.findings_panel):
            widget.set_dataset(None)
        self.show_start_page()

    def show_start_page(self) -> None:
        self.start_page.set_recent(self.settings.recent_datasets())
        self._fill_recent_menu()
        self.pages.setCurrentWidget(self.start_page)
        for dock in [*self.docks.values(), *self.tools.docks().values()]:
            dock.hide()  # the tool docks too: their checkpoint and runs belong to the closed dataset
        self.setWindowTitle("Workbench")
        self.status.clear()

    def _fill_recent_menu(self) -> None:
        menu = self.actions.recent_menu
        if menu is None:
            return
        menu.clear()
        for p in self.settings.recent_datasets():
            menu.addAction(p, lambda p=p: self.open_path(p))
        menu.setEnabled(not menu.isEmpty())

    # ------------------------------------------------------------------ images
    def current_record(self) -> ImageRecord | None:
        return self.session.record

    def _decode_scale(self, rec: ImageRecord) -> float:
        view = self.canvas.viewport().size() * self.canvas.devicePixelRatioF()
        return decode_scale_for(rec.size, (max(view.width(), 1), max(view.height(), 1)))

    def show_record(self, index: int) -> None:
        """Make record ``index`` current: autosave the previous one, show what is decoded, fetch the rest."""
        if self.ds is None or not 0 <= index < len(self.ds.records):
            return
        if index == self.current:
            return
        if self.current is not None and self.settings.pref("autosave_on_switch"):
            self.saver.autosave()
        self.ds.records[index].ensure_loaded()
        self.session.set_index(index)

    def _on_current_changed(self, index: int | None, rec: ImageRecord | None) -> None:
        """Show the session's new current image: what is decoded now, the rest fetched."""
        if rec is None or index is None or self.ds is None:
            return
        if self.session.dataset_path:
            self.settings.set_last_image(self.session.dataset_path, self.ds.rel(rec.path))
        scale = self._decode_scale(rec)
        decoded = self.images.get(rec.path, scale)
        self.canvas.set_image(self.ds, rec, None)
        self.pixels_scale = None
        self.shown_raw = None
        self.pixels_error: str | None = None
        if decoded is not None:
            self._show_pixels(decoded)
        self._prefetch(index, scale)
        self.image_list.select_record(index)
        self._update_status()

    def _show_pixels(self, decoded: DecodedImage) -> None:
        self.canvas.set_pixels(decoded.rgb)  # a reduced decode is stretched over the record's size
        self.pixels_scale = decoded.scale
        self.shown_raw = decoded.raw
        self.display_panel.set_raw(decoded.raw)
        if decoded.raw is not None and not self._display_offered:
            self._display_offered = True  # once per window: a dock the user closed stays closed
            self.display_dock.show()
        self.pixelsShown.emit(decoded.path)

    def _compute_dataset_range(self) -> None:
        """The dataset's raw range for the Display dock, off the UI thread (it decodes a sample)."""
        if self.ds is None:
            return
        paths = [r.path for r in self.ds.records]
        self.statusBar().showMessage("Computing the dataset's raw range…", 5000)
        run_in_pool(
            dataset_range,
            paths,
            on_done=self.display_panel.set_dataset_range,
            on_error=lambda text: self.statusBar().showMessage(text, 8000),
            owner=self,
        )

    def _on_cursor(self, x: float, y: float) -> None:
        """Cursor position, and for a 16-bit or float image the raw value under it."""
        raw, scale = self.shown_raw, self.pixels_scale
        value = pixel_value_text(raw, x * scale, y * scale) if raw is not None and scale else None
        self.status.set_cursor(x, y, value)

    def set_display(self, display: DisplaySettings) -> None:
        """Show high-bit-depth images through another window or palette; files and labels stay."""
        self.images.set_display(display)
        rec = self.current_record()
        if rec is not None and self.pixels_scale is not None:
            shown = self.images.peek(str(rec.path), self.pixels_scale)
            if shown is not None:
                self._show_pixels(shown)

    def _prefetch(self, index: int, scale: float) -> None:
        paths = []
        for step in list(range(1, PREFETCH_AHEAD + 1)) + [-s for s in range(1, PREFETCH_BEHIND + 1)]:
            j = self.image_list.neighbour(index, step)
            if j is not None:
                paths.append(self.ds.records[j].path)
        self.images.prefetch(paths, scale)

    def _on_image_ready(self, path: str, decoded: DecodedImage) -> None:
        rec = self.current_record()
        if rec is None or str(rec.path) != path:
            return
        if decoded.error is not None:
            self.pixels_error = decoded.error  # nothing more will come: the image counts as shown
            self.statusBar().showMessage(decoded.error, 8000)
            return
        if self.pixels_scale is None or decoded.scale > self.pixels_scale:
            self._show_pixels(decoded)

    def _on_zoom(self, zoom: float) -> None:
        rec = self.current_record()
        if rec is None:
            return
        self.status.set_zoom(zoom)
        if self.pixels_scale is None:
            return
        needed = zoom * self.canvas.devicePixelRatioF()
        if needed > self.pixels_scale * 1.05 and self.pixels_scale < 1.0:
            finer = self.images.get(rec.path, 1.0)  # zoomed past the decoded resolution
            if finer is not None:
                self._show_pixels(finer)

    def step_image(self, step: int) -> None:
        if self.ds is None or self.current is None:
            return
        j = self.image_list.neighbour(self.current, step)
        if j is not None:
            self.show_record(j)

    def jump_to(self, record_index: int, instance: int) -> None:
        """Show a finding's or suspect's record and select its instance; the canvas gets the
        keyboard, so digit keys (class) and Del act on it at once. Browsing a list with
        its arrow keys keeps the focus in the list (the next arrow moves on, not the box)."""
        browsing = self._browsing_a_list()
        if record_index != self.current:
            self.show_record(record_index)
        self.canvas.select_instance(instance if instance >= 0 else None)
        if not browsing and self.pages.currentWidget() is self.canvas:
            self.canvas.setFocus(Qt.FocusReason.OtherFocusReason)

    def _browsing_a_list(self) -> bool:
        focus = QApplication.focusWidget()
        return (
            isinstance(focus, QAbstractItemView)
            and QGuiApplication.mouseButtons() == Qt.MouseButton.NoButton
            and self._last_key in _BROWSE_KEYS
        )

    def _update_status(self) -> None:
        rec = self.current_record()
        if rec is None or self.ds is None:
            return
        self.status.set_image(
            self.current or 0, len(self.ds.records), self.image_list.model.rowCount(), rec.size, rec.path.name
        )
        self.status.set_zoom(self.canvas.zoom())

    # ------------------------------------------------------------------ edits
    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self._tool_changed(self.canvas.tool())

    def _tool_changed(self, tool: str) -> None:
        self.actions["box_tool"].setChecked(tool == "box")
        self.actions["select_tool"].setChecked(tool == "select")

    def copy_previous_labels(self) -> None:
        rec = self.current_record()
        prev = self.image_list.neighbour(self.current, -1) if self.current is not None else None
        if rec is None or prev is None or self.ds is None:
            return
        source = self.ds.records[prev].ensure_loaded().instances
        if not source:
            self.statusBar().showMessage("The previous image has no labels to copy", 3000)
            return
        self.undo_stack.push(commands.paste_instances(rec, source, self.notifier))

    def save(self) -> bool:
        return self.saver.save()

    def _on_save_failed(self, message: str) -> None:
        QMessageBox.critical(self, "Save failed", message)

    def _on_record_changed(self, rec: ImageRecord) -> None:
        i = self._record_index.get(id(rec))
        if i is None or self.ds is None:
            return
        n = len(self.store.refresh_record(rec)) if self.store is not None else 0
        self.image_list.model.update_record(i, n)
        # The canvas redraws itself from the notifier; class counts and the findings tree
        # wait for editApplied: once per edit, not once per record a remap touches.

    def _refresh_totals(self) -> None:
        if self.ds is None:
            return
        self._set_class_counts()
        if self.store is not None:
            self.findings_panel.rebuild()

    def _set_class_counts(self) -> None:
        assert self.ds is not None
        facts = self.image_list.model.facts
        self.class_panel.set_counts(facts.totals(self.ds.nc), facts.unknown_total(self.ds.nc))

    def _on_classes_changed(self) -> None:
        if self.ds is None:
            return
        self._set_class_counts()
        self.image_list.refresh_classes(self.ds)

    def edit_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec() == PreferencesDialog.DialogCode.Accepted:
            dialog.apply()
            self.saver.set_interval(self.settings.pref("autosave_seconds"))

    def show_shortcuts(self) -> None:
        table = shortcut_table(CANVAS_KEYS)
        rows = "".join(f"<tr><td>{name}</td><td><b>{keys}</b></td></tr>" for name, keys in table)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table cellpadding=3>{rows}</table>")

    # ------------------------------------------------------------------ window events
    def is_ready(self) -> bool:
        """Dataset open, current image decoded and on the canvas, validation done (for screenshots)."""
        if self.pages.currentWidget() is self.start_page:
            return not self.opener.busy
        return (
            self.ds is not None
            and self.store is not None
            and not self.validation.running
            and (
                not self.ds.records or self.pixels_scale is not None or getattr(self, "pixels_error", None) is not None
            )
        )

    def event(self, event: QEvent) -> bool:
        # Qt offers every key to the focus widget first as a ShortcutOverride, which then
        # travels up to this window: a slider or spin box keeps its own keys (arrows move the
        # score slider, not the image), and the last key is remembered for jump_to.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            self._last_key = event.key()
            if event.key() in _VALUE_KEYS and isinstance(
                QApplication.focusWidget(), (QAbstractSlider, QAbstractSpinBox)
            ):
                event.accept()
                return True
        return super().event(event)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(1400, 900)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and is_dataset_path(urls[0].toLocalFile()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.open_path(urls[0].toLocalFile()))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if not self.saver.confirm_close(self):
            event.ignore()
            return
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        event.accept()
