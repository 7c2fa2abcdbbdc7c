"""The birthday bonus, both engines: the daily job pays it on the customer's local birthday
(29 February on the 28th in other years), once a year, with an SMS; it catches up the days it
missed, pays nothing twice, and a birthday set or changed lately does not pay.

Every run is given its moment (`now`), so the tests pass at any hour of the real clock.
"""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from bonus_customers import account_of, entries, grants, messages, set_birthday
from mobile_app import caller, register
from pos_loyalty import verification
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account
from pos_loyalty.usecases import customers, jobs, phone_app

LONG_AGO = dt.datetime(2025, 1, 1, 12, 0)
# 08:00 UTC: 09:00 or 10:00 in Paris, a time of day far from midnight on either side.
MORNING = dt.time(8, 0)


def at(day: str, clock: dt.time = MORNING) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), clock)


def run(moment: dt.datetime) -> int:
    return jobs.run_bonuses(moment).birthdays_paid


@pytest.fixture(autouse=True)
def birthday_rules(till):
    till.set_rules(birthday_bonus_points=50, birthday_min_days_known=30)


@pytest.fixture
def born_20_may(shop) -> int:
    """A customer born on 20 May 1990, who told the app long ago; their account id."""
    card = shop.customer()
    account_id = account_of(shop, card).id
    set_birthday(account_id, dt.date(1990, 5, 20), LONG_AGO)
    return account_id


def test_the_bonus_is_paid_on_the_birthday_with_an_sms(shop, born_20_may):
    assert run(at("2026-05-20")) == 1
    [entry] = entries(born_20_may, "birthday")
    assert (entry.points, entry.pending_delta, entry.reason) == (50, 0, "birthday bonus 2026")
    [sms] = messages("birthday")
    assert (sms.account_id, sms.payload, sms.status) == (
        born_20_may, {"points": 50, "balance": 50}, "queued")
    assert verification.verify_accounts() == []


def test_the_job_run_twice_pays_once(shop, born_20_may):
    assert [run(at("2026-05-20")), run(at("2026-05-20", dt.time(9, 0))),
            run(at("2026-05-21"))] == [1, 0, 0]
    assert len(entries(born_20_may, "birthday")) == 1
    assert len(messages("birthday")) == 1


def test_a_missed_day_is_caught_up_within_a_week(shop, born_20_may):
    assert run(at("2026-05-19")) == 0
    assert run(at("2026-05-26")) == 1          # six days late: still paid
    assert run(at("2026-05-27")) == 0


def test_a_birthday_more_than_a_week_ago_is_not_paid(shop, born_20_may):
    assert run(at("2026-05-27")) == 0
    assert entries(born_20_may, "birthday") == []


def test_the_birthday_is_the_customer_s_local_day(shop, born_20_may):
    assert run(dt.datetime(2026, 5, 19, 21, 30)) == 0    # 23:30 on the 19th in Paris
    assert run(dt.datetime(2026, 5, 19, 22, 30)) == 1    # 00:30 on the 20th in Paris


def test_the_bonus_comes_again_next_year(shop, born_20_may):
    assert [run(at("2026-05-20")), run(at("2027-05-20"))] == [1, 1]
    assert [g.period for g in grants("birthday")] == ["2026", "2027"]


def test_a_birthday_on_new_year_s_eve_is_caught_up_in_january(shop):
    account_id = account_of(shop, shop.customer()).id
    set_birthday(account_id, dt.date(1985, 12, 31), LONG_AGO)
    assert run(at("2027-01-03")) == 1
    assert [g.period for g in grants("birthday")] == ["2026"]
    assert run(at("2027-12-31")) == 1


def test_29_february_is_paid_on_the_28th_outside_leap_years(shop):
    account_id = account_of(shop, shop.customer()).id
    set_birthday(account_id, dt.date(2000, 2, 29), LONG_AGO)
    assert [run(at("2027-02-27")), run(at("2027-02-28")), run(at("2027-03-01"))] == [0, 1, 0]
    assert [run(at("2028-02-28")), run(at("2028-02-29")), run(at("2028-03-01"))] == [0, 1, 0]
    assert [g.period for g in grants("birthday")] == ["2027", "2028"]


def test_a_birthday_set_lately_does_not_pay(shop, born_20_may):
    set_birthday(born_20_may, dt.date(1990, 5, 20), at("2026-04-21"))   # 29 days before
    assert run(at("2026-05-20")) == 0


def test_a_birthday_known_for_the_minimum_days_pays(shop, born_20_may):
    set_birthday(born_20_may, dt.date(1990, 5, 20), at("2026-04-20"))   # 30 days before
    assert run(at("2026-05-20")) == 1


def test_a_birthday_changed_to_today_does_not_pay(shop):
    customer = register(shop)
    me = caller(shop, customer)
    phone_app.update_profile(shop.program, me, {"birthday": "1990-03-01"}, LONG_AGO)
    shop.now = at("2026-05-20")
    phone_app.update_profile(shop.program, me, {"birthday": "1990-05-20"}, shop.now)
    assert run(shop.now) == 0
    assert run(at("2026-05-25")) == 0        # a catch-up judges it on its day too


def test_sending_the_same_birthday_again_does_not_date_it_anew(shop):
    customer = register(shop)
    me = caller(shop, customer)
    phone_app.update_profile(shop.program, me, {"birthday": "1990-05-20"}, LONG_AGO)
    phone_app.update_profile(shop.program, me, {"birthday": "1990-05-20",
                                                "first_name": "Léa"}, at("2026-05-19"))
    assert run(at("2026-05-20")) == 1


def test_a_birthday_set_before_the_bonus_existed_pays(shop, born_20_may):
    set_birthday(born_20_may, dt.date(1990, 5, 20), None)
    assert run(at("2026-05-20")) == 1


def test_blocked_and_erased_customers_are_not_paid(shop):
    blocked, erased = shop.customer(), register(shop)
    set_birthday(account_of(shop, blocked).id, dt.date(1990, 5, 20), LONG_AGO)
    customers.set_account_status(shop.program, blocked, "blocked", "tests", "fraud", shop.now)
    me = caller(shop, erased)
    phone_app.update_profile(shop.program, me, {"birthday": "1990-05-20"}, LONG_AGO)
    phone_app.erase(shop.program, me, shop.now)
    assert run(at("2026-05-20")) == 0


def test_a_customer_who_said_no_sms_is_paid_without_one(shop, born_20_may):
    run_in_transaction(lambda: setattr(db.session.get(Account, born_20_may), "sms_opt_out",
                                       True))
    assert run(at("2026-05-20")) == 1
    assert len(entries(born_20_may, "birthday")) == 1
    assert messages("birthday") == []


def test_erasing_and_enrolling_again_the_same_year_pays_no_second_birthday(shop):
    first = register(shop)
    phone_app.update_profile(shop.program, caller(shop, first), {"birthday": "1990-05-20"},
                             LONG_AGO)
    assert run(at("2026-05-20")) == 1
    phone_app.erase(shop.program, caller(shop, first), at("2026-05-20"))
    shop.now = at("2026-05-21")
    again = register(shop, phone=first.phone)
    account = caller(shop, again).account
    set_birthday(account.id, dt.date(1990, 5, 20), LONG_AGO)
    assert run(at("2026-05-21")) == 0
    assert run(at("2027-05-20")) == 1


def test_no_bonus_is_paid_when_the_program_gives_none(till, shop, born_20_may):
    till.set_rules(birthday_bonus_points=0)
    assert run(at("2026-05-20")) == 0
    assert grants("birthday") == []


def test_the_command_pays_as_of_the_moment_given(runner, shop, born_20_may):
    result = runner.invoke(args=["bonuses", "run", "--now", "2026-05-20T10:00:00+02:00"])
    assert result.exit_code == 0, result.output
    assert result.output == ("paid 1 birthday bonuses; tiers judged: 0 kept, 0 lowered, "
                             "0 raised\n")
    again = runner.invoke(args=["bonuses", "run", "--now", "2026-05-20T09:00:00"])
    assert again.output.startswith("paid 0 birthday bonuses;")
    wrong = runner.invoke(args=["bonuses", "run", "--now", "yesterday"])
    assert wrong.exit_code == 2 and "ISO 8601" in wrong.output


def test_two_runs_at_once_pay_once(app, shop, born_20_may):
    db.session.remove()   # the test's own session must not hold SQLite's write lock
    barrier = threading.Barrier(2)
    paid: list[int] = []

    def job() -> None:
        with app.app_context():
            barrier.wait()
            paid.append(run(at("2026-05-20")))
            db.session.remove()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(paid) == [0, 1]
    assert len(entries(born_20_may, "birthday")) == 1
