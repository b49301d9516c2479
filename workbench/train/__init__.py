"""The Qt-free fine-tuning engine: models, data pipeline, loop, checkpoints, metrics.

``engine.train(config, callbacks, should_stop)`` is the one entry point the CLI, the GUI's
worker process and torchrun all call; everything else here is a small piece it uses.
"""
