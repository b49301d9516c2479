"""Class and keypoint matching between a checkpoint and a dataset, by name (no Qt, no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.class_map import ClassMatchError, match_classes, match_keypoints, parse_class_map
from workbench.core.keypoints import KeypointSchema
from workbench.core.prediction import Prediction


def _preds(*class_ids: int) -> list[Prediction]:
    return [Prediction(c, [c, c, c + 10, c + 10], 0.5 + c / 10) for c in class_ids]


def test_same_names_are_the_identity():
    m = match_classes(["face", "robot"], ["face", "robot"])
    assert m.is_identity and m.describe() == ""
    preds = _preds(0, 1)
    out = m.apply(preds)
    assert [p.class_id for p in out] == [0, 1]


def test_reordered_names_are_remapped_by_name():
    m = match_classes(["robot", "face", "alien"], ["face", "robot", "alien"])
    assert not m.is_identity and m.targets == (1, 0, 2)
    out = m.apply(_preds(0, 1, 2))
    assert [p.class_id for p in out] == [1, 0, 2]
    assert [float(p.box[0]) for p in out] == [0.0, 1.0, 2.0]  # the boxes stay with their predictions
    assert m.describe() == "classes reordered by name"


@pytest.mark.parametrize(
    "model, data, says",
    [
        (["face"], ["face", "robot"], "the model cannot see [robot]"),  # subset: robot labels look unseen
        (["face", "robot", "alien"], ["face"], "the dataset has no [robot, alien]"),  # superset
        (["face", "hand", "robot"], ["person"], "the dataset has no [face, hand, robot]"),  # disjoint
        (["a", "b"], ["c", "d"], "the model cannot see [c, d]"),  # same count, other names: no id guess
    ],
)
def test_other_names_are_refused_with_both_lists(model, data, says):
    with pytest.raises(ClassMatchError) as e:
        match_classes(model, data, checkpoint="runs/t/best.pt", dataset="coco/data.yaml")
    text = str(e.value)
    assert text.startswith("runs/t/best.pt: checkpoint classes [")
    assert f"do not match the dataset's [{', '.join(data)}] (coco/data.yaml)" in text
    assert f"classes [{', '.join(model)}]" in text and says in text and "--class-map" in text


def test_explicit_map_renames_and_ignores():
    m = match_classes(["face", "hand", "robot"], ["person", "robot"], {"face": "person", "hand": "ignore"})
    assert m.targets == (0, None, 1)  # robot kept by its name
    out = m.apply(_preds(0, 1, 2, 7))  # 7: an id outside the checkpoint's classes is dropped too
    assert [p.class_id for p in out] == [0, 1]
    assert m.describe() == "face -> person, hand ignored"


def test_explicit_map_leaves_unnamed_unmatched_classes_out():
    m = match_classes(["face", "hand"], ["person"], parse_class_map("face=person"))
    assert m.targets == (0, None)


@pytest.mark.parametrize(
    "mapping, says",
    [
        ({"fase": "person"}, "'fase' is not a class of ckpt.pt; its classes are [face, hand]"),
        ({"face": "persn"}, "'persn' is not a class of data.yaml; its classes are [person] (or use face=ignore)"),
        ({"face": "ignore", "hand": "ignore"}, "every class of ckpt.pt [face, hand] is ignored"),
    ],
)
def test_explicit_map_with_unknown_names_is_refused(mapping, says):
    with pytest.raises(ClassMatchError, match="--class-map") as e:
        match_classes(["face", "hand"], ["person"], mapping, checkpoint="ckpt.pt", dataset="data.yaml")
    assert says in str(e.value)


@pytest.mark.parametrize("text", ["face", "face=", "=person", ",", "face=person,face=robot"])
def test_malformed_class_map_is_refused(text):
    with pytest.raises(ClassMatchError, match="--class-map"):
        parse_class_map(text)


def test_parse_class_map_trims():
    assert parse_class_map(" face = person , hand=ignore,") == {"face": "person", "hand": "ignore"}


def _schema(*names: str) -> KeypointSchema:
    return KeypointSchema(list(names))


def test_keypoint_count_mismatch_is_refused_even_with_a_class_map():
    with pytest.raises(ClassMatchError) as e:
        match_classes(
            ["face"],
            ["face"],
            {"face": "face"},
            model_keypoints=_schema("l", "r", "n"),
            dataset_keypoints=KeypointSchema.face5(),
            checkpoint="ckpt.pt",
        )
    text = str(e.value)
    assert "ckpt.pt: the checkpoint predicts 3 keypoints [l, r, n]" in text
    assert "has 5 [left_eye, right_eye, nose, left_mouth, right_mouth]" in text and "cannot be mapped" in text


def test_keypoints_reordered_by_name():
    m = match_classes(
        ["face"], ["face"], model_keypoints=_schema("b", "a", "c"), dataset_keypoints=_schema("a", "b", "c")
    )
    assert m.keypoint_order == (1, 0, 2) and not m.is_identity
    p = Prediction(0, [0, 0, 9, 9], 0.9, np.array([[1, 1, 0.9], [2, 2, 0.8], [3, 3, 0.7]]))
    (out,) = m.apply([p])
    assert out.keypoints[:, 0].tolist() == [2, 1, 3]  # dataset's 'a' is the checkpoint's second point
    assert p.keypoints[:, 0].tolist() == [1, 2, 3]


def test_keypoint_names_other_or_generic():
    assert match_keypoints(_schema("kp0", "kp1"), _schema("eye", "nose")) is None  # made-up names: by position
    assert match_keypoints(None, _schema("a")) is None and match_keypoints(_schema("a"), None) is None
    with pytest.raises(ClassMatchError, match=r"checkpoint keypoints \[tip, base\] do not match the dataset's"):
        match_keypoints(_schema("tip", "base"), _schema("eye", "nose"))
