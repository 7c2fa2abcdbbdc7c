"""`pos-loyalty worker` and `pos-loyalty sms stats`."""
from __future__ import annotations

import datetime as dt
import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from pos_loyalty.clock import now
from pos_loyalty.notify.broadcasts_cli import notify_group
from pos_loyalty.notify.channel_senders import check_credentials
from pos_loyalty.notify.outbox import sms_stats
from pos_loyalty.notify.senders import ConsoleSender, SenderNotConfigured, make_sender
from pos_loyalty.notify.texts import sms_config
from pos_loyalty.notify.worker import run_worker


@click.command("worker", help="Send queued SMS through Twilio ([sms] settings); refuses to "
                              "start without them unless --console (development only).")
@click.option("--once", is_flag=True, help="One round over what is due, then exit.")
@click.option("--console", is_flag=True,
              help="Print SMS and mark them sent instead of sending them (not in production).")
@click.option("--poll", "poll_seconds", type=float, default=None,
              help="Seconds between polls of an empty outbox (default: [sms] setting).")
@with_appcontext
def worker_command(once: bool, console: bool, poll_seconds: float | None) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    production = app.config["LOYALTY"]["service"]["env"] == "production"
    try:
        sender = make_sender(sms_config(), console=console, production=production)
    except SenderNotConfigured as error:
        click.echo(f"error: the SMS worker cannot start: {error}", err=True)
        sys.exit(2)
    problems = [] if console else check_credentials()
    if problems:
        click.echo("error: the worker cannot start: the push or wallet settings cannot be "
                   "used:\n  " + "\n  ".join(problems), err=True)
        sys.exit(2)
    kind = "console" if isinstance(sender, ConsoleSender) else "Twilio"
    click.echo(f"SMS worker started ({kind} sender)", err=True)
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set())
                for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        report = run_worker(app, sender, stop, once=once, poll_seconds=poll_seconds)
    finally:
        sender.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo(f"sent {report.sent}, retried {report.retried}, dead {report.dead}, "
               f"deferred {report.deferred}, cancelled {report.cancelled}", err=True)


@click.group("sms", help="SMS notifications.")
def sms_group() -> None:
    pass


@sms_group.command("stats", help="SMS per status: queued, sent, delivered, failed, dead.")
@click.option("--hours", type=int, default=None, help="Only SMS written in the last N hours.")
@click.option("--store", "store_id", type=int, default=None,
              help="Only SMS about this store's sales, returns and adjustments.")
@with_appcontext
def stats_command(hours: int | None, store_id: int | None) -> None:
    since = now() - dt.timedelta(hours=hours) if hours else None
    counts = sms_stats(since=since, store_id=store_id)
    for status, count in counts.items():
        click.echo(f"{status:<14}{count:>8}")


COMMANDS = (worker_command, sms_group, notify_group)
