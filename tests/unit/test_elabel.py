"""The e-label's rules (services.elabel), without a database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services import elabel


@pytest.mark.parametrize("values,expected", [
    ((135, 750, "Contient des sulfites"), ()),
    ((None, 750, "Contient des sulfites"), ("alcohol",)),
    ((0, 750, ""), ("alcohol", "allergens")),
    ((135, 0, "   "), ("volume", "allergens")),
    ((None, None, None), ("alcohol", "volume", "allergens")),
])
def test_missing_names_what_a_visible_wine_lacks_in_order(values, expected):
    assert elabel.missing(*values) == expected


@pytest.mark.parametrize("shown,now,was_visible,before,refused", [
    (False, ("alcohol", "allergens"), False, (), None),  # a hidden draft lacks what it likes
    (True, (), False, (), None),  # complete: shown
    (True, ("allergens",), False, (), ("allergens",)),  # made visible without allergens
    (True, ("allergens",), True, ("allergens",), None),  # visible before the rule: stays so
    (True, ("alcohol", "allergens"), True, ("allergens",), ("alcohol", "allergens")),  # loses more
    (True, ("allergens",), False, ("allergens",), ("allergens",)),  # "before" counts only if it was visible
    (True, ("allergens",), True, (), ("allergens",)),  # a complete visible wine may not lose one
])
def test_check_visibility_refuses_new_gaps_only(shown, now, was_visible, before, refused):
    if refused is None:
        elabel.check_visibility(shown=shown, missing_now=now, was_visible=was_visible, missing_before=before)
        return
    with pytest.raises(elabel.LabelIncomplete) as caught:
        elabel.check_visibility(shown=shown, missing_now=now, was_visible=was_visible, missing_before=before)
    assert caught.value.missing == refused and caught.value.was_visible is was_visible
    assert (caught.value.field, caught.value.code) == ("is_visible", "label_incomplete")


@pytest.mark.parametrize("typed,filled", [
    ("", "Contient des sulfites"),
    (None, "Contient des sulfites"),
    ("  œuf ", "Contient des sulfites, œuf"),
    ("Contient des SULFITES et de l'œuf", "Contient des SULFITES et de l'œuf"),
])
def test_the_sulfites_button_puts_sulfites_first_once(typed, filled):
    assert elabel.with_sulfites(typed) == filled


@pytest.mark.parametrize("given,both", [
    ((None, 85), (356, 85)),
    ((356, None), (356, 85)),
    ((350, 84), (350, 84)),
    ((None, None), (None, None)),
    ((0, None), (0, 0)),
])
def test_one_energy_gives_the_other(given, both):
    assert elabel.energy_pair(*given) == both


def test_energies_agree_within_rounding_only():
    assert elabel.energies_agree(356, 85) and elabel.energies_agree(351, 84) and elabel.energies_agree(0, 0)
    assert not elabel.energies_agree(100, 85) and not elabel.energies_agree(85, 356)


def test_the_default_bottler_is_the_estates_legal_name_and_address():
    estate = SimpleNamespace(name="Domaine Rozel", legal_name="SCEA Domaine Rozel", street="12 rue des Caves",
                             postcode="49400", city="Varrains")
    assert elabel.default_bottler(estate) == "SCEA Domaine Rozel, 12 rue des Caves, 49400 Varrains"
    bare = SimpleNamespace(name="Domaine Rozel", legal_name="", street="", postcode="", city="Varrains")
    assert elabel.default_bottler(bare) == "Domaine Rozel, Varrains"
    wine = SimpleNamespace(bottler="  ")
    assert elabel.bottler_of(wine, estate) == "SCEA Domaine Rozel, 12 rue des Caves, 49400 Varrains"
    assert elabel.bottler_of(SimpleNamespace(bottler="Négoce X, Lyon"), estate) == "Négoce X, Lyon"


def test_nutrients_keep_the_declaration_order_and_skip_the_unknown():
    wine = SimpleNamespace(fat_dg=0, saturates_dg=None, carbohydrate_dg=6, sugars_dg=2, protein_dg=None, salt_dg=0)
    assert [(n.code, n.decigrams) for n in elabel.nutrients(wine)] == [
        ("fat", 0), ("carbohydrate", 6), ("sugars", 2), ("salt", 0)]


def test_the_qr_code_svg_is_one_path_and_the_png_a_png():
    svg = elabel.qr_svg("http://shop.test/domaine/vin/1/etiquette")
    assert svg.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<svg ') and svg.count(b"<path") == 1
    assert b"<script" not in svg and b"<image" not in svg
    assert elabel.qr_png("http://shop.test/domaine/vin/1/etiquette").startswith(b"\x89PNG\r\n\x1a\n")
