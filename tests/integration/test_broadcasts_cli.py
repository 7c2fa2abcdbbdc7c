"""`pos-loyalty notify send|resume|cancel`, both engines: the operator's way to message a
segment, count it first (--dry-run), and finish a write that stopped half-way."""
from __future__ import annotations

import pytest

from broadcast_setup import NOW, member, promotion_rows, reached
from pos_loyalty.db import run_in_transaction
from pos_loyalty.notify import broadcasts


@pytest.fixture
def frozen(app):
    app.extensions["pos_loyalty.clock"] = lambda: NOW


def send_args(*extra: str) -> list[str]:
    return ["notify", "send", "--program", "demo", "--segment", "all", "--title", "Samedi",
            "--text-fr", "Croissants offerts samedi !", "--text-en", "Free croissants!",
            *extra]


def test_a_dry_run_counts_and_writes_nothing(app, till, runner, frozen):
    member(till, push_devices=1), member(till), member(till, notify_channel="none")
    result = runner.invoke(args=send_args("--dry-run"))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("segment all: 3 accounts, 1 by push, 1 by SMS, 1 reached "
                                     "by neither (dry run: nothing written)")
    assert reached() == []


def test_send_writes_the_rows_and_prints_the_broadcast_last(app, till, runner, frozen):
    phone, texted = member(till, push_devices=1), member(till, locale="en_US")
    result = runner.invoke(args=send_args())
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    broadcast_id = int(lines[-1])
    assert lines[0] == (f"broadcast {broadcast_id} written: 2 accounts, 1 push, 1 SMS, "
                        "0 reached by neither")
    assert [(row.account_id, row.channel, row.body, row.created_at)
            for row in promotion_rows(broadcast_id)] == [
        (phone, "push", "Croissants offerts samedi !", NOW),
        (texted, "sms", "Free croissants!", NOW)]


def test_push_only_from_the_command_line(app, till, runner, frozen):
    phone = member(till, push_devices=1)
    member(till)
    result = runner.invoke(args=send_args("--push-only"))
    assert result.exit_code == 0, result.output
    assert reached() == [(phone, "push")]


@pytest.mark.parametrize("args, message", [
    (["--segment", "tier:gold"], "error: The program has no tier 'gold'."),
    (["--title", ""], "error: A broadcast needs a title."),
    (["--segment", "inactive:0"], "error: inactive:<days> takes 1 to 3650 days."),
])
def test_a_refused_message_exits_2_saying_why(app, till, runner, frozen, args, message):
    member(till)
    result = runner.invoke(args=[*send_args(), *args])
    assert (result.exit_code, result.output.strip()) == (2, message)
    assert reached() == []


def test_an_unknown_program_exits_2(app, till, runner, frozen):
    result = runner.invoke(args=["notify", "send", "--program", "nope", "--segment", "all",
                                 "--title", "T", "--text-fr", "Bonjour"])
    assert (result.exit_code, result.output.strip()) == (2, "error: no program 'nope'")


def test_resume_finishes_a_write_stopped_half_way(app, till, runner, frozen):
    members = [member(till) for _ in range(3)]
    broadcast = run_in_transaction(lambda: broadcasts.start_broadcast(
        till.program(), title="Samedi", texts={"fr": "Bonjour"}, segment="all",
        push_only=False, actor="cli", now=NOW))
    broadcasts.write_chunk(till.program(), broadcast.id, NOW, chunk=1)
    result = runner.invoke(args=["notify", "resume", "--program", "demo", str(broadcast.id)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        f"broadcast {broadcast.id} written: 3 accounts, 0 push, 3 SMS, 0 reached by neither",
        str(broadcast.id)]
    assert reached() == [(account, "sms") for account in members]


def test_cancel_drops_what_waits(app, till, runner, frozen):
    member(till), member(till)
    broadcast_id = runner.invoke(args=send_args()).output.strip().splitlines()[-1]
    result = runner.invoke(args=["notify", "cancel", "--program", "demo", broadcast_id])
    assert result.output.strip() == (f"broadcast {broadcast_id} cancelled; 2 messages not "
                                     "sent yet are cancelled")
    assert {row.status for row in promotion_rows()} == {"cancelled"}


def test_resuming_a_broadcast_of_another_program_is_not_found(app, till, runner, frozen):
    other, _terminal, _key = till.other_brand()
    theirs = run_in_transaction(lambda: broadcasts.start_broadcast(
        other, title="Autre", texts={"fr": "Bonjour"}, segment="all", push_only=False,
        actor="cli", now=NOW))
    result = runner.invoke(args=["notify", "resume", "--program", "demo", str(theirs.id)])
    assert (result.exit_code, result.output.strip()) == (
        2, f"error: No broadcast {theirs.id} in this program.")
