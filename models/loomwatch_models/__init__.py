"""Loomwatch model pipeline: AITEX data checks, DRAEM training and evaluation, ONNX export, registry."""

# onnx (the venv's wheel, needed by onnxruntime's quantisation tools) must be imported before torch:
# Debian's torch registers its own copy of the ONNX protobuf descriptors, and the wheel's onnx then
# fails to import ("cannot import name 'IR_VERSION_2021_7_30'"). Importing onnx first avoids that.
import onnx  # noqa: F401  (import order matters, see above)

__version__ = "0.1.0"
