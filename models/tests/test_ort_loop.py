import hashlib
import io

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from loomwatch_models.ort_loop import TiledModel, open_session, stitch, tile_origins, to_tiles


def reflect(i: int, n: int) -> int:
    """numpy `reflect` index, as reflectIndex in packages/inference/src/core/tiling.ts."""
    period = 2 * (n - 1)
    m = i % period
    return m if m < n else period - m


def test_tiles_reach_the_edge_at_multiples_of_the_stride():
    assert tile_origins(9, 3, 3) == [0, 3, 6]
    assert tile_origins(7, 3, 3) == [0, 3, 6]
    assert tile_origins(7, 3, 2) == [0, 2, 4]
    assert tile_origins(3, 3, 1) == [0]
    with pytest.raises(ValueError):
        tile_origins(7, 3, 4)
    with pytest.raises(ValueError):
        tile_origins(2, 3, 3)


@pytest.mark.parametrize("stride", [3, 2])
def test_tiles_read_the_frame_reflected_beyond_its_edges(stride):
    frame = np.arange(5 * 7, dtype=np.float32).reshape(5, 7)
    tiles = to_tiles(frame, 3, stride)
    ys, xs = tile_origins(5, 3, stride), tile_origins(7, 3, stride)
    assert tiles.shape == (len(ys) * len(xs), 1, 3, 3)
    for i, (y0, x0) in enumerate((y, x) for y in ys for x in xs):
        for ty in range(3):
            for tx in range(3):
                assert tiles[i, 0, ty, tx] == frame[reflect(y0 + ty, 5), reflect(x0 + tx, 7)]


@pytest.mark.parametrize("stride", [3, 2, 1])
def test_stitching_the_tiles_gives_back_the_frame(stride):
    frame = np.random.default_rng(0).random((5, 7)).astype(np.float32)
    assert np.allclose(stitch(to_tiles(frame, 3, stride)[:, 0], 5, 7, stride), frame)


def test_overlapping_tiles_are_averaged():
    # tiles of width 3 at x = 0, 2 on a 5-wide frame: column 2 is covered by both
    maps = np.stack([np.full((3, 3), 1.0, np.float32), np.full((3, 3), 3.0, np.float32)])
    assert stitch(maps, 3, 5, 2)[0].tolist() == [1, 1, 2, 3, 3]


def identity_version(tmp_path, tile: int, kernel: int):
    """A version directory whose model passes tiles through: the map is the scaled frame."""
    shape = ["n", 1, tile, tile]
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["anomaly_map"])], "identity",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("anomaly_map", TensorProto.FLOAT, shape)])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    onnx.checker.check_model(onnx.load_from_string(data))
    (tmp_path / "model.onnx").write_bytes(data)
    card = {"onnx": {"file": "model.onnx", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
            "input": {"name": "image", "tileSize": tile, "scale": 1 / 255, "offset": 0},
            "output": {"name": "anomaly_map", "anomalyChannel": 0},
            "postprocess": {"smoothingKernel": kernel}}
    return card


def png(frame: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(frame, mode="L").save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("stride", [4, 3])
def test_the_loop_maps_and_scores_a_frame_through_the_session(tmp_path, stride):
    card = identity_version(tmp_path, tile=4, kernel=1)
    model = TiledModel(open_session(tmp_path, card, 1, "all", False), card, batch=2, stride=stride)
    frame = np.random.default_rng(1).integers(0, 200, (6, 10)).astype(np.uint8)
    frame[5, 9] = 255
    scaled = frame.astype(np.float32) * np.float32(1 / 255)
    assert np.allclose(model.anomaly_map(frame), scaled, rtol=0, atol=1e-7)
    assert model.score(png(frame)) == pytest.approx(1.0)


def test_a_model_file_that_does_not_match_its_card_is_refused(tmp_path):
    card = identity_version(tmp_path, tile=4, kernel=1)
    card["onnx"]["sha256"] = "0" * 64
    with pytest.raises(SystemExit, match="sha256"):
        open_session(tmp_path, card, 1, "all", False)


def test_the_score_is_the_max_of_the_cards_mean_filter(tmp_path):
    card = identity_version(tmp_path, tile=4, kernel=3)
    model = TiledModel(open_session(tmp_path, card, 1, "all", False), card, batch=16, stride=None)
    spot = np.zeros((8, 8), np.uint8); spot[3, 4] = 255
    block = np.zeros((8, 8), np.uint8); block[2:5, 3:6] = 255
    assert model.score(png(spot)) == pytest.approx(1 / 9, abs=1e-6)
    assert model.score(png(block)) == pytest.approx(1.0, abs=1e-6)
