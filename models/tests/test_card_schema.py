"""Model cards against the published JSON Schema (docs/schemas/model-card.v1.json, from the zod ModelCard)."""
import copy
import json

import pytest

from loomwatch_models.paths import REGISTRY_DIR
from loomwatch_models.registry import CARD_SCHEMA, card_validator, validate_card

CARDS = sorted(REGISTRY_DIR.glob("*/*/model.json"))


def _card() -> dict:
    return copy.deepcopy(json.loads(CARDS[0].read_text()))


def test_the_schema_is_the_published_one():
    assert CARD_SCHEMA.exists(), f"{CARD_SCHEMA}: the published card schema is missing"
    assert card_validator().schema == json.loads(CARD_SCHEMA.read_text())


@pytest.mark.parametrize("path", CARDS, ids=[f"{p.parent.parent.name}@{p.parent.name}" for p in CARDS])
def test_every_registry_card_validates(path):
    validate_card(json.loads(path.read_text()))


def test_a_misspelt_key_is_refused_naming_its_path():
    card = _card()
    pp = card["postprocess"]
    pp["imageTreshold"] = pp.pop("imageThreshold")
    with pytest.raises(ValueError, match=r"\$\.postprocess") as e:
        validate_card(card)
    assert "imageTreshold" in str(e.value) and "imageThreshold" in str(e.value)

    card = _card()
    card["note"] = card.pop("notes", "")                   # an optional key misspelt: only the schema notices
    with pytest.raises(ValueError, match="'note' was unexpected"):
        validate_card(card)


def test_a_wrong_type_is_refused_naming_its_path():
    card = _card()
    card["input"]["tileSize"] = "256"
    with pytest.raises(ValueError, match=r"\$\.input\.tileSize: '256' is not of type 'integer'"):
        validate_card(card)

    card = _card()
    card["metrics"]["imageAuroc"] = 1.5
    with pytest.raises(ValueError, match=r"\$\.metrics\.imageAuroc"):
        validate_card(card)

    card = _card()
    card["postprocess"]["pixelThreshold"] = float("nan")   # JSON has no NaN; the schema's bounds would let it by
    with pytest.raises(ValueError, match=r"\$\.postprocess\.pixelThreshold: nan is not a finite number"):
        validate_card(card)


def test_the_rules_the_schema_cannot_carry_still_hold():
    card = _card()
    card["postprocess"]["smoothingKernel"] = 20
    with pytest.raises(ValueError, match=r"\$\.postprocess\.smoothingKernel: 20 must be odd"):
        validate_card(card)
    card = _card()
    pp = card["postprocess"]
    pp["normalization"]["max"] = pp["imageThreshold"] / 2
    with pytest.raises(ValueError, match=r"\$\.postprocess: normalization\.min < imageThreshold"):
        validate_card(card)


def test_operating_points_out_of_order_are_refused_as_the_engine_would():
    card = copy.deepcopy(json.loads((REGISTRY_DIR / "patchcore-aitex" / "1.2.0" / "model.json").read_text()))
    validate_card(card)
    points = card["postprocess"]["fabrics"]["02"]["operatingPoints"]["points"]
    points[3]["imageThreshold"] = points[2]["imageThreshold"] + 0.01          # a higher rate, a higher threshold
    with pytest.raises(ValueError, match=r"\$\.postprocess\.fabrics\.02\.operatingPoints\.points\[3\]"):
        validate_card(card)
