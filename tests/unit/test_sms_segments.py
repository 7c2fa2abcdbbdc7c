"""SMS segment counting: GSM-7 (160 / 153 septets) and UCS-2 (70 / 67 code units)."""
import pytest

from pos_loyalty.notify.segments import count_segments


def test_default_french_balance_text_is_one_gsm7_segment():
    text = "Merci ! +25 points chez Boulangerie Lyon. Solde : 1 250 points (125,00 €)."
    count = count_segments(text)
    assert (count.encoding, count.segments, count.units) == ("GSM-7", 1, len(text) + 1)


@pytest.mark.parametrize("length, segments", [(160, 1), (161, 2), (306, 2), (307, 3)])
def test_plain_text_segments(length, segments):
    assert count_segments("a" * length).segments == segments


def test_euro_sign_takes_two_septets_and_is_never_split():
    assert count_segments("€" * 80).segments == 1
    assert count_segments("€" * 81).segments == 2  # 76 pairs fill 152 of 153 septets
    # 306 septets would fill two parts, but the euro sign cannot straddle them: three parts.
    assert count_segments("a" * 152 + "€" + "a" * 152).segments == 3
    assert count_segments("a" * 151 + "€" + "a" * 153).segments == 2


@pytest.mark.parametrize("char", ["ê", "ç", "â", "\u00a0", "\u202f"])
def test_characters_outside_gsm7_switch_the_text_to_ucs2(char):
    assert count_segments(f"Votre solde {char}").encoding == "UCS-2"


@pytest.mark.parametrize("length, segments", [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_segments(length, segments):
    assert count_segments("ê" * length).segments == segments


def test_emoji_counts_two_code_units_and_is_never_split():
    assert count_segments("🙂" * 35).segments == 1
    assert count_segments("🙂" * 36).segments == 2
    assert count_segments("ê" + "🙂" * 33 + "ê" * 3).units == 70


def test_gsm7_accents_stay_gsm7():
    assert count_segments("éèùìòÇÉàÄÖÑÜäöñü").encoding == "GSM-7"
