"""bench/seed_scale's year, small: what it writes must be a ledger the product would have
written (verify finds nothing, lots agree with their draws) on both engines."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from sqlalchemy import func, select, text

from pos_loyalty import verification
from pos_loyalty.cards import normalize_card_number
from pos_loyalty.db import db
from pos_loyalty.models import (
    Account, Card, LedgerEntry, Sale, Staff, Store, Terminal, TerminalDay,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from scale_seed import seed_year  # noqa: E402

NOW = dt.datetime(2026, 3, 1, 0, 0)
DAYS = 240


def seed(app) -> object:  # type: ignore[no-untyped-def]
    return seed_year(app.config["SQLALCHEMY_DATABASE_URI"], members=300, stores=3, days=DAYS,
                     seed=7, now=NOW, workers=1, say=lambda _: None)


def test_seeded_year_passes_verify_with_the_counts_asked(app) -> None:  # type: ignore[no-untyped-def]
    report = seed(app)

    assert verification.verify_accounts() == []
    assert verification.verify_campaign_budgets() == []
    assert db.session.scalar(select(func.count()).select_from(Account)) == 300
    assert db.session.scalar(select(func.count()).select_from(Store)) == 3
    terminals = db.session.scalar(select(func.count()).select_from(Terminal))
    assert 3 * 2 <= terminals <= 3 * 6
    # Every till reported every local day of the period: 240 days before 1 March 2026.
    assert db.session.scalar(select(func.count()).select_from(TerminalDay)) == terminals * 240
    assert db.session.scalar(select(func.count()).where(Staff.role == "cashier")) >= 3 * 4
    assert report.rows["account"] == 300
    first, last = db.session.execute(select(func.min(Sale.created_at),
                                            func.max(Sale.created_at))).one()
    assert NOW - dt.timedelta(days=DAYS) <= first and last < NOW


def test_every_card_number_is_valid_and_distinct(app) -> None:  # type: ignore[no-untyped-def]
    seed(app)

    numbers = db.session.scalars(select(Card.number)).all()
    assert len(numbers) >= 300
    assert len(set(numbers)) == len(numbers)
    assert all(normalize_card_number(number) == number and number.startswith("29")
               for number in numbers)
    cardless = db.session.scalar(select(func.count()).select_from(Account).where(
        ~Account.id.in_(select(Card.account_id))))
    assert cardless == 0


def test_year_holds_every_kind_of_entry(app) -> None:  # type: ignore[no-untyped-def]
    seed(app)

    kinds = set(db.session.scalars(select(LedgerEntry.kind).distinct()))
    assert {"earn", "redeem", "campaign", "signup", "import", "expire", "return_reverse",
            "return_restore"} <= kinds
    channels = set(db.session.scalars(select(Account.enrolled_via).distinct()))
    assert channels == {"import", "till", "app"}


def test_lots_agree_with_their_draws(app) -> None:  # type: ignore[no-untyped-def]
    """A lot keeps what no draw took: points - drawn + given back = remaining."""
    seed(app)

    wrong = db.session.execute(text(
        "SELECT l.id FROM point_lot l LEFT JOIN (SELECT lot_id, sum(points) AS drawn, "
        "sum(restored) AS restored FROM lot_draw GROUP BY lot_id) d ON d.lot_id = l.id "
        "WHERE l.points - coalesce(d.drawn, 0) + coalesce(d.restored, 0) <> l.remaining"
    )).all()
    assert wrong == []
