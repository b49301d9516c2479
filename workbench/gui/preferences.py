"""Edit > Preferences: when to autosave (the rest of the state persists by itself)."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QSpinBox, QWidget

from workbench.gui.settings import Settings


class PreferencesDialog(QDialog):
    """Shows the current preferences; ``apply`` writes the edited ones back."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.autosave_seconds = QSpinBox(minimum=0, maximum=3600, suffix=" s", specialValueText="off")
        self.autosave_seconds.setValue(settings.pref("autosave_seconds"))
        self.autosave_seconds.setToolTip("Save changed label files this often (0: only on request)")
        self.autosave_on_switch = QCheckBox("Save when moving to another image")
        self.autosave_on_switch.setChecked(settings.pref("autosave_on_switch"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Autosave every", self.autosave_seconds)
        form.addRow(self.autosave_on_switch)
        form.addRow(buttons)

    def apply(self) -> None:
        self.settings.set_pref("autosave_seconds", self.autosave_seconds.value())
        self.settings.set_pref("autosave_on_switch", self.autosave_on_switch.isChecked())
