"""Running exported models without torch: ONNX metadata, preprocessing and the onnxruntime predictor.

This layer sits beside ``train`` and depends on ``core`` only: a machine with onnxruntime
and no torch can run ``workbench predict MODEL.onnx``. ``train.onnx_export`` writes what
this package reads.
"""
