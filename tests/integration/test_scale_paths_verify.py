"""`pos-loyalty verify` reads accounts a chunk at a time: the same mismatches as one pass,
whichever chunk an account falls in, and the same lines when its output goes to a pipe."""
from sqlalchemy import select, update

from pos_loyalty import verification
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, PointLot
from pos_loyalty.verification import Mismatch


def five_accounts_with_a_fault_in_three_chunks(shop) -> list[int]:
    """Five accounts of 100 points; with chunks of two, the 2nd, 3rd and 5th are wrong in each
    of the three chunks: a cached balance 7 too high, a lot 5 short, pending points from
    nowhere."""
    for _ in range(5):
        shop.customer(100)
    ids = list(db.session.scalars(select(Account.id).order_by(Account.id)))

    def corrupt() -> None:
        db.session.execute(update(Account).where(Account.id == ids[1])
                           .values(available_points=107))
        db.session.execute(update(PointLot).where(PointLot.account_id == ids[2])
                           .values(remaining=95))
        db.session.execute(update(Account).where(Account.id == ids[4]).values(pending_points=3))
    run_in_transaction(corrupt)
    return ids


def expected(ids: list[int]) -> list[Mismatch]:
    return [Mismatch(ids[1], "available vs entries", 107, 100),
            Mismatch(ids[1], "available vs lots", 107, 100),
            Mismatch(ids[2], "available vs lots", 100, 95),
            Mismatch(ids[4], "pending vs entries", 3, 0),
            Mismatch(ids[4], "pending vs lots", 3, 0)]


def test_verify_in_chunks_finds_the_mismatches_of_every_chunk(shop):
    ids = five_accounts_with_a_fault_in_three_chunks(shop)
    chunks: list[int] = []
    assert verification.verify_accounts(accounts_per_chunk=2,
                                        progress=chunks.append) == expected(ids)
    assert chunks == [2, 2, 1]
    assert verification.verify_accounts() == expected(ids)
    assert verification.count_accounts() == 5


def test_verify_of_one_program_skips_the_accounts_of_another(shop):
    ids = five_accounts_with_a_fault_in_three_chunks(shop)
    other, _, _ = shop.till.other_brand()
    assert verification.verify_accounts(other.id, accounts_per_chunk=2) == []
    assert verification.verify_accounts(shop.till.program_id,
                                        accounts_per_chunk=1) == expected(ids)


def test_verify_piped_prints_the_mismatches_and_nothing_else(shop, runner):
    ids = five_accounts_with_a_fault_in_three_chunks(shop)
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert result.output == (
        f"account {ids[1]}: available vs entries: cached 107, computed 100\n"
        f"account {ids[1]}: available vs lots: cached 107, computed 100\n"
        f"account {ids[2]}: available vs lots: cached 100, computed 95\n"
        f"account {ids[4]}: pending vs entries: cached 3, computed 0\n"
        f"account {ids[4]}: pending vs lots: cached 3, computed 0\n"
        "FAILED: 5 mismatches\n")


def test_verify_piped_on_a_sound_ledger_prints_one_line(shop, runner):
    for _ in range(3):
        shop.customer(40)
    result = runner.invoke(args=["verify"])
    assert (result.exit_code, result.output) == (0, "ok: 3 accounts match their ledger\n")
