"""Which devices a run can use, asked of torch off the UI thread.

Importing torch takes seconds; the form shows "CPU" at once and adds the CUDA
devices (with their memory) when this query answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


@dataclass(frozen=True)
class DeviceChoice:
    value: str  # what TrainConfig.device takes
    text: str  # what the combo box shows


CPU = DeviceChoice("cpu", "CPU")


def list_devices() -> list[DeviceChoice]:
    """CUDA devices with name and memory (one cheap property call each), then CPU."""
    import torch

    out = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append(DeviceChoice(f"cuda:{i}", f"cuda:{i} — {props.name}, {props.total_memory / 2**30:.1f} GiB"))
    return out + [CPU]


class _Poster(QObject):
    done = Signal(object)


class _Query(QRunnable):
    def __init__(self, poster: _Poster) -> None:
        super().__init__()
        self._poster = poster

    def run(self) -> None:
        try:
            devices = list_devices()
        except Exception:  # noqa: BLE001 - a broken CUDA install still leaves the CPU
            devices = [CPU]
        try:
            self._poster.done.emit(devices)
        except RuntimeError:  # the window closed while torch was importing: nobody to tell
            pass


class DeviceQuery(QObject):
    """``start()`` once; ``found`` carries the list of :class:`DeviceChoice`."""

    found = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._poster = _Poster(self)
        self._poster.done.connect(self.found)

    def start(self) -> None:
        QThreadPool.globalInstance().start(_Query(self._poster))
