"""The review-loop scenario's split (aitex-loop-v1): derived from aitex-split-v1 without randomness."""
import json
import math
from collections import defaultdict

import pytest

from loomwatch_models.data import frame_number, load_split, load_stream, make_loop_split
from loomwatch_models.paths import SPLITS_DIR

BASE = json.loads((SPLITS_DIR / "aitex-split-v1.json").read_text())
LOOP = json.loads((SPLITS_DIR / "aitex-loop-v1.json").read_text())


def test_train_and_stream_partition_the_base_training_normals_and_validation_is_unchanged():
    files = [e["file"] for e in LOOP["train"] + LOOP["stream"]]
    assert len(files) == len(set(files))                               # disjoint
    assert sorted(LOOP["train"] + LOOP["stream"], key=lambda e: e["file"]) == BASE["train"]   # and complete
    assert LOOP["validation"] == BASE["validation"]                    # held out: the same 91 frames
    assert not {e["file"] for e in LOOP["validation"]} & set(files)
    assert (len(LOOP["train"]), len(LOOP["stream"]), len(LOOP["validation"])) == (35, 57, 91)


def test_each_roll_keeps_its_first_third_by_frame_number_as_train():
    rolls: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"train": [], "stream": []})
    for part in ("train", "stream"):
        for e in LOOP[part]:
            rolls[e["roll"]][part].append(frame_number(e))
    assert len(rolls) == 7
    for parts in rolls.values():
        n = len(parts["train"]) + len(parts["stream"])
        assert len(parts["train"]) == math.ceil(n / 3)
        assert max(parts["train"]) < min(parts["stream"])             # the first frames of the roll


def test_the_committed_file_is_what_the_rule_gives_and_the_rule_is_deterministic():
    assert make_loop_split(BASE) == LOOP == make_loop_split(json.loads(json.dumps(BASE)))
    quarter = make_loop_split(BASE, share=0.25)
    assert len(quarter["train"]) == 7 * 4 and quarter["trainShare"] == 0.25    # ceil(13/4) = ceil(14/4) = 4
    with pytest.raises(ValueError, match="already has a stream"):
        make_loop_split(LOOP)
    with pytest.raises(ValueError, match="must be in"):
        make_loop_split(BASE, share=1.0)


def test_the_split_readers_take_the_scenario_split(aitex):
    train, val, _ = load_split(SPLITS_DIR / "aitex-loop-v1.json", aitex)
    stream = load_stream(SPLITS_DIR / "aitex-loop-v1.json", aitex)
    assert (len(train), len(stream), len(val)) == (35, 57, 91)
    assert [f.rel for f in stream] == [e["file"] for e in LOOP["stream"]]
    assert load_stream(SPLITS_DIR / "aitex-split-v1.json", aitex) == []
