"""Fixtures every test module may use.

Qt runs offscreen; the real COCO samples in ../shared/testdata are used when present
and their tests skip on a machine without them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Thumbnails, settings and caches of test runs must not touch the user's real ones.
os.environ.setdefault("WORKBENCH_TEST", "1")

SHARED_TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    if not SHARED_TESTDATA.is_dir():
        pytest.skip("../shared/testdata is not present on this machine")
    return SHARED_TESTDATA


@pytest.fixture(scope="session")
def coco8(shared_testdata: Path) -> Path:
    """The coco8 data.yaml (YOLO boxes, 80 classes, empty ``path:``)."""
    return shared_testdata / "coco8" / "coco8.yaml"


@pytest.fixture(scope="session")
def coco8_pose(shared_testdata: Path) -> Path:
    """The coco8-pose data.yaml (17 keypoints, flip_idx)."""
    return shared_testdata / "coco8-pose" / "coco8-pose.yaml"


@pytest.fixture
def sample_yaml(tmp_path: Path) -> Path:
    """A fresh copy of the bundled sample dataset (data.yaml path)."""
    from workbench.sample_data import write_sample

    return write_sample(tmp_path / "sample")
