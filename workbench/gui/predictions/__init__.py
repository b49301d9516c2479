"""The detection viewer: a checkpoint's predictions over the labels, filtered live, accepted as labels."""
