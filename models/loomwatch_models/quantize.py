"""INT8 static quantisation (onnxruntime, QDQ, per-channel weights) calibrated on normal training tiles.

Calibration collects activation ranges chunk by chunk (histogram calibration would otherwise keep every
intermediate tensor of every tile in memory), then hands them to onnxruntime's QDQ quantiser. The nodes
whose error reaches the anomaly map most directly stay in FP32 (`fp32_nodes`).
"""
from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .data import read_gray
from .scoring import to_tiles

CALIBRATION_METHODS = ("minmax", "percentile", "entropy")
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


class _Tiles:
    """CalibrationDataReader over float32 tiles [N,1,T,T], one tile per call."""

    def __init__(self, name: str, tiles: np.ndarray):
        self.name, self.it = name, iter(tiles)

    def get_next(self):
        t = next(self.it, None)
        return None if t is None else {self.name: t[None]}

    def rewind(self):                            # newer onnxruntime versions may call it
        pass


def calibration_tiles(train_frames, n: int = 64, tile: int = 256, seed: int = 0) -> np.ndarray:
    """n tiles of the normal training frames, spread over every fabric (round robin; each fabric's frames in
    a seeded order, again from the start once all were used) at a seeded random tile column of each frame,
    so every fabric's texture and the saturated band at a frame's edge are in the ranges."""
    rng = np.random.default_rng(seed)
    by_fabric: dict[str, list] = defaultdict(list)
    for f in train_frames:
        by_fabric[f.fabric].append(f)
    fabrics = sorted(by_fabric)
    order = {fab: [by_fabric[fab][i] for i in rng.permutation(len(by_fabric[fab]))] for fab in fabrics}
    cache: dict[Path, np.ndarray] = {}
    out: list[np.ndarray] = []
    for i in range(n):
        fab = fabrics[i % len(fabrics)]
        k = i // len(fabrics)                    # the k-th tile of this fabric
        frame = order[fab][k % len(order[fab])]
        if frame.path not in cache:
            cache[frame.path] = to_tiles(read_gray(frame.path), tile)
        tiles = cache[frame.path]
        # (a first visit draws its column from a permutation, a repeat visit an integer: both uniform; kept so
        # that the committed variants' calibration stays reproducible)
        col = int(rng.permutation(len(tiles))[0]) if k < len(order[fab]) else int(rng.integers(len(tiles)))
        out.append(tiles[col])
    return np.stack(out)


def fp32_nodes(model: Any, family: str) -> list[str]:
    """Names of the nodes kept in FP32. DRAEM: the first and last convolution of each sub-network (the
    reconstruction and the discriminator) and the concatenation of image and reconstruction. PatchCore:
    the backbone's stem convolution and everything after the backbone — the nearest-neighbour search,
    the distance, upsampling and the Gaussian — so only the backbone's inner convolutions are INT8."""
    nodes = list(model.graph.node)
    if family == "draem":
        keep: list[str] = []
        for net in ("rec", "disc"):
            convs = [n.name for n in nodes if n.op_type == "Conv" and n.name.startswith(f"/draem/{net}/")]
            if not convs:
                raise ValueError(f"no /draem/{net}/ convolution in the graph: was it exported by export.py?")
            keep += [convs[0], convs[-1]]
        keep += [n.name for n in nodes if n.name == "/draem/Concat"]
        return keep
    if family == "patchcore":
        stem = [n.name for n in nodes if n.op_type == "Conv" and n.name.startswith("/features/stem")]
        if not stem:
            raise ValueError("no /features/stem convolution in the graph: was it exported by patchcore.py?")
        return stem[:1] + [n.name for n in nodes if not n.name.startswith("/features/")]
    raise ValueError(f"no FP32 placement rule for family {family!r}")


def store_transposes_once(model: Any) -> int:
    """Replaces each MatMul weight initializer that is exactly the transpose of another initializer by a
    Transpose of that one (onnxruntime folds it again at load); returns how many. The pre-processing's
    constant folding stores PatchCore's bank twice — each chunk transposed for the search and as rows for the
    distance: 19.4 MB instead of 10.1, the same outputs."""
    from onnx import helper, numpy_helper
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    by_shape: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for i in g.initializer:
        if len(i.dims) == 2:
            by_shape[tuple(i.dims)].append(i.name)
    nodes = list(g.node)
    replaced: dict[str, Any] = {}
    for n in nodes:
        b = n.input[1] if n.op_type == "MatMul" and len(n.input) > 1 else None
        if b is None or b not in inits or b in replaced or len(inits[b].dims) != 2:
            continue
        w = numpy_helper.to_array(inits[b])
        twin = next((r for r in by_shape[(w.shape[1], w.shape[0])]
                     if r != b and np.array_equal(numpy_helper.to_array(inits[r]).T, w)), None)
        if twin is not None:
            replaced[b] = helper.make_node("Transpose", [twin], [b], name=f"{b}_of_{twin}", perm=[1, 0])
    for b, node in replaced.items():
        first = next(i for i, n in enumerate(nodes) if b in n.input)
        nodes.insert(first, node)
    if replaced:
        keep = [i for i in g.initializer if i.name not in replaced]
        del g.initializer[:]
        g.initializer.extend(keep)
        del g.node[:]
        g.node.extend(nodes)
    return len(replaced)


def calibrate(model_path: Path, tiles: np.ndarray, method: str, op_types: list[str], chunk: int = 8,
              percentile: float = 99.999) -> Any:
    """Activation ranges (onnxruntime TensorsData) of `op_types`' tensors over `tiles`, collected in chunks."""
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"calibration method {method!r}: use one of {', '.join(CALIBRATION_METHODS)}")
    cm = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
          "entropy": CalibrationMethod.Entropy}[method]
    # Asymmetric ranges: activations are mostly post-ReLU (≥ 0) and become uint8.
    extra: dict[str, Any] = {"symmetric": False}
    if method == "percentile":
        extra.update(num_bins=2048, percentile=percentile)
    with tempfile.TemporaryDirectory(prefix="lw-calib.") as tmp:
        import onnxruntime as ort
        name = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"]).get_inputs()[0].name
        cal = create_calibrator(Path(model_path), op_types, augmented_model_path=str(Path(tmp) / "augmented.onnx"),
                                calibrate_method=cm, extra_options=extra)
        for start in range(0, len(tiles), chunk):
            cal.collect_data(_Tiles(name, tiles[start:start + chunk]))
            cal.clear_collected_data()           # the histograms/ranges are kept, the tensors dropped
        return cal.compute_data()


def quantize(fp32: Path, int8: Path, tiles: np.ndarray, *, family: str | None = None, method: str = "minmax",
             percentile: float = 99.999) -> dict[str, Any]:
    """Writes the INT8 (QDQ) model to `int8`; returns what was done: method, the FP32 nodes, the calibration."""
    import onnx
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization.qdq_quantizer import QDQQuantizer
    from onnxruntime.quantization.quant_utils import load_model_with_shape_infer
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry
    from onnxruntime.quantization.shape_inference import quant_pre_process
    pre = Path(int8).with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    try:
        model = load_model_with_shape_infer(pre)
        keep = fp32_nodes(onnx.load(str(pre)), family) if family else []
        kept = set(keep)
        # Calibrate only the tensors a quantised node reads or writes: PatchCore's nearest-neighbour
        # products ([patches × bank chunk] per tile) are never quantised and would not fit in memory.
        quantisable = set(QDQRegistry) | set(QLinearOpsRegistry)      # quantize_static's default op types
        op_types = sorted({n.op_type for n in model.graph.node if n.op_type in quantisable and n.name not in kept})
        ranges = calibrate(pre, tiles, method, op_types, percentile=percentile)
        quantizer = QDQQuantizer(model, True, False, QuantType.QInt8, QuantType.QUInt8, ranges, [], keep, op_types, {})
        quantizer.quantize_model()
        store_transposes_once(quantizer.model.model)
        quantizer.model.save_model_to_file(str(int8), False)
    finally:
        pre.unlink(missing_ok=True)
    return {"method": "onnxruntime quantize (QDQ), per-channel int8 weights, uint8 activations",
            "calibration": {"method": method, "tiles": int(len(tiles)),
                            **({"percentile": percentile} if method == "percentile" else {})},
            "fp32Nodes": keep}


def cpu_flags() -> list[str]:
    """The vector flags of this CPU that decide INT8 speed (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    m = re.search(r"^flags\s*:(.*)$", text, re.M)
    have = set(m.group(1).split()) if m else set()
    return [f for f in VECTOR_FLAGS if f in have]


def compare_speed(fp32: Path, int8: Path, tiles: np.ndarray, threads: int = 2, repeats: int = 5) -> dict[str, float]:
    """Milliseconds per batch of `tiles` (one frame = 16 tiles) for both models in one run: after a warm-up
    each, the two alternate `repeats` times, so a neighbour's load hits both alike; medians."""
    from .scoring import onnx_runner
    runs = {"fp32": onnx_runner(fp32, threads), "int8": onnx_runner(int8, threads)}
    times: dict[str, list[float]] = {k: [] for k in runs}
    for run in runs.values():
        run(tiles)
    for _ in range(repeats):
        for k, run in runs.items():
            t = time.perf_counter()
            run(tiles)
            times[k].append((time.perf_counter() - t) * 1000)
    return {k: statistics.median(v) for k, v in times.items()}
