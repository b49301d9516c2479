"""The Label QC panel: a model's predictions rank the labels most likely wrong, each with a one-click fix."""
