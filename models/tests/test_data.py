import json

import numpy as np
import pytest
from PIL import Image

from loomwatch_models.data import (
    DataCheckError,
    check,
    index,
    load_split,
    make_split,
    read_gray,
    read_mask,
    sha256_file,
)
from loomwatch_models.paths import SPLITS_DIR


@pytest.fixture(scope="module")
def checked(aitex):
    return check(aitex)


def test_shared_dataset_passes_every_assertion(checked):
    frames, facts = checked
    assert facts["frames"] == 183
    assert sum(f.label for f in frames) == 63


def test_frames_with_two_masks_get_their_union(aitex):
    frames = {f.stem: f for f in index(aitex)}
    for stem in ("0044_019_04", "0097_030_03"):
        f = frames[stem]
        assert len(f.masks) == 2
        parts = [np.asarray(Image.open(p))[..., 0] > 127 if np.asarray(Image.open(p)).ndim == 3
                 else np.asarray(Image.open(p)) > 127 for p in f.masks]
        merged = read_mask(f)
        assert (merged == (parts[0] | parts[1])).all()
        assert merged.sum() > max(p.sum() for p in parts)


def test_frame_without_mask_is_image_level_only(aitex, checked):
    frames = {f.stem: f for f in index(aitex)}
    assert read_mask(frames["0100_025_08"]) is None
    assert any(q["file"] == "defect/0100_025_08.png" for q in checked[1]["quirks"])


def test_gray_alpha_frames_and_masks_read_as_single_channel(aitex):
    frames = {f.stem: f for f in index(aitex)}
    f = frames["0043_019_04"]                      # frame and mask both stored as LA
    img, m = read_gray(f.path), read_mask(f)
    assert img.shape == m.shape == (256, 4096) and img.dtype == np.uint8 and m.any()


def test_a_wrong_sized_frame_fails_naming_the_file_and_rule(tmp_path):
    for sub in ("normal/roll-a", "defect", "mask"):
        (tmp_path / sub).mkdir(parents=True)
    Image.fromarray(np.zeros((256, 4000), np.uint8)).save(tmp_path / "normal/roll-a/0001_000_01.png")
    with pytest.raises(DataCheckError) as e:
        check(tmp_path)
    assert "0001_000_01.png" in str(e.value) and "4096x256" in e.value.rule


def test_a_defect_frame_without_mask_fails(tmp_path):
    for sub in ("normal/roll-a", "defect", "mask"):
        (tmp_path / sub).mkdir(parents=True)
    Image.fromarray(np.zeros((256, 4096), np.uint8)).save(tmp_path / "defect/0002_019_01.png")
    with pytest.raises(DataCheckError, match="0002_019_01.png: defect frame without a mask"):
        check(tmp_path)


def test_duplicate_frames_are_rejected(tmp_path):
    for sub in ("normal/roll-a", "defect", "mask"):
        (tmp_path / sub).mkdir(parents=True)
    a = np.random.default_rng(0).integers(0, 255, (256, 4096)).astype(np.uint8)
    Image.fromarray(a).save(tmp_path / "normal/roll-a/0001_000_01.png")
    Image.fromarray(a).save(tmp_path / "normal/roll-a/0002_000_01.png")
    with pytest.raises(DataCheckError, match="duplicate frame"):
        check(tmp_path)


def test_split_is_deterministic_and_matches_the_committed_file(aitex):
    frames = index(aitex)
    s1, s2 = make_split(frames), make_split(frames)
    assert s1 == s2
    committed = json.loads((SPLITS_DIR / "aitex-split-v1.json").read_text())
    assert committed == json.loads(json.dumps(s1))


def test_split_keeps_defects_out_of_training_and_every_roll_on_both_sides(aitex):
    train, val, digest = load_split(SPLITS_DIR / "aitex-split-v1.json", aitex)
    assert digest == sha256_file(SPLITS_DIR / "aitex-split-v1.json")
    assert all(f.label == 0 for f in train)
    assert {f.rel for f in train}.isdisjoint(f.rel for f in val)
    rolls = {f.roll for f in train}
    assert len(rolls) == 7 and rolls == {f.roll for f in val if f.roll}
    assert sum(f.label for f in val) == 63
