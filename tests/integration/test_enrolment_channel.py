"""Every way in records where the customer joined (account.enrolled_via) and, at a till, which
store (enrolled_store_id): the analytics count enrolments by channel and store."""
from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from sqlalchemy import select

from pos_loyalty import accounts, demo, programs
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, Store
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import member_import

from mobile_app import mobile  # noqa: F401
from test_cashier_ui import Cashier, add_staff


def enrolled(phone: str) -> tuple[str | None, int | None]:
    db.session.expire_all()
    account = db.session.scalar(select(Account).where(Account.phone_e164 == phone))
    return account.enrolled_via, account.enrolled_store_id


def test_a_cashier_enrols_at_the_till_of_their_store(till):
    add_staff(till, "camille", "cashier")
    cashier = Cashier(till, "camille")
    cashier.log_in()
    page = cashier.post("/cashier/enrol", {"phone": "0612345699", "first_name": "Inès",
                                           "pin": "2468", "pin_confirm": "2468"})
    assert page.status_code == 302
    assert enrolled("+33612345699") == ("till", till.store_id)


def test_a_customer_registering_in_the_app_enrols_through_the_app(mobile):  # noqa: F811
    customer = mobile.register("+33612345698")
    assert enrolled(customer.phone) == ("app", None)


def test_joining_the_app_later_keeps_the_till_as_the_channel(till, mobile):  # noqa: F811
    run_in_transaction(lambda: accounts.create_customer(
        till.program(), "+33612345697", "1234", utcnow(), app_hasher(), channel="till",
        store_id=till.store_id))
    mobile.register("+33612345697")
    assert enrolled("+33612345697") == ("till", till.store_id)


def test_imported_members_enrol_through_the_import(app):
    program = run_in_transaction(programs.default_program)
    source = io.BytesIO(b"phone,first_name\n0612345601,L\xc3\xa9a\n0612345602,Hugo\n")
    report = member_import.import_members(program, source, "members.csv",
                                          dt.datetime(2026, 3, 9, 10, 0), "staff:admin")
    assert report.imported == 2
    assert enrolled("+33612345601") == ("import", None)
    assert enrolled("+33612345602") == ("import", None)


def test_customers_created_on_the_command_line_enrol_through_the_cli(runner):
    result = runner.invoke(args=["customers", "create", "--phone", "+33612345603",
                                 "--pin", "2468"])
    assert result.exit_code == 0, result.output
    assert enrolled("+33612345603") == ("cli", None)


def test_the_demo_enrols_ten_at_the_till_seven_in_the_app_and_three_by_import(app):
    run_in_transaction(demo.load_demo_data)
    rows = db.session.execute(select(Account.enrolled_via, Account.enrolled_store_id)).all()
    assert Counter(via for via, _ in rows) == {"till": 10, "app": 7, "import": 3}
    [store_id] = db.session.scalars(select(Store.id)).all()
    assert {store for via, store in rows if via == "till"} == {store_id}
    assert {store for via, store in rows if via != "till"} == {None}


def test_an_unknown_channel_is_a_programming_error_and_writes_nothing(app):
    program = run_in_transaction(programs.default_program)
    with pytest.raises(ValueError, match="unknown enrolment channel 'shop'"):
        run_in_transaction(lambda: accounts.create_customer(
            db.session.merge(program), "+33612345604", "1234", utcnow(), app_hasher(),
            channel="shop"))
    assert db.session.scalar(select(Account.id)) is None
