"""Fixtures for the GUI tests (loaded with ``pytest_plugins``; never imported directly)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def _sample_master(tmp_path_factory) -> Path:
    from workbench.sample_data import write_sample

    return write_sample(tmp_path_factory.mktemp("sample-master") / "sample")


@pytest.fixture
def gui_sample(_sample_master: Path, tmp_path: Path) -> Path:
    """A fresh copy of the sample dataset (drawn once per session: drawing takes a second)."""
    return shutil.copytree(_sample_master.parent, tmp_path / "sample") / "data.yaml"
