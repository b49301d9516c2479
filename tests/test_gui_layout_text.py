"""Layout and text: counts that add up, names that fit or say themselves on hover, docks
that never push the window past the screen, plots that can be read, GUI words for GUI users."""

from __future__ import annotations

import pytest

from tests._gui_window import open_window

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]  # the gui_sample fixture


def test_the_class_count_counts_a_box_of_an_unknown_class(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    every = sum(len(r.ensure_loaded().instances) for r in w.ds.records)
    unknown = sum(1 for r in w.ds.records for inst in r.instances if not 0 <= inst.class_id < w.ds.nc)
    assert unknown == 1  # the sample's class id 5 in a 3-class dataset
    assert w.class_panel.total_label.text() == f"3 classes, {every} boxes (1 of an unknown class)"
    # an edit keeps the total honest
    rec = w.canvas.record()
    w.canvas.select_instance(0)
    w.canvas.delete_selected()
    assert w.class_panel.total_label.text() == f"3 classes, {every - 1} boxes (1 of an unknown class)"
    assert rec is w.canvas.record()


def test_class_rows_carry_their_full_name_in_a_tooltip(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    long_name = "a very long class name that a narrow dock cannot show in full " * 2
    w.class_panel.add_class(long_name)
    item = w.class_panel.list.item(w.ds.nc - 1)
    assert long_name.strip() in item.toolTip()


def test_findings_rows_and_combo_items_say_their_full_text_on_hover(qtbot, monkeypatch, tmp_path, gui_sample):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QComboBox

    from workbench.gui.findings_panel import FINDING_ROLE

    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    leaves = w.findings_panel._leaves()
    assert leaves
    for leaf in leaves:
        assert leaf.toolTip(0) == str(leaf.data(0, FINDING_ROLE))
    policy = QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
    form = w.tools.train_panel.form
    viewer = w.tools.prediction_viewer
    combos = [form.model, form.weights, form.device, viewer.weights, viewer.scope]
    for combo in combos:
        assert combo.sizeAdjustPolicy() == policy
        for i in range(combo.count()):
            assert combo.itemData(i, Qt.ItemDataRole.ToolTipRole), (combo, combo.itemText(i))
    long_name = "a_checkpoint_with_a_name_much_longer_than_the_dock_" * 3
    form.model.addItem(long_name, long_name)  # added later: it gets its tooltip too
    assert form.model.itemData(form.model.count() - 1, Qt.ItemDataRole.ToolTipRole) == long_name
    form.model.setCurrentIndex(form.model.count() - 1)
    assert form.model.toolTip() == long_name
    assert form.model.sizeHint().width() < 400  # sized by its minimum length, not by the name


def test_plots_name_every_curve_keep_the_legend_off_them_and_no_si_prefix_on_epochs(qtbot):
    from workbench.gui.training.plots import TrainPlots
    from workbench.train.events import MAP50, MAP50_95, TOTAL_LOSS, EpochEvent, IterationEvent

    plots = TrainPlots()
    qtbot.addWidget(plots)
    plots.resize(500, 600)
    plots.show()
    # the first epoch of a long run: x runs 0.001 .. 0.003, where pyqtgraph would say "(x0.001)"
    for i in range(3):
        plots.add_iteration(IterationEvent(0, i, 1000, {TOTAL_LOSS: 3.0 - i, "box": 1.0}, 1e-3, 10.0))
    plots.add_epoch(EpochEvent(0, 10, {MAP50: 0.4, MAP50_95: 0.2}))
    plots.redraw()
    qtbot.wait(10)
    curves = plots.curves()
    assert len(curves) == 2 * 2 + 1 + 2  # raw + smoothed per loss, lr, two metrics
    assert all(c.name() for c in curves)
    assert {c.name() for c in curves} >= {"mAP50", "mAP50-95", "learning rate"}
    for plot in (plots.loss_plot, plots.lr_plot, plots.metric_plot):
        item = plot.getPlotItem()
        bottom = item.getAxis("bottom")
        assert not bottom.autoSIPrefix
        assert "x0.001" not in bottom.labelString()
        # the legend is laid out beside the curves' box, never over it
        legend, vb = item.legend, item.getViewBox()
        assert legend.parentItem() is not vb
        assert not legend.sceneBoundingRect().intersects(vb.sceneBoundingRect())
    assert not plots.metric_plot.getPlotItem().getAxis("left").autoSIPrefix
    assert len(plots.metric_plot.getPlotItem().legend.items) == 2


def test_the_train_panel_words_engine_messages_for_the_gui(qtbot):
    """The engine's "`--resume RUN` continues" and "try --batch 4" reach the GUI user as
    the panel's own buttons and fields; no message names a command-line flag."""
    from workbench.gui.training.gui_words import for_gui
    from workbench.gui.training.panel import TrainPanel
    from workbench.train.events import EndEvent, EndReason, LogEvent

    panel = TrainPanel(save=lambda: True, query_devices=False)
    qtbot.addWidget(panel)
    news = []
    panel.message.connect(news.append)
    stopped = "stopped after epoch 2/10; `--resume sample/runs/train` continues from epoch 3"
    panel.supervisor.ended.emit(EndEvent(EndReason.STOPPED, stopped, "sample/runs/train"))
    assert "Resume" in panel.banner_text() and "continues from epoch 3" in panel.banner_text()
    oom = "out of GPU memory: try --batch 1 or a smaller --imgsz (or --accumulate 2 to keep the effective batch)"
    panel.supervisor.eventReceived.emit(LogEvent(oom, "warning", ["or train with --no-augment"]))
    shown = [panel.banner_text(), panel.log.toPlainText(), *news]
    assert not any("--" in t.replace("---", "") for t in shown), shown
    assert for_gui(oom) == (
        "out of GPU memory: try Batch 1 or a smaller Image size "
        "(or gradient accumulation 2 to keep the effective batch)"
    )
    assert for_gui("Try a lower --lr (now 0.01)") == "Try a lower Learning rate (now 0.01)"


def test_status_bar_messages_time_out():
    """Every showMessage in the GUI passes a timeout: a message never sticks for good."""
    import ast
    from pathlib import Path

    import workbench.gui

    missing = []
    for path in Path(workbench.gui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "showMessage":
                if len(node.args) + len(node.keywords) < 2:
                    missing.append(f"{path.name}:{node.lineno}")
    assert missing == []


def test_docks_never_push_the_window_past_the_screen(qtbot, monkeypatch, tmp_path, gui_sample):
    """With the train panel and the detection viewer open (and Label QC) the window still
    fits a 768 px screen: tall dock contents scroll instead of raising the minimum height."""
    from PySide6.QtWidgets import QScrollArea

    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    w.actions["train"].trigger()
    w.actions["predictions"].trigger()
    qtbot.wait(10)
    assert w.tools.train_dock.isVisible() and w.tools.prediction_dock.isVisible()
    assert w.minimumSizeHint().height() < 700, w.minimumSizeHint()
    w.actions["label_qc"].trigger()
    qtbot.wait(10)
    assert w.minimumSizeHint().height() < 700, w.minimumSizeHint()
    for dock in (w.tools.train_dock, w.tools.prediction_dock, w.tools.label_qc_dock):
        area = dock.widget()
        assert isinstance(area, QScrollArea) and area.widgetResizable()
    w.resize(1280, 700)  # squeezed: the panels scroll, the window keeps its size
    qtbot.wait(10)
    assert w.height() <= 700
    assert w.statusBar().isVisible() and w.statusBar().geometry().bottom() <= w.height()


def test_a_redone_epoch_is_drawn_once(qtbot):
    """A run stopped in epoch 2 and resumed redoes epoch 2; its replayed iteration log holds
    both attempts. The curve keeps the last one only: x never goes back."""
    from workbench.gui.training.plots import Series, TrainPlots
    from workbench.train.events import TOTAL_LOSS, IterationEvent

    plots = TrainPlots()
    qtbot.addWidget(plots)
    events = [IterationEvent(0, i, 4, {TOTAL_LOSS: 2.0}, 1e-3, 1.0) for i in range(4)]
    events += [IterationEvent(1, i, 4, {TOTAL_LOSS: 9.0}, 1e-3, 1.0) for i in range(2)]  # stopped here
    events += [IterationEvent(1, i, 4, {TOTAL_LOSS: 1.0}, 1e-3, 1.0) for i in range(4)]  # the resume redoes it
    plots.show_run(events, [])
    s = plots.losses[TOTAL_LOSS]
    assert s.x == sorted(set(s.x)) and len(s.x) == 8
    assert 9.0 not in s.y
    fresh = Series()
    for x, y in zip(s.x, s.y, strict=True):
        fresh.add(x, y)
    assert fresh.ema == s.ema  # the smoothing restarts from the kept points, not the dropped ones
