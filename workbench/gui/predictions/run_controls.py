"""The controls a model run needs, shared by the detection viewer and Label QC.

Both docks choose a checkpoint (with a browse button and, for a checkpoint of other
classes, Map classes…), a scope, a button that starts the run, Cancel and a progress
bar, laid out the same way; one piece builds them so the two look and behave alike.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QProgressBar, QPushButton

from workbench.gui.eliding import eliding_combo


class RunControls:
    """Checkpoint row, run row and progress bar; the owner connects the buttons."""

    def __init__(self, action: str, min_chars: int = 16) -> None:
        self.weights = eliding_combo(QComboBox(), min_chars)
        self.browse = QPushButton("…")
        self.browse.setToolTip("Choose a checkpoint file")
        self.map_button = QPushButton("Map classes…")
        self.map_button.setToolTip("Say which dataset class each of the checkpoint's classes is, or ignore it")
        self.map_button.setVisible(False)
        self.scope = eliding_combo(QComboBox())
        self.action_button = QPushButton(action)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.reset_progress()

    def reset_progress(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")

    def add_rows(self, form: QFormLayout, run_label: str) -> None:
        """Checkpoint, Map classes…, ``run_label`` (scope, action, Cancel) and the progress bar."""
        weights_row = QHBoxLayout()
        weights_row.addWidget(self.weights, 1)
        weights_row.addWidget(self.browse)
        run_row = QHBoxLayout()
        run_row.addWidget(self.scope, 1)
        run_row.addWidget(self.action_button)
        run_row.addWidget(self.cancel_button)
        form.addRow("Checkpoint", weights_row)
        form.addRow("", self.map_button)
        form.addRow(run_label, run_row)
        form.addRow("", self.progress)
