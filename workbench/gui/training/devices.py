"""Which devices a run can use, asked of torch off the UI thread.

Importing torch takes seconds; the form shows "CPU" at once and adds the CUDA
devices (with their memory) when this query answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from workbench.gui.jobs import run_in_pool


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


class DeviceQuery(QObject):
    """``start()`` once; ``found`` carries the list of :class:`DeviceChoice`."""

    found = Signal(object)

    def start(self) -> None:
        # A broken CUDA install still leaves the CPU. Nothing arrives when the window
        # closed while torch was importing: there is nobody to tell.
        run_in_pool(list_devices, on_done=self.found.emit, on_error=lambda _message: self.found.emit([CPU]), owner=self)
