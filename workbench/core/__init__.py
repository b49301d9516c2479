"""The annotation model: plain Python + numpy, no Qt, no torch.

Everything above this layer (formats, qa, train, gui) speaks in these types, so a
box is always float pixel ``xyxy`` and a keypoint array is always ``(K, 3)``.
"""

from workbench.core.annotation import Dataset, ImageRecord, Instance, Source
from workbench.core.findings import Finding, Severity
from workbench.core.keypoints import KeypointSchema

__all__ = [
    "Dataset",
    "Finding",
    "ImageRecord",
    "Instance",
    "KeypointSchema",
    "Severity",
    "Source",
]
