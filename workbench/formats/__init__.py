"""Readers and writers: YOLO (det / pose / yolov5-face), COCO JSON, Pascal VOC.

Formats convert to and from the core model at the edge. ``open_dataset`` guesses the
format; ``save_dataset`` writes edits back where they came from; ``export_dataset``
writes a copy in another format.
"""

from workbench.formats.base import DatasetError
from workbench.formats.registry import FORMATS, detect_format, export_dataset, open_dataset, save_dataset

__all__ = ["FORMATS", "DatasetError", "detect_format", "export_dataset", "open_dataset", "save_dataset"]
