"""`pos-loyalty tiers ...` and `pos-loyalty campaigns ...`: the ladder and the campaigns.

Each command that creates something prints its identifier on its last line.
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from pos_loyalty import programs
from pos_loyalty.clock import now
from pos_loyalty.cli import exit_on_error, run_or_exit
from pos_loyalty.notify.texts import language_of
from pos_loyalty.usecases import offers


def _read_toml(path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        click.echo(f"error: cannot read {path}: {error}", err=True)
        sys.exit(2)


@click.group(help="VIP tiers: the program's ladder.")
def tiers() -> None:
    pass


@tiers.command("set", help="Set the ladder from a TOML file (tiers = [...] and the tier "
                           "settings; README \"Tiers\"), then place every account on it.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--actor", default="cli")
@with_appcontext
def tiers_set(file: str, actor: str) -> None:
    given = _read_toml(file)
    program = run_or_exit(programs.default_program)
    result = exit_on_error(lambda: offers.set_tiers(program, given, now(), actor))
    click.echo(f"ladder: {', '.join(result.tiers) or '(none)'}; "
               f"{result.placed} accounts moved")


@tiers.command("show", help="The ladder, lowest first.")
@with_appcontext
def tiers_show() -> None:
    program = run_or_exit(programs.default_program)
    view = offers.ladder(program, language_of(program, None))
    period = (f"rolling {view['period_months']} months" if view["period_months"]
              else "calendar year")
    click.echo(f"measure: {view['measure']}; period: {period}")
    for rung in view["tiers"]:
        click.echo(f"{rung['key']}\t{rung['name']}\tfrom {rung['threshold']}\t"
                   f"x{rung['multiplier']}")


@click.group(help="Bonus campaigns (double points, fixed bonuses).")
def campaigns() -> None:
    pass


@campaigns.command("create", help="Create a campaign; dates and hours in the program's time "
                                  "zone. Prints its id last.")
@click.option("--file", "spec_file", type=click.Path(dir_okay=False),
              help="Read the terms from a TOML file (the options below override it).")
@click.option("--name")
@click.option("--label-fr", help="What the till, receipt, SMS and phone call it in French.")
@click.option("--label-en", help="... in English.")
@click.option("--starts", help="2026-12-05 or 2026-12-05T18:00")
@click.option("--ends", help="2026-12-31 (a date alone includes that day) or "
                             "2026-12-31T20:00")
@click.option("--weekdays", help="1 (Monday) to 7, or names: sat,sun")
@click.option("--hours", help="18:00-20:00 (22:00-02:00 runs over midnight)")
@click.option("--stores", help="store ids, comma separated")
@click.option("--categories", help="product categories, comma separated")
@click.option("--skus", help="SKUs, comma separated")
@click.option("--tiers", "tier_keys", help="tier keys, comma separated")
@click.option("--min-basket-minor", type=int, help="minimum basket in minor units (1000 = 10.00)")
@click.option("--first-purchase-only", is_flag=True, default=None)
@click.option("--multiplier", help="\"2\" = double points on the base")
@click.option("--bonus-points", type=int, help="fixed points per qualifying receipt")
@click.option("--per-customer-limit", type=int, help="times one customer may get it")
@click.option("--budget-points", type=int, help="points it may give in all")
@click.option("--actor", default="cli")
@with_appcontext
def campaigns_create(spec_file: str | None, actor: str, **given: Any) -> None:
    spec = _read_toml(spec_file) if spec_file else {}
    labels = dict(spec.get("labels") or {})
    for language in ("fr", "en"):
        value = given.pop(f"label_{language}")
        if value is not None:
            labels[language] = value
    renamed = {"stores": "store_ids", "tier_keys": "tiers"}
    spec.update({renamed.get(k, k): v for k, v in given.items() if v is not None})
    if labels:
        spec["labels"] = labels
    program = run_or_exit(programs.default_program)
    view = exit_on_error(lambda: offers.create_campaign(program, spec, now(), actor))
    click.echo(f"campaign {view['id']} \"{view['name']}\": {view['status']} "
               f"{view['starts_at']} to {view['ends_at']}")
    click.echo(view["id"])


@campaigns.command("list", help="Campaigns running or to come (--all: ended ones too).")
@click.option("--all", "include_past", is_flag=True)
@with_appcontext
def campaigns_list(include_past: bool) -> None:
    program = run_or_exit(programs.default_program)
    for view in offers.list_campaigns(program, now(), language_of(program, None),
                                      include_past=include_past):
        effect = (f"x{view['multiplier']}" if view["effect"] == "multiplier"
                  else f"+{view['bonus_points']}")
        budget = (f"{view['points_given']}/{view['budget_points']}" if view["budget_points"]
                  else f"{view['points_given']}")
        click.echo(f"{view['id']}\t{view['status']}\t{effect}\t{view['starts_at']} to "
                   f"{view['ends_at']}\tgiven {budget}\t{view['name']}")


@campaigns.command("end", help="End a campaign now.")
@click.argument("campaign_id", type=int)
@click.option("--actor", default="cli")
@with_appcontext
def campaigns_end(campaign_id: int, actor: str) -> None:
    program = run_or_exit(programs.default_program)
    view = exit_on_error(lambda: offers.end_campaign(program, campaign_id, now(), actor))
    click.echo(f"campaign {view['id']} ended; it gave {view['points_given']} points")
