"""Workbench: from a folder of labeled images to a fine-tuned detector and back."""

__version__ = "0.1.0"
