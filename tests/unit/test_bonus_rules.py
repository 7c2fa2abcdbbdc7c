"""The pure parts of the bonuses: which birthdays a day's job pays, when a birthday is known
long enough, how a referral code is read, what the phone's history calls each entry."""
from __future__ import annotations

import datetime as dt

import pytest

from pos_loyalty.bonuses import birthday_known_long_enough, birthday_window
from pos_loyalty.customer_data import HISTORY_LABELS, entry_label
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models.ledger import ENTRY_KINDS
from pos_loyalty.referrals import read_code


def test_the_window_holds_the_birthdays_of_the_last_seven_days():
    window = birthday_window(dt.date(2027, 3, 3))
    assert sorted(window.values()) == [dt.date(2027, 2, d) for d in (25, 26, 27, 28, 28)] + [
        dt.date(2027, 3, d) for d in (1, 2, 3)]
    assert window[(2, 29)] == dt.date(2027, 2, 28)


def test_29_february_has_its_own_day_in_leap_years():
    window = birthday_window(dt.date(2028, 3, 1))
    assert (window[(2, 28)], window[(2, 29)]) == (dt.date(2028, 2, 28), dt.date(2028, 2, 29))
    assert (2, 29) not in birthday_window(dt.date(2028, 2, 28))


def test_a_window_across_new_year_names_last_year_s_days():
    window = birthday_window(dt.date(2027, 1, 2))
    assert window[(12, 31)] == dt.date(2026, 12, 31)
    assert window[(12, 27)] == dt.date(2026, 12, 27)
    assert (12, 26) not in window


DAY_ENDS = dt.datetime(2026, 5, 20, 22, 0)   # midnight in Paris, summer time


@pytest.mark.parametrize(("set_at", "min_days", "pays"), [
    (None, 30, True),
    (dt.datetime(2026, 4, 20, 21, 59), 30, True),
    (dt.datetime(2026, 4, 20, 22, 0), 30, False),
    (dt.datetime(2026, 5, 20, 21, 59), 0, True),
    (dt.datetime(2026, 5, 20, 22, 0), 0, False),
])
def test_a_birthday_pays_once_known_the_minimum_days_before_its_day_ends(set_at, min_days,
                                                                          pays):
    assert birthday_known_long_enough(set_at, DAY_ENDS, min_days) is pays


@pytest.mark.parametrize(("raw", "read"), [
    (None, None), ("", None), ("   ", None), ("k7mp-x2qd", "K7MPX2QD"), (" K7MP X2QD ", "K7MPX2QD"),
])
def test_a_referral_code_is_read_without_case_spaces_or_dashes(raw, read):
    assert read_code(raw) == read


@pytest.mark.parametrize("raw", [12345678, ["K7MPX2QD"], "K" * 33])
def test_a_referral_code_that_is_no_short_text_is_refused(raw):
    with pytest.raises(ValidationFailed) as refused:
        read_code(raw)
    assert refused.value.details == {"field": "referral_code"}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_kind_of_entry_has_a_label_in_french_and_english(language):
    assert set(HISTORY_LABELS[language]) == set(ENTRY_KINDS)
    assert all(HISTORY_LABELS[language].values())


def test_a_campaign_entry_reads_as_the_campaign():
    labels = {"fr": "Points doublés", "en": "Double points"}
    assert entry_label("campaign", "fr", "x2 Lyon", labels) == "Points doublés"
    assert entry_label("campaign", "de", "x2 Lyon", labels) == "Double points"
    assert entry_label("campaign", "fr", "x2 Lyon", {}) == "x2 Lyon"


def test_another_language_reads_english_labels():
    assert entry_label("birthday", "de") == "Birthday bonus"
    assert entry_label("birthday", "fr") == "Bonus d'anniversaire"
