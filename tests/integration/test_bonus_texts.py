"""The SMS of the program's mechanics, in French and in English: sign-up, birthday and referral
bonuses, a tier reached or lost, and the campaigns a sale's points came from. Each is saved as
its event and numbers; the worker writes the text when it sends it, in the customer's language
then."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from pos_loyalty import accounts, notify
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, Campaign, OutboxMessage
from pos_loyalty.notify.segments import count_segments
from pos_loyalty.notify.worker import process_round
from test_notify_outbox import AcceptingSender

NOW = dt.datetime(2026, 3, 9, 10, 0)
TIERS = [{"key": "silver", "threshold": 500, "multiplier": "1.25",
          "names": {"fr": "Argent", "en": "Silver"}},
         {"key": "gold", "threshold": 1500, "multiplier": "1.5",
          "names": {"fr": "Or", "en": "Gold"}}]


@pytest.fixture(autouse=True)
def no_quiet_hours(app, till):
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="", quiet_hours_end="")
    app.extensions["pos_loyalty.clock"] = lambda: NOW
    till.set_rules(tiers=TIERS)


@pytest.fixture
def customer(till) -> int:
    """A customer of the program (French, as the program); their account id."""
    card = till.customer(at=NOW)
    return accounts.find_card(till.program(), card).account_id


def speaking(account_id: int, language: str | None) -> None:
    run_in_transaction(lambda: setattr(db.session.get(Account, account_id), "locale", language))


def sent_text(till, account_id: int, kind: str, payload: dict[str, Any],
              language: str | None = None) -> str:
    """What the worker sends for this event, in `language` (None: the program's, French)."""
    speaking(account_id, language)
    run_in_transaction(lambda: notify.queue_message(
        till.program(), account_id, kind, till.last_phone, None, NOW, payload))
    process_round(AcceptingSender())
    db.session.expire_all()
    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert message.status == "sent", message.last_error
    return message.body


@pytest.mark.parametrize(("kind", "payload", "french", "english"), [
    ("signup", {"points": 30, "balance": 30},
     "Bienvenue chez Demo Boulangerie ! +30 points de bienvenue. Solde : 30 points (3,00 €).",
     "Welcome to Demo Boulangerie! +30 welcome points. Balance: 30 points (€3.00)."),
    ("birthday", {"points": 50, "balance": 1050},
     "Joyeux anniversaire ! Demo Boulangerie vous offre 50 points. Solde : 1 050 points "
     "(105,00 €).",
     "Happy birthday! Demo Boulangerie gives you 50 points. Balance: 1,050 points (€105.00)."),
    ("referral", {"points": 100, "balance": 160, "role": "referrer"},
     "Demo Boulangerie : merci ! Votre filleul a fait son premier achat : +100 points. "
     "Solde : 160 points (16,00 €).",
     "Demo Boulangerie: thank you! Your friend made their first purchase: +100 points. "
     "Balance: 160 points (€16.00)."),
    ("referral", {"points": 50, "balance": 70, "role": "newcomer"},
     "Demo Boulangerie : +50 points de parrainage pour votre premier achat. Solde : 70 "
     "points (7,00 €).",
     "Demo Boulangerie: +50 referral points for your first purchase. Balance: 70 points "
     "(€7.00)."),
    ("referral", {"points": 100, "balance": 0, "role": "referrer",
                  "available_on": "2026-03-23"},
     "Demo Boulangerie : merci ! Votre filleul a fait son premier achat : +100 points, "
     "utilisables le 23 mars 2026.",
     "Demo Boulangerie: thank you! Your friend made their first purchase: +100 points, yours "
     "to use on March 23, 2026."),
    ("referral", {"points": 50, "balance": 20, "role": "newcomer",
                  "available_on": "2026-03-23"},
     "Demo Boulangerie : +50 points de parrainage pour votre premier achat, utilisables le "
     "23 mars 2026.",
     "Demo Boulangerie: +50 referral points for your first purchase, yours to use on March "
     "23, 2026."),
    ("tier", {"tier": "gold", "from": "silver", "reason": "reached"},
     "Félicitations ! Vous voilà client Or chez Demo Boulangerie.",
     "Congratulations! You are now a Gold member at Demo Boulangerie."),
    ("tier", {"tier": "gold", "from": "gold", "reason": "kept"},
     "Demo Boulangerie : vous restez client Or. Merci de votre fidélité !",
     "Demo Boulangerie: you remain a Gold member. Thank you for your loyalty!"),
    ("tier", {"tier": "silver", "from": "gold", "reason": "lowered"},
     "Demo Boulangerie : votre statut est maintenant Argent.",
     "Demo Boulangerie: your status is now Silver."),
    ("tier", {"tier": "silver", "from": "gold", "reason": "return"},
     "Demo Boulangerie : votre statut est maintenant Argent.",
     "Demo Boulangerie: your status is now Silver."),
    ("tier", {"tier": None, "from": "silver", "reason": "lowered"},
     "Demo Boulangerie : votre statut Argent a pris fin.",
     "Demo Boulangerie: your Silver status has ended."),
])
def test_each_event_reads_in_french_and_in_english(till, customer, kind, payload, french,
                                                   english):
    assert sent_text(till, customer, kind, payload) == french
    assert sent_text(till, customer, kind, payload, "en_GB") == english.replace(
        "March 23, 2026", "23 March 2026")
    assert sent_text(till, customer, kind, payload, "en") == english


def test_the_french_texts_fit_one_gsm_7_segment(till, customer):
    texts = [sent_text(till, customer, kind, payload) for kind, payload in [
        ("birthday", {"points": 50, "balance": 12345}),
        ("signup", {"points": 500, "balance": 500}),
        ("referral", {"points": 100, "balance": 12345, "role": "referrer"}),
        ("referral", {"points": 100, "balance": 0, "role": "newcomer",
                      "available_on": "2026-12-23"}),
        ("tier", {"tier": "silver", "from": None, "reason": "reached"}),
        ("tier", {"tier": "silver", "from": "silver", "reason": "kept"}),
        ("tier", {"tier": "silver", "from": "gold", "reason": "lowered"}),
        ("tier", {"tier": None, "from": "silver", "reason": "lowered"})]]
    assert {(count_segments(text).encoding, count_segments(text).segments)
            for text in texts} == {("GSM-7", 1)}


def test_a_tier_no_longer_in_the_ladder_is_named_by_its_key(till, customer):
    assert sent_text(till, customer, "tier", {"tier": None, "from": "platinum",
                                              "reason": "lowered"}) == \
        "Demo Boulangerie : votre statut platinum a pris fin."


def test_a_tier_change_that_tells_nothing_is_not_sent(till, customer):
    speaking(customer, None)
    run_in_transaction(lambda: notify.queue_message(
        till.program(), customer, "tier", till.last_phone, None, NOW,
        {"tier": None, "from": None, "reason": "lowered"}))
    process_round(AcceptingSender())
    db.session.expire_all()
    message = db.session.scalars(select(OutboxMessage)).one()
    assert (message.status, message.body) == ("dead", None)


# --- the campaigns of a sale ---------------------------------------------------------------

def campaign(till, name: str, labels: dict[str, str]) -> int:
    def work() -> int:
        row = Campaign(program_id=till.program_id, name=name, labels=labels,
                       starts_at=NOW - dt.timedelta(days=1), ends_at=NOW + dt.timedelta(days=1),
                       weekdays=[], store_ids=[], categories=[], skus=[], tiers=[],
                       effect="multiplier", multiplier="2", created_by="tests", created_at=NOW)
        db.session.add(row)
        db.session.flush()
        return row.id
    return run_in_transaction(work)


def balance_text(till, account_id: int, language: str | None = None, **change: Any) -> str:
    speaking(account_id, language)
    run_in_transaction(lambda: notify.queue_balance_change(
        till.program(), account_id, now=NOW, store_id=till.store_id, **change))
    process_round(AcceptingSender())
    db.session.expire_all()
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "balance")
                                 .order_by(OutboxMessage.id.desc())).first()
    assert message.status == "sent", message.last_error
    return message.body


def test_a_sale_s_sms_names_the_campaigns_that_gave_points(till, customer):
    double = campaign(till, "x2 Lyon", {"fr": "Points doublés", "en": "Double points"})
    offers = [{"campaign_id": double, "points": 23}]
    assert balance_text(till, customer, change=46, balance=46, offers=offers) == (
        "Merci ! +46 points chez Boulangerie Lyon, dont Points doublés : +23. "
        "Solde : 46 points (4,60 €).")
    assert balance_text(till, customer, "en", change=46, balance=92, offers=offers) == (
        "Thank you! +46 points at Boulangerie Lyon, incl. Double points: +23. "
        "Balance: 92 points (€9.20).")


def test_a_sale_that_spends_and_earns_names_its_campaigns_too(till, customer):
    double = campaign(till, "x2 Lyon", {"fr": "Points doublés"})
    gift = campaign(till, "Cadeau", {})
    offers = [{"campaign_id": double, "points": 23}, {"campaign_id": gift, "points": 10}]
    assert balance_text(till, customer, change=-44, balance=456, earned=56, spent=100,
                        offers=offers) == (
        "Merci ! +56 points (dont Points doublés : +23, Cadeau : +10), 100 points utilisés "
        "chez Boulangerie Lyon. Solde : 456 points (45,60 €).")
    # No English label: the campaign's name.
    assert "incl. x2 Lyon: +23, Cadeau: +10" in balance_text(
        till, customer, "en", change=-44, balance=412, earned=56, spent=100, offers=offers)


def test_the_offers_are_saved_as_numbers_with_the_change(till, customer):
    double = campaign(till, "x2", {})
    run_in_transaction(lambda: notify.queue_balance_change(
        till.program(), customer, change=46, balance=46, now=NOW, store_id=till.store_id,
        offers=[{"campaign_id": double, "points": 23}]))
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.payload == {"change": 46, "balance": 46, "store": "Boulangerie Lyon",
                               "offers": [{"campaign_id": double, "points": 23}]}


def test_a_sale_without_offers_reads_as_before(till, customer):
    assert balance_text(till, customer, change=20, balance=20, offers=[]) == (
        "Merci ! +20 points chez Boulangerie Lyon. Solde : 20 points (2,00 €).")


def test_merged_changes_tell_the_sum_without_naming_campaigns(app, till, customer):
    app.config["LOYALTY"]["sms"]["merge_window_seconds"] = 120
    double = campaign(till, "x2", {"fr": "Points doublés"})
    for balance in (46, 92):
        run_in_transaction(lambda balance=balance: notify.queue_balance_change(
            till.program(), customer, change=46, balance=balance, now=NOW,
            store_id=till.store_id, offers=[{"campaign_id": double, "points": 23}]))
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.payload == {"change": 92, "balance": 92, "store": "Boulangerie Lyon"}
