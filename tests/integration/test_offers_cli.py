"""`pos-loyalty tiers ...` and `pos-loyalty campaigns ...`, with the clock set."""
import datetime as dt

import pytest

from pos_loyalty import programs
from pos_loyalty.db import db

NOW = dt.datetime(2026, 3, 9, 10, 0)   # a Monday, 11:00 in Paris

LADDER_TOML = """
tier_measure = "points"
tier_period_months = 0
tiers = [
  { key = "silver", threshold = 100, multiplier = "1.25", names = { fr = "Argent", en = "Silver" } },
  { key = "gold", threshold = 300, multiplier = "1.5", names = { fr = "Or", en = "Gold" } },
]
"""


@pytest.fixture
def at_now(app):
    app.extensions["pos_loyalty.clock"] = lambda: NOW
    return NOW


def lines(result):
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()


def test_a_ladder_from_a_file_is_set_and_shown(runner, tmp_path, at_now):
    path = tmp_path / "tiers.toml"
    path.write_text(LADDER_TOML)
    assert lines(runner.invoke(args=["tiers", "set", str(path)])) == \
        ["ladder: silver, gold; 0 accounts moved"]
    shown = lines(runner.invoke(args=["tiers", "show"]))
    assert shown[0] == "measure: points; period: calendar year"
    assert shown[1:] == ["silver\tArgent\tfrom 100\tx1.25", "gold\tOr\tfrom 300\tx1.5"]


@pytest.mark.parametrize("toml, message", [
    ('tiers = [{ key = "Gold!", threshold = 10 }]', "key must be"),
    ('tiers = [{ key = "gold", threshold = 10, multiplier = 1.5 }]', "not a float"),
    ('tiers = [{ key = "a", threshold = 10 }, { key = "b", threshold = 10 }]', "different"),
    ('tier_colour = "red"\ntiers = []', "Unknown tier setting"),
    ('tiers = [', "cannot read"),
])
def test_a_bad_ladder_is_refused_whole(runner, tmp_path, at_now, toml, message):
    path = tmp_path / "tiers.toml"
    path.write_text(toml)
    result = runner.invoke(args=["tiers", "set", str(path)])
    assert result.exit_code == 2 and message in result.output
    assert lines(runner.invoke(args=["tiers", "show"]))[1:] == []   # nothing changed


def test_a_campaign_is_created_listed_and_ended(runner, at_now):
    runner.invoke(args=["init"])
    created = lines(runner.invoke(args=[
        "campaigns", "create", "--name", "Double Saturdays", "--label-fr", "Points doublés",
        "--starts", "2026-03-14", "--ends", "2026-03-31", "--weekdays", "sat",
        "--multiplier", "2", "--budget-points", "5000"]))
    campaign_id = created[-1]
    assert created[0] == (f'campaign {campaign_id} "Double Saturdays": scheduled '
                          "2026-03-14T00:00 to 2026-04-01T00:00")
    listed = lines(runner.invoke(args=["campaigns", "list"]))
    assert listed == [f"{campaign_id}\tscheduled\tx2\t2026-03-14T00:00 to 2026-04-01T00:00\t"
                      "given 0/5000\tDouble Saturdays"]
    assert lines(runner.invoke(args=["campaigns", "end", campaign_id])) == \
        [f"campaign {campaign_id} ended; it gave 0 points"]
    assert lines(runner.invoke(args=["campaigns", "list"])) == []
    assert len(lines(runner.invoke(args=["campaigns", "list", "--all"]))) == 1


@pytest.mark.parametrize("args, message", [
    (["--multiplier", "2", "--bonus-points", "5"], "either a multiplier"),
    (["--multiplier", "1"], "above 1"),
    (["--multiplier", "2", "--hours", "25:00-26:00"], "HH:MM"),
    (["--multiplier", "2", "--weekdays", "8"], "weekdays"),
    (["--multiplier", "2", "--tiers", "platinum"], "No tier"),
])
def test_a_bad_campaign_is_refused_with_its_reason(runner, at_now, args, message):
    result = runner.invoke(args=["campaigns", "create", "--name", "X", "--starts", "2026-03-14",
                                 "--ends", "2026-03-31", *args])
    assert result.exit_code == 2 and message in result.output


def test_ending_an_unknown_campaign_says_so(runner, at_now):
    result = runner.invoke(args=["campaigns", "end", "999"])
    assert result.exit_code == 2 and "No campaign 999" in result.output


def test_dates_are_the_programs_local_time(runner, at_now, app):
    runner.invoke(args=["campaigns", "create", "--name", "Evening", "--starts",
                        "2026-07-01T18:00", "--ends", "2026-07-01", "--bonus-points", "5"])
    with app.app_context():
        from pos_loyalty.models import Campaign
        campaign = db.session.query(Campaign).one()
        assert campaign.starts_at == dt.datetime(2026, 7, 1, 16, 0)   # CEST is UTC+2
        assert programs.default_program().timezone == "Europe/Paris"


def test_a_rule_is_set_for_the_program_checked_and_reset(runner, at_now, app):
    runner.invoke(args=["init"])
    assert lines(runner.invoke(args=["programs", "set-rule", "demo", "birthday_bonus_points",
                                     "50"])) == ["program 'demo': birthday_bonus_points = 50"]
    runner.invoke(args=["programs", "set-rule", "demo", "campaign_combination", "additive"])
    with app.app_context():
        rules = programs.rules_for(programs.default_program())
        assert (rules.birthday_bonus_points, rules.campaign_combination) == (50, "additive")
    refused = runner.invoke(args=["programs", "set-rule", "demo", "campaign_combination",
                                  "all"])
    assert refused.exit_code == 2 and "best" in refused.output
    unknown = runner.invoke(args=["programs", "set-rule", "demo", "tiers", "[]"])
    assert unknown.exit_code == 2 and "tiers set" in unknown.output
    runner.invoke(args=["programs", "set-rule", "demo", "birthday_bonus_points", "--reset"])
    with app.app_context():
        assert programs.rules_for(programs.default_program()).birthday_bonus_points == 0
