"""Loomwatch model pipeline: AITEX data checks, DRAEM training and evaluation, ONNX export, registry."""

__version__ = "0.1.0"
