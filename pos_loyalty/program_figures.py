"""The program's own figures (PRODUCT rule 10, the first of them): members, points
outstanding and what they are worth, and the points issued, redeemed and expired in a period.

Everything is read from the accounts' cached balances and from the ledger, so the figures
agree with `pos-loyalty verify` and with every customer's history.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, select

from pos_loyalty.db import db
from pos_loyalty.exports import Period, signed_value_minor, within
from pos_loyalty.ledger import EARNING_KINDS
from pos_loyalty.models import Account, LedgerEntry, Program
from pos_loyalty.programs import rules_for
from pos_loyalty.rules import points_value_minor

# How the ledger's kinds add up to the period's figures (a negative entry of a "spent" kind
# counts as spent: the sign is turned).
REDEEMED_KINDS = ("redeem", "hold", "hold_release", "return_restore", "void_restore")
TAKEN_BACK_KINDS = ("return_reverse", "void_reverse")


@dataclass(frozen=True)
class ProgramFigures:
    members: int
    new_members: int
    points_outstanding: int        # available points of accounts above zero
    points_pending: int
    liability_minor: int           # what the outstanding points pay at the redemption rate
    issued: int                    # earned, campaigns and bonuses (before returns)
    taken_back: int                # earned points returns and voids took back
    redeemed: int                  # spent, net of what returns and voids gave back
    expired: int
    adjusted: int                  # managers' corrections, net
    imported: int                  # opening balances brought from another system
    by_kind: dict[str, int]
    # What each figure above is worth at the redemption rate, in minor units, by its name.
    values_minor: dict[str, int]

    @property
    def redemption_rate(self) -> Decimal | None:
        """Redeemed / issued, in percent (one decimal), or None when nothing was issued."""
        if self.issued <= 0:
            return None
        return (Decimal(self.redeemed) * 100 / self.issued).quantize(Decimal("0.1"))


def figures(program: Program, period: Period) -> ProgramFigures:
    open_accounts = (Account.program_id == program.id, Account.status != "closed")
    members, new_members, outstanding, pending = db.session.execute(select(
        func.count(),
        func.count(case((and_(*within(program, period, Account.created_at)), 1))),
        func.coalesce(func.sum(case((Account.available_points > 0,
                                     Account.available_points), else_=0)), 0),
        func.coalesce(func.sum(Account.pending_points), 0)).where(*open_accounts)).one()
    by_kind = {kind: int(points) for kind, points in db.session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.points + LedgerEntry.pending_delta))
        .where(LedgerEntry.program_id == program.id,
               *within(program, period, LedgerEntry.created_at))
        .group_by(LedgerEntry.kind).order_by(LedgerEntry.kind))}

    def total(kinds: tuple[str, ...]) -> int:
        return sum(by_kind.get(kind, 0) for kind in kinds)
    points = {"points_outstanding": int(outstanding), "points_pending": int(pending),
              "issued": total(EARNING_KINDS), "taken_back": -total(TAKEN_BACK_KINDS),
              "redeemed": -total(REDEEMED_KINDS), "expired": -total(("expire",)),
              "adjusted": total(("adjust",)), "imported": total(("import",))}
    rules = rules_for(program)
    return ProgramFigures(
        members=members, new_members=new_members, **points,
        liability_minor=points_value_minor(int(outstanding), rules), by_kind=by_kind,
        values_minor={name: signed_value_minor(count, rules) for name, count in points.items()})
