"""The detection models Workbench trains, by name, without importing torch.

The GUI's train form lists these at start-up; importing torch for a list of names would
add seconds to opening the window.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    keypoints: bool  # a Keypoint R-CNN
    label_offset: int  # 1 when label 0 is background
    weights: str  # torchvision weights enum (class name) used for --weights default
    frozen_bn: bool  # torchvision freezes BatchNorm when it starts from pretrained weights
    fixed_size: int | None = None  # SSDlite always works at 320 px
    # Constructor options this model defaults to (a user's options override them).
    defaults: tuple[tuple[str, object], ...] = ()


MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec("fasterrcnn_mobilenet_v3_large_fpn", False, 1, "FasterRCNN_MobileNet_V3_Large_FPN_Weights", True),
        ModelSpec("fasterrcnn_resnet50_fpn_v2", False, 1, "FasterRCNN_ResNet50_FPN_V2_Weights", False),
        ModelSpec("retinanet_resnet50_fpn_v2", False, 0, "RetinaNet_ResNet50_FPN_V2_Weights", False),
        ModelSpec("fcos_resnet50_fpn", False, 0, "FCOS_ResNet50_FPN_Weights", True),
        ModelSpec("ssdlite320_mobilenet_v3_large", False, 1, "SSDLite320_MobileNet_V3_Large_Weights", False, 320),
        ModelSpec("keypointrcnn_resnet50_fpn", True, 1, "KeypointRCNN_ResNet50_FPN_Weights", True),
        # No COCO keypoint weights exist for this one: the pretrained start is the MobileNetV3
        # Faster R-CNN (backbone, FPN, RPN and box head); the keypoint head starts fresh.
        # Its keypoint head starts fresh anyway, so it is a light one: 4 x 256 convs cost an eighth of
        # torchvision's 8 x 512, and 128 sampled proposals per image (torchvision: 512) cap the
        # positives the head runs on at 32; together they make CPU fine-tuning of landmarks practical.
        ModelSpec(
            "keypointrcnn_mobilenet_v3_large_fpn",
            True,
            1,
            "FasterRCNN_MobileNet_V3_Large_FPN_Weights",
            True,
            defaults=(("keypoint_layers", (256, 256, 256, 256)), ("box_batch_size_per_image", 128)),
        ),
    ]
}

DEFAULT_BOX_MODEL = "fasterrcnn_mobilenet_v3_large_fpn"
DEFAULT_KEYPOINT_MODEL = "keypointrcnn_mobilenet_v3_large_fpn"


class ModelError(ValueError):
    """A model name or head size that cannot work; the message says what can."""


def default_model(has_keypoints: bool) -> str:
    return DEFAULT_KEYPOINT_MODEL if has_keypoints else DEFAULT_BOX_MODEL


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model '{name}': choose one of {', '.join(MODELS)}") from None
