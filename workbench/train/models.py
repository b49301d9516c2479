"""torchvision detectors by name, with heads sized for a dataset's classes and keypoints.

The seeds' users patched cloned repos to change the class or landmark count; here the
count is an argument. Conventions differ between families and are recorded per model:
R-CNN and SSD reserve label 0 for background (``nc + 1`` classes, labels shifted by one),
RetinaNet and FCOS score each class with a sigmoid (``nc`` classes, labels as they are).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from torch import nn

from workbench.train.model_specs import (  # noqa: F401 - re-exported
    DEFAULT_BOX_MODEL,
    DEFAULT_KEYPOINT_MODEL,
    MODELS,
    ModelError,
    ModelSpec,
    default_model,
    get_spec,
)


def build_model(
    name: str,
    nc: int,
    num_keypoints: int | None = None,
    imgsz: int = 640,
    frozen_bn: bool = False,
    options: dict[str, Any] | None = None,
) -> nn.Module:
    """An untrained model with heads for ``nc`` classes (and K keypoints for keypoint models).

    ``options`` are extra keyword arguments of the torchvision constructor (plain values,
    e.g. ``box_batch_size_per_image``, ``box_detections_per_img``) plus, for Keypoint R-CNN,
    ``keypoint_layers``: the channels of the keypoint head's convs (torchvision: eight of
    512; the MobileNet variant defaults to a lighter one, see ``ModelSpec.defaults``). A lighter head trains
    much faster for a handful of landmarks.

    ``frozen_bn`` swaps the backbone's BatchNorm for FrozenBatchNorm2d, as torchvision does
    for pretrained starts: with the few images per batch of fine-tuning, batch statistics
    would wreck the pretrained ones.
    """
    spec = get_spec(name)
    if nc < 1:
        raise ModelError("the dataset has no classes: add names to its config")
    if spec.keypoints and not num_keypoints:
        raise ModelError(f"{name} needs a keypoint dataset (kpt_shape in the data.yaml)")
    num_classes = nc + spec.label_offset
    kwargs = {**dict(spec.defaults), **(options or {})}
    layers = kwargs.pop("keypoint_layers", None)
    if layers and not spec.keypoints:
        raise ModelError(f"keypoint_layers is an option of keypoint models, not of {name}")
    if spec.fixed_size is None:
        kwargs.setdefault("min_size", imgsz)  # min = max = imgsz: the longer side becomes imgsz
        kwargs.setdefault("max_size", imgsz)
    try:
        builder = _BUILDERS.get(name) or partial(_torchvision_builder, name=name)
        model = builder(num_classes, num_keypoints or 0, kwargs)
    except TypeError as e:
        raise ModelError(f"{name} does not take these options {sorted(options or {})}: {e}") from e
    if layers:
        model.roi_heads.keypoint_head, model.roi_heads.keypoint_predictor = _keypoint_head(
            list(layers), num_keypoints or 0
        )
    if frozen_bn:
        freeze_batchnorm(model.backbone)
    return model


def freeze_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d under ``module`` with a FrozenBatchNorm2d (same state keys)."""
    from torchvision.ops.misc import FrozenBatchNorm2d

    for child_name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            frozen.weight.copy_(child.weight.detach())
            frozen.bias.copy_(child.bias.detach())
            frozen.running_mean.copy_(child.running_mean)
            frozen.running_var.copy_(child.running_var)
            setattr(module, child_name, frozen)
        else:
            freeze_batchnorm(child)
    return module


def backbone_trunk(model: nn.Module) -> nn.Module:
    """The feature extractor without FPN and heads: what 'freeze the backbone' freezes."""
    backbone = model.module.backbone if hasattr(model, "module") else model.backbone
    return getattr(backbone, "body", getattr(backbone, "features", backbone))


def _keypoint_head(layers: list[int], k: int) -> tuple[nn.Module, nn.Module]:
    from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor

    # 256: the FPN channels of both backbones
    return KeypointRCNNHeads(256, layers), KeypointRCNNPredictor(layers[-1], k)


def _torchvision_builder(num_classes: int, k: int, kw: dict[str, Any], name: str = "") -> nn.Module:
    """A torchvision detection constructor by its own name, untrained, with our head sizes."""
    import torchvision.models.detection as detection

    if get_spec(name).keypoints:
        kw = {**kw, "num_keypoints": k}
    return getattr(detection, name)(weights=None, weights_backbone=None, num_classes=num_classes, **kw)


def _keypointrcnn_mobilenet(num_classes: int, k: int, kw: dict[str, Any]) -> nn.Module:
    """Keypoint R-CNN on the exact backbone/RPN layout of fasterrcnn_mobilenet_v3_large_fpn,
    so that model's COCO weights load into everything but the keypoint head."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import mobilenet_backbone
    from torchvision.models.detection.keypoint_rcnn import KeypointRCNN

    backbone = mobilenet_backbone(
        backbone_name="mobilenet_v3_large", weights=None, fpn=True, norm_layer=nn.BatchNorm2d, trainable_layers=6
    )
    anchor_sizes = ((32, 64, 128, 256, 512),) * 3
    anchors = AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))
    kw.setdefault("rpn_score_thresh", 0.05)  # as fasterrcnn_mobilenet_v3_large_fpn
    return KeypointRCNN(backbone, num_classes=num_classes, rpn_anchor_generator=anchors, num_keypoints=k, **kw)


# Models torchvision builds by their own name; the rest have a builder here.
_BUILDERS: dict[str, Callable[[int, int, dict[str, Any]], nn.Module]] = {
    "keypointrcnn_mobilenet_v3_large_fpn": _keypointrcnn_mobilenet,
}


def set_score_threshold(model: nn.Module, conf: float) -> None:
    """Let the model return detections down to ``conf`` (each family keeps it elsewhere)."""
    m = model.module if hasattr(model, "module") else model
    if hasattr(m, "roi_heads"):
        m.roi_heads.score_thresh = conf
    elif hasattr(m, "score_thresh"):
        m.score_thresh = conf
