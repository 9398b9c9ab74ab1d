"""INT8 variants: calibration tiles, FP32 placement, a real quantisation of the random model, and the
committed variants' cards against their parents."""
import json

import numpy as np
import onnx
import pytest

from loomwatch_models.data import load_split
from loomwatch_models.paths import REGISTRY_DIR, SPLITS_DIR
from loomwatch_models.quantize import calibration_tiles, compare_speed, cpu_flags, fp32_nodes, quantize
from loomwatch_models.registry import read_card
from loomwatch_models.scoring import onnx_runner

RANDOM = REGISTRY_DIR / "draem-random" / "0.0.1" / "model.onnx"
VARIANTS = sorted(p.parent for p in REGISTRY_DIR.glob("*/*/model.json") if "quantization" in json.loads(p.read_text()))


@pytest.fixture(scope="module")
def train_frames(aitex):
    return load_split(SPLITS_DIR / "aitex-split-v1.json", aitex)[0]


def test_calibration_tiles_come_from_every_fabric_of_the_training_frames(train_frames):
    tiles = calibration_tiles(train_frames, 14)
    fabrics = sorted({f.fabric for f in train_frames})
    assert tiles.shape == (14, 1, 256, 256) and tiles.dtype == np.float32
    assert len(fabrics) == 7
    # two per fabric: no two tiles alike (other frames or other columns)
    assert len({t.tobytes() for t in tiles}) == 14
    assert np.array_equal(tiles, calibration_tiles(train_frames, 14))           # seeded


def test_fp32_placement_keeps_each_draem_subnetworks_first_and_last_convolution():
    keep = fp32_nodes(onnx.load(str(RANDOM)), "draem")
    assert keep == ["/draem/rec/enc.0/enc.0.0/Conv", "/draem/rec/dec/dec.8/Conv", "/draem/disc/enc.0/enc.0.0/Conv",
                    "/draem/disc/fin/Conv", "/draem/Concat"]
    with pytest.raises(ValueError, match="no FP32 placement rule"):
        fp32_nodes(onnx.load(str(RANDOM)), "other")


def test_the_quantised_random_model_keeps_its_edges_in_fp32_and_stays_close(train_frames, tmp_path):
    tiles = calibration_tiles(train_frames, 7)
    out = tmp_path / "int8.onnx"
    done = quantize(RANDOM, out, tiles, family="draem", method="percentile")
    g = onnx.load(str(out)).graph
    by_name = {n.name: n for n in g.node}
    produced = {o: n for n in g.node for o in n.output}
    for name in done["fp32Nodes"]:
        # an FP32 node's weights are plain initializers, not DequantizeLinear outputs
        if by_name[name].op_type == "Conv":
            assert produced.get(by_name[name].input[1]) is None, name
    assert sum(n.op_type == "DequantizeLinear" for n in g.node) > 10
    fp, q = onnx_runner(RANDOM, 1)(tiles[:2]), onnx_runner(out, 1)(tiles[:2])
    assert np.abs(fp - q).max() < 0.1
    ms = compare_speed(RANDOM, out, tiles[:1], threads=1, repeats=3)
    assert set(ms) == {"fp32", "int8"} and min(ms.values()) > 0
    assert set(cpu_flags()) <= {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"}


@pytest.mark.parametrize("vdir", VARIANTS, ids=[f"{p.parent.name}@{p.name}" for p in VARIANTS])
def test_a_committed_int8_variant_records_its_loss_against_the_parent_beside_it(vdir):
    card = read_card(vdir)
    q = card["quantization"]
    parent = read_card(vdir.parent / q["parent"])
    assert "quantization" not in parent and parent["name"] == card["name"]
    assert q["aurocLoss"] == pytest.approx(parent["metrics"]["imageAuroc"] - card["metrics"]["imageAuroc"], abs=1e-9)
    assert q["speedup"] == pytest.approx(q["msPerFrame"]["fp32"] / q["msPerFrame"]["int8"])
    if "fabrics" in parent["postprocess"]:          # served in the parent's place, it is calibrated per fabric too
        assert "fabricCalibrated" in card["metrics"]


def test_a_matmul_weight_stored_twice_becomes_a_transpose_of_its_twin_with_the_same_outputs(tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    from loomwatch_models.quantize import store_transposes_once
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(6, 4)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["q", "rows_t"], ["scores"]),
         helper.make_node("ArgMax", ["scores"], ["best"], axis=1),
         helper.make_node("Gather", ["rows", "best"], ["nearest"])],
        "twins", [helper.make_tensor_value_info("q", TensorProto.FLOAT, [3, 4])],
        [helper.make_tensor_value_info("nearest", TensorProto.FLOAT, [3, 4])],
        [numpy_helper.from_array(rows, "rows"), numpy_helper.from_array(np.ascontiguousarray(rows.T), "rows_t"),
         numpy_helper.from_array(rng.normal(size=(4, 6)).astype(np.float32), "unrelated")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    before, after = tmp_path / "before.onnx", tmp_path / "after.onnx"
    onnx.save(model, str(before))
    assert store_transposes_once(model) == 1
    assert {i.name for i in model.graph.initializer} == {"rows", "unrelated"}
    onnx.checker.check_model(model)
    onnx.save(model, str(after))
    import onnxruntime as ort
    q = rng.normal(size=(3, 4)).astype(np.float32)
    run = lambda p: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"q": q})[0]  # noqa: E731
    assert np.array_equal(run(before), run(after))
