"""The class-map dialog: for each class of the checkpoint, which dataset class it is, or ignore.

The GUI's side of ``--class-map``: the result is the same ``{checkpoint name: dataset name
or "ignore"}`` dict that ``core.class_map.match_classes`` takes, so the rules (and their
tests) are the CLI's. A checkpoint class starts on the dataset class of its own name,
else on ignore: the user only touches the ones that differ.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from workbench.core.class_map import IGNORE

IGNORE_TEXT = "(ignore: drop its predictions)"


class ClassMapDialog(QDialog):
    """One combo per checkpoint class; ``class_map()`` is the choice as a dict."""

    def __init__(
        self,
        model_classes: list[str],
        dataset_classes: list[str],
        current: dict[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Map checkpoint classes")
        self.combos: dict[str, QComboBox] = {}
        intro = QLabel(
            "The checkpoint was trained on other class names than this dataset's. Choose the dataset class "
            "each checkpoint class stands for; predictions of an ignored class are not shown, accepted or judged."
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        for name in model_classes:
            combo = QComboBox()
            combo.addItem(IGNORE_TEXT, IGNORE)
            for target in dataset_classes:
                combo.addItem(target, target)
            chosen = (current or {}).get(name, name if name in dataset_classes else IGNORE)
            combo.setCurrentIndex(max(combo.findData(chosen), 0))
            self.combos[name] = combo
            form.addRow(name, combo)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def choose(self, model_class: str, target: str) -> None:
        """Set one row (a dataset class name or ``ignore``), as a click would."""
        combo = self.combos[model_class]
        i = combo.findData(target)
        if i < 0:
            raise KeyError(target)
        combo.setCurrentIndex(i)

    def class_map(self) -> dict[str, str]:
        return {name: str(combo.currentData()) for name, combo in self.combos.items()}
