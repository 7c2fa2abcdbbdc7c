"""One member's year, simulated the way the product would have written it.

Each account is played alone, in time order: enrolment (a sign-up bonus, or an opening
balance imported from the old system), sales with and without points spent (quoted by
`pos_loyalty.rules.quote` with the tier and the campaigns open at that moment), returns
(partial and full: `rules.return_split`), and the nightly expiry of lots past their date.
Balances, lots and draws follow `pos_loyalty.ledger` and `pos_loyalty.lots` step by step:
spends and expiries draw released lots oldest expiry first, take-backs the sale's own lot
first, give-backs refill the lots the sale's spend drew from, longest-lived first. Rows are
held until the account's year is over (a later return changes a sale, a lot, a draw), then
handed out as tuples in the column order of COLUMNS, so memory is one account's.

The program's rules this simulation does not play (a pending window, a customer's daily
cap, a program-wide cap, tiers on money or lowered by returns) are refused up front.
"""
from __future__ import annotations

import datetime as dt
import heapq
import hmac
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pos_loyalty.cards import card_range_size, make_card_number
from pos_loyalty.programs import local_to_utc, utc_to_local
from pos_loyalty.rules import (
    BasketLine, Offers, SaleSetting, campaign_open_to, expiry_for, max_redeem, quote,
    return_split, returned_earn_base, returned_line_base, rung_named, rung_reached, is_higher,
    tier_kept_until,
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("id", "program_id", "phone_e164", "first_name", "pin_hash", "status", "locale",
                "available_points", "pending_points", "lifetime_earned", "lifetime_redeemed",
                "negative_flagged", "failed_pin_attempts", "locked_until", "created_at",
                "sms_opt_out", "sms_invalid", "live_code_secret", "tier", "tier_until",
                "referral_code", "referral_pending", "enrolled_via", "enrolled_store_id",
                "notify_channel", "push_devices", "wallet_passes"),
    "card": ("id", "program_id", "number", "symbology", "status", "kind", "account_id",
             "batch_id", "replaced_by_id", "created_at", "linked_at"),
    "sale": ("id", "program_id", "store_id", "terminal_id", "staff_id", "account_id", "card_id",
             "receipt_number", "kind", "status", "total_minor", "points_redeemed",
             "redeemed_minor", "cash_minor", "eligible_earn_minor", "earn_base_minor",
             "points_earned", "returned_minor", "returned_earn_base_minor", "points_reversed",
             "points_restored", "created_at", "voided_at"),
    "sale_line": ("id", "sale_id", "line_no", "sku", "category", "quantity",
                  "unit_price_minor", "amount_minor", "earn_base_minor", "returned_quantity"),
    "sale_return": ("id", "program_id", "sale_id", "terminal_id", "staff_id", "amount_minor",
                    "points_reversed", "points_restored", "refund_cash_minor", "created_at"),
    "ledger_entry": ("id", "program_id", "account_id", "kind", "points", "pending_delta",
                     "available_after", "pending_after", "sale_id", "hold_id", "store_id",
                     "terminal_id", "staff_id", "campaign_id", "actor", "reason", "created_at"),
    "point_lot": ("id", "program_id", "account_id", "entry_id", "sale_id", "points", "remaining",
                  "released", "available_at", "expires_at", "created_at", "expiry_warned_at",
                  "released_at"),
    "lot_draw": ("id", "entry_id", "lot_id", "points", "restored"),
    "tier_change": ("id", "program_id", "account_id", "from_tier", "to_tier", "reason",
                    "measure", "sale_id", "created_at"),
    "bonus_grant": ("id", "program_id", "kind", "person", "period", "account_id", "points",
                    "created_at"),
    "outbox_message": ("id", "program_id", "account_id", "store_id", "kind", "to_phone", "body",
                       "status", "attempts", "send_after", "provider_sid", "last_error",
                       "created_at", "sent_at", "segments", "encoding", "payload",
                       "locked_until", "provider_status", "error_code", "status_changed_at",
                       "delivered_at", "price_micros", "price_unit", "channel"),
    # Written only when the schema has it (migration 0016, branch daily).
    "lot_give_back": ("id", "entry_id", "lot_id", "points"),
}
TABLES = tuple(COLUMNS)

# Shares of members, and habits. Enrolment: "import" members came from the old system on
# the first days with an opening balance; the others joined during the year at a till or in
# the app, with the sign-up bonus.
CHANNELS = (("import", 0.30), ("till", 0.50), ("app", 0.20))
SECOND_CARD = 0.15            # a plastic card and the app's virtual one
TEXTABLE = 0.12               # have a phone and did not opt out of SMS
HEAVY = 0.004                 # shoppers of several times a week: accounts with many lots
MEAN_VISITS = 18.0            # visits a year of an ordinary member (lognormal, heavy tail)
REDEEMS = 0.45                # chance a member with 200 points or more spends some
PARTIAL_RETURN, FULL_RETURN = 0.025, 0.008
HOME_STORE = 0.85
OPENING_HOURS_UTC = (7, 19)   # 08:00 to 21:00 in Paris
EXPIRE_RUN_HOUR_UTC = 2       # `pos-loyalty expire` from cron, nightly
CATEGORIES = (("bakery", 250, 900), ("dairy", 120, 600), ("produce", 150, 1200),
              ("organic", 300, 1500), ("drinks", 200, 2500), ("household", 250, 1800),
              ("tobacco", 1000, 1200), ("gift_card", 1000, 5000))
BASKET_TEMPLATES = 4096
LINES_PER_BASKET = ((1, 0.35), (2, 0.33), (3, 0.2), (4, 0.12))
FIRST_NAMES = ("Camille", "Louis", "Emma", "Gabriel", "Jade", "Raphaël", "Louise", "Arthur",
               "Alice", "Jules", "Chloé", "Adam", "Lina", "Hugo", "Léa", "Nathan")
SMS_STATUSES = (("delivered", 0.86), ("sent", 0.05), ("undelivered", 0.04), ("failed", 0.05))
PRICED = 0.7                  # delivered SMS whose price Twilio reported
SMS_PRICE_MICROS = 79_000     # EUR 0.079 a segment
CAMPAIGN_BUDGET_NEVER_REACHED = "a campaign's budget ran out: raise it in scale_world"
ID_STRIDE = 1_000_000_000     # ids of worker k start at k * ID_STRIDE + 1


def check_supported(rules: Any) -> None:
    """Refuse the rules this simulation does not play, rather than write a wrong ledger."""
    unsupported = [name for name, on in (
        ("pending_days", rules.pending_days), ("daily_customer_cap_points",
                                               rules.daily_customer_cap_points),
        ("daily_program_cap_points", rules.daily_program_cap_points),
        ("tier_lowered_by_returns", rules.tier_lowered_by_returns),
        ("bonuses_count_towards_tiers", rules.bonuses_count_towards_tiers),
        ("tier_measure money", rules.tier_measure != "points"),
        ("tier_period_months < 12", 0 < rules.tier_period_months < 12)) if on]
    if unsupported:
        raise ValueError("bench/seed_scale cannot simulate: " + ", ".join(unsupported))


@dataclass(frozen=True)
class Basket:
    lines: tuple[BasketLine, ...]
    total_minor: int


def basket_templates(seed: int) -> tuple[Basket, ...]:
    rng = random.Random(seed * 7 + 1)
    counts, weights = zip(*LINES_PER_BASKET)
    baskets = []
    for _ in range(BASKET_TEMPLATES):
        lines, used = [], set()
        for _ in range(rng.choices(counts, weights)[0]):
            name, low, high = CATEGORIES[min(int(rng.expovariate(0.45)), len(CATEGORIES) - 1)]
            sku = f"{name[:4].upper()}-{rng.randrange(40):02d}"
            if sku in used:
                continue
            used.add(sku)
            lines.append(BasketLine(sku, name, rng.choices((1, 2, 3), (0.75, 0.18, 0.07))[0],
                                    rng.randrange(low, high, 5)))
        baskets.append(Basket(tuple(lines), sum(line.amount_minor for line in lines)))
    return tuple(baskets)


class Ids:
    """The next id of every table, in this worker's own range."""

    def __init__(self, worker: int) -> None:
        first = worker * ID_STRIDE + 1
        self.next = {table: first for table in TABLES}

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


class CardNumbers:
    """Card numbers drawn at random without repeats: an affine permutation of the range
    the prefix leaves, keyed by the seed, so every draw is distinct by construction."""

    def __init__(self, prefix: str, symbology: str, seed: int) -> None:
        self.prefix, self.symbology = prefix, symbology
        self.size = card_range_size(prefix, symbology)
        rng = random.Random(seed * 31 + 7)
        self.step = rng.randrange(self.size // 3, self.size)
        while _gcd(self.step, self.size) != 1:
            self.step += 1
        self.offset = rng.randrange(self.size)

    def number(self, serial: int) -> str:
        return make_card_number(self.prefix, (self.offset + serial * self.step) % self.size,
                                self.symbology)


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


@dataclass
class Lot:
    id: int
    entry_id: int
    sale_id: int | None
    points: int
    remaining: int
    available_at: dt.datetime
    expires_at: dt.datetime | None
    expire_run: dt.datetime | None   # when the nightly job takes what is left


class MemberYear:
    """The simulation of one account; `rows` holds what it wrote, by table."""

    def __init__(self, sim: Simulation, member: int) -> None:
        self.sim, self.world = sim, sim.world
        self.rng = random.Random(self.world.seed * 1_000_003 + member)
        self.account_id = member + 1
        self.available = self.pending = self.earned = self.redeemed = 0
        self.negative_flagged = False
        self.lots: list[Lot] = []
        self.expiry_index = 0                # lots before it had their expiry run
        # Lots refilled by a give-back after their expiry ran: the next run takes them.
        self.refilled_expired: list[tuple[dt.datetime, Lot]] = []
        self.tier: str | None = None
        self.tier_until: dt.datetime | None = None
        self.measure = 0
        self.uses: dict[int, int] = {}
        self.has_sale = False
        self.rows: dict[str, list[Any]] = {table: [] for table in TABLES}
        self.sales: dict[int, list[Any]] = {}        # sale id -> its row (a list until written)
        self.sale_lines: dict[int, list[list[Any]]] = {}
        self.sale_draws: dict[int, list[list[Any]]] = {}   # sale id -> its redeem's draws
        self.sale_lot: dict[int, Lot] = {}

    # --- the ledger, as pos_loyalty.ledger writes it -------------------------------------

    def entry(self, kind: str, points: int, at: dt.datetime, sale: tuple | None = None,
              campaign_id: int | None = None, actor: str = "", reason: str = "") -> int:
        entry_id = self.sim.ids.take("ledger_entry")
        sale_id, store_id, terminal_id, staff_id = sale or (None, None, None, None)
        self.rows["ledger_entry"].append((
            entry_id, self.world.program_id, self.account_id, kind, points, 0, self.available,
            self.pending, sale_id, None, store_id, terminal_id, staff_id, campaign_id, actor,
            reason, at))
        return entry_id

    def new_lot(self, entry_id: int, points: int, at: dt.datetime,
                sale_id: int | None) -> None:
        """A released credit's lot: what is left once it paid any debt below zero."""
        remaining = max(self.available, 0) - max(self.available - points, 0)
        expires_at = expiry_for(self.world.rules, at)
        lot = Lot(self.sim.ids.take("point_lot"), entry_id, sale_id, points, remaining, at,
                  expires_at, self.sim.expire_run(expires_at))
        self.lots.append(lot)
        if sale_id is not None:
            self.sale_lot[sale_id] = lot

    def credit(self, kind: str, points: int, at: dt.datetime, actor: str, reason: str) -> None:
        self.available += points
        if kind != "import":
            self.earned += points
        self.new_lot(self.entry(kind, points, at, actor=actor, reason=reason), points, at, None)

    def draw(self, entry_id: int, points: int, first: Lot | None = None) -> list[list[Any]]:
        """Take `points` from released lots, `first` before the oldest expiry; the draws."""
        draws, need = [], points
        order = self.lots if first is None else [first, *(lot for lot in self.lots
                                                          if lot is not first)]
        for lot in order:
            if need == 0:
                break
            if lot.remaining <= 0:
                continue
            taken = min(need, lot.remaining)
            lot.remaining -= taken
            need -= taken
            draws.append([self.sim.ids.take("lot_draw"), entry_id, lot.id, taken, 0, lot])
        if need:
            raise AssertionError(f"account {self.account_id}: lots short by {need} points")
        self.rows["lot_draw"].extend(draws)
        return draws

    def expire_due(self, until: dt.datetime) -> None:
        """The nightly expiry runs up to `until`: one entry and one draw per lot, as
        `ledger.expire_lots` does, in (run, expiry, id) order."""
        due = []
        while self.expiry_index < len(self.lots):
            lot = self.lots[self.expiry_index]
            if lot.expire_run is None or lot.expire_run > until:
                break
            due.append((lot.expire_run, lot))
            self.expiry_index += 1
        if self.refilled_expired:
            due += [(run, lot) for run, lot in self.refilled_expired if run <= until]
            self.refilled_expired = [(run, lot) for run, lot in self.refilled_expired
                                     if run > until]
            due.sort(key=lambda found: (found[0], found[1].expires_at, found[1].id))
        for run, lot in due:
            if lot.remaining <= 0:
                continue
            points = lot.remaining
            self.available -= points
            entry_id = self.entry("expire", -points, run, actor="expire job")
            lot.remaining = 0
            draw = [self.sim.ids.take("lot_draw"), entry_id, lot.id, points, 0, lot]
            self.rows["lot_draw"].append(draw)

    # --- the year ------------------------------------------------------------------------

    def play(self) -> None:
        sim, world, rng = self.sim, self.world, self.rng
        channel = rng.choices(sim.channel_names, sim.channel_weights)[0]
        if channel == "import":
            enrolled = world.start + dt.timedelta(seconds=rng.randrange(2 * 86400))
        else:
            enrolled = world.start + (world.now - world.start) * (rng.random() ** 1.3)
        enrolled = enrolled.replace(microsecond=0)
        self.home = world.stores[rng.randrange(len(world.stores))]
        self.textable = rng.random() < TEXTABLE
        self.phone = f"+336{self.account_id:08d}"
        self.enrol(channel, enrolled)
        for at, _, kind, payload in self.events(enrolled):
            self.expire_due(at)
            if kind == "sale":
                self.sale(at, payload)
            else:
                self.sale_return(at, *payload)
        self.expire_due(world.now)
        self.finish(channel, enrolled)

    def enrol(self, channel: str, at: dt.datetime) -> None:
        world, ids = self.world, self.sim.ids
        kinds = ["virtual"] if channel == "app" else ["plastic"]
        if self.rng.random() < SECOND_CARD:
            kinds.append("virtual" if kinds[0] == "plastic" else "plastic")
        self.cards = []
        for kind in kinds:
            card_id = ids.take("card")
            self.cards.append(card_id)
            self.rows["card"].append((
                card_id, world.program_id, self.sim.card_numbers.number(card_id),
                world.rules.card_symbology, "active", kind, self.account_id, None, None, at, at))
        if channel == "import":
            self.credit("import", self.rng.randrange(50, 1500, 10), at, "import",
                        "opening balance from the previous programme")
            return
        points = world.rules.signup_bonus_points
        self.rows["bonus_grant"].append((
            ids.take("bonus_grant"), world.program_id, "signup", self.sim.person(self.phone),
            "", self.account_id, points, at))
        if points > 0:
            self.credit("signup", points, at, channel, "sign-up bonus")
            if self.textable:
                self.sms("signup", at, None, {"points": points, "balance": self.available},
                         f"{world.program_name}: {points} points offered. "
                         f"Balance: {self.available} points.")

    def events(self, enrolled: dt.datetime) -> Iterator[tuple[dt.datetime, int, str, Any]]:
        """Sales and returns in time order. A sale's return is drawn once the sale is
        played (the caller plays each event before asking for the next), so it names the
        sale's id (`last_sale_id`)."""
        rng, now = self.rng, self.world.now
        if rng.random() < HEAVY:
            per_year = rng.uniform(120, 320)
        else:
            per_year = rng.lognormvariate(0, 0.9) * MEAN_VISITS / 1.5
        days = (now - enrolled).total_seconds() / 86400
        count = int(per_year * days / 365 + rng.random())
        events: list[tuple[dt.datetime, int, str, Any]] = []
        day0 = enrolled.replace(hour=0, minute=0, second=0)
        opening = OPENING_HOURS_UTC[1] - OPENING_HOURS_UTC[0]
        for sequence in range(count):
            day = day0 + dt.timedelta(days=rng.randrange(int(days) + 1))
            at = day + dt.timedelta(hours=OPENING_HOURS_UTC[0],
                                    seconds=rng.randrange(opening * 3600))
            if enrolled < at < now:
                events.append((at, sequence, "sale", rng.randrange(BASKET_TEMPLATES)))
        heapq.heapify(events)
        sequence = count
        while events:
            event = heapq.heappop(events)
            yield event
            if event[2] != "sale":
                continue
            chance = rng.random()
            if chance < PARTIAL_RETURN + FULL_RETURN:
                at = event[0] + dt.timedelta(seconds=rng.randrange(3600, 20 * 86400))
                if at < now:
                    sequence += 1
                    heapq.heappush(events, (at, sequence, "return",
                                            (self.last_sale_id, chance < FULL_RETURN)))

    def place(self) -> tuple[int, int, int]:
        """Where a visit happens: (store id, terminal id, cashier id)."""
        rng = self.rng
        store = self.home if rng.random() < HOME_STORE else \
            self.world.stores[rng.randrange(len(self.world.stores))]
        return (store.id, store.terminal_ids[rng.randrange(len(store.terminal_ids))],
                store.staff_ids[rng.randrange(len(store.staff_ids))])

    def sale(self, at: dt.datetime, basket_index: int) -> None:
        world, rules, ids, rng = self.world, self.world.rules, self.sim.ids, self.rng
        basket = self.sim.baskets[basket_index]
        redeem = 0
        if self.available >= 200 and rng.random() < REDEEMS:
            most = max_redeem(basket.total_minor, self.available, rules)[0]
            wish = rng.choice((100, 200, 300, 500, 1000, self.available))
            redeem = min(most, wish) // 50 * 50
        store_id, terminal_id, staff_id = self.place()
        q = self.sim.quote(basket_index, basket, redeem, self, at, store_id)
        sale_id = ids.take("sale")
        self.last_sale_id = sale_id
        sale = (sale_id, store_id, terminal_id, staff_id)
        earn = q.points_earned
        if earn and self.sim.budget_charge(q.campaigns):
            raise AssertionError(CAMPAIGN_BUDGET_NEVER_REACHED)
        # settle_sale: the redeem entry, then the earn entry and one per campaign, one lot.
        draws: list[list[Any]] = []
        if redeem:
            self.available -= redeem
            self.redeemed += redeem
            entry_id = self.entry("redeem", -redeem, at, sale)
            draws = self.draw(entry_id, redeem)
        first_credit = None
        campaign_points = sum(c.points for c in q.campaigns)
        credits = [("earn", earn - campaign_points, None),
                   *(("campaign", c.points, c.id) for c in q.campaigns)]
        for kind, points, campaign_id in credits:
            if points <= 0:
                continue
            self.available += points
            entry_id = self.entry(kind, points, at, sale, campaign_id)
            first_credit = first_credit or entry_id
            if campaign_id is not None:
                self.uses[campaign_id] = self.uses.get(campaign_id, 0) + 1
        self.earned += earn
        if earn:
            self.new_lot(first_credit, earn, at, sale_id)
        self.sale_draws[sale_id] = draws
        self.sales[sale_id] = [
            sale_id, world.program_id, store_id, terminal_id, staff_id, self.account_id,
            self.cards[rng.randrange(len(self.cards))], f"R{sale_id}", "sale", "completed",
            q.total_minor, q.points_redeemed, q.redeemed_minor, q.cash_minor,
            q.eligible_earn_minor, q.earn_base_minor, earn, 0, 0, 0, 0, at, None]
        self.sale_lines[sale_id] = [
            [ids.take("sale_line"), sale_id, number, line.sku, line.category, line.quantity,
             line.unit_price_minor, line.amount_minor, base, 0]
            for number, (line, base) in enumerate(zip(basket.lines, q.line_earn_base_minor),
                                                  start=1)]
        self.has_sale = True
        change = earn - redeem
        if self.textable and (change != 0 or (earn > 0 and redeem > 0)):
            payload = {"change": change, "balance": self.available,
                       "store": self.sim.store_names[store_id]}
            if earn > 0 and redeem > 0:
                payload.update(earned=earn, spent=redeem)
            if q.campaigns:
                payload["offers"] = [{"campaign_id": c.id, "points": c.points}
                                     for c in q.campaigns]
            self.sms("balance", at, store_id, payload,
                     f"{world.program_name}: {change:+d} points. "
                     f"Balance: {self.available} points.")
        self.measure += earn
        if rules.tiers:
            self.move_up(at, sale_id)

    def move_up(self, at: dt.datetime, sale_id: int) -> None:
        """tiers.move_up_after_sale and record_move."""
        ladder = self.world.rules.tiers
        reached = rung_reached(ladder, self.measure)
        if not is_higher(ladder, reached, self.tier):
            return
        zone = self.sim.zone
        until = local_to_utc(zone, tier_kept_until(self.world.rules, utc_to_local(zone, at)))
        self.rows["tier_change"].append((
            self.sim.ids.take("tier_change"), self.world.program_id, self.account_id,
            self.tier, reached.key, "reached", self.measure, sale_id, at))
        if self.textable:
            self.sms("tier", at, None, {"tier": reached.key, "from": self.tier,
                                        "reason": "reached"},
                     f"{self.world.program_name}: welcome to {reached.name('en')}.")
        self.tier, self.tier_until = reached.key, until

    def sale_return(self, at: dt.datetime, sale_id: int, full: bool) -> None:
        """sales.record_return by lines: all of them, or one unit of one line."""
        sale, lines = self.sales[sale_id], self.sale_lines[sale_id]
        (total, redeemed_points, cash, earn_base, earned, returned_before,
         base_before) = (sale[10], sale[11], sale[13], sale[15], sale[16], sale[17], sale[18])
        if returned_before >= total:
            return
        chosen = [line for line in lines if line[9] < line[5]]
        if not full:
            chosen = [chosen[self.rng.randrange(len(chosen))]]
        amount = base = 0
        for line in chosen:
            take = line[5] - line[9] if full else 1
            base += returned_line_base(line[8], line[5], line[9], line[9] + take)
            line[9] += take
            amount += take * line[6]
        returned_after = returned_before + amount
        base_after = returned_earn_base(
            earn_base_minor=earn_base, total_minor=total, returned_base_before=base_before,
            returned_minor_after=returned_after, returned_lines_base=base)
        split = return_split(
            total_minor=total, cash_minor=cash, points_earned=earned,
            points_redeemed=redeemed_points, earn_base_minor=earn_base,
            returned_minor_before=returned_before, returned_minor_after=returned_after,
            returned_base_before=base_before, returned_base_after=base_after)
        store_id, terminal_id = sale[2], sale[3]
        staff = self.sim.stores_by_id[store_id].staff_ids
        staff_id = staff[self.rng.randrange(len(staff))]
        context = (sale_id, store_id, terminal_id, staff_id)
        self.give_back(split.points_restored, at, context)
        taken = self.take_back(split.points_reversed, at, context)
        sale[17], sale[18] = returned_after, base_after
        sale[19] += split.points_reversed
        sale[20] += split.points_restored
        self.rows["sale_return"].append((
            self.sim.ids.take("sale_return"), self.world.program_id, sale_id, terminal_id,
            staff_id, amount, taken, split.points_restored, split.refund_cash_minor, at))
        self.measure -= taken
        change = split.points_restored - taken
        if self.textable and change != 0:
            self.sms("balance", at, store_id, {"change": change, "balance": self.available,
                                               "store": self.sim.store_names[store_id]},
                     f"{self.world.program_name}: {change:+d} points. "
                     f"Balance: {self.available} points.")

    def give_back(self, points: int, at: dt.datetime, context: tuple) -> None:
        """ledger.give_back into the lots the sale's spend drew, longest-lived first."""
        if points <= 0:
            return
        before = self.available
        self.available += points
        self.redeemed -= points
        entry_id = self.entry("return_restore", points, at, context)
        into_lots = max(self.available, 0) - max(before, 0)
        draws = sorted((d for d in self.sale_draws[context[0]] if d[4] < d[3]),
                       key=lambda d: (d[5].expires_at is not None,
                                      -(d[5].expires_at.timestamp() if d[5].expires_at
                                        else 0), d[0]))
        by_lot: dict[int, int] = {}
        for draw in draws:
            if into_lots == 0:
                break
            given = min(into_lots, draw[3] - draw[4])
            draw[4] += given
            lot = draw[5]
            lot.remaining += given
            if lot.expire_run is not None and lot.expire_run <= at:
                self.refilled_expired.append((self.sim.expire_run(at), lot))
            by_lot[lot.id] = by_lot.get(lot.id, 0) + given
            into_lots -= given
        if into_lots:
            raise AssertionError(f"account {self.account_id}: gave back points never drawn")
        if self.sim.give_backs:
            self.rows["lot_give_back"].extend(
                (self.sim.ids.take("lot_give_back"), entry_id, lot_id, given)
                for lot_id, given in by_lot.items())

    def take_back(self, points: int, at: dt.datetime, context: tuple) -> int:
        """ledger.take_back of released points, the sale's own lot first."""
        if points <= 0:
            return 0
        before = self.available
        self.available -= points
        self.earned -= points
        if self.available < 0 and not self.world.rules.allow_negative_balance:
            forgiven = min(points, -self.available)
            self.available += forgiven
            self.earned += forgiven
            points -= forgiven
        if points == 0:
            return 0
        entry_id = self.entry("return_reverse", -points, at, context)
        from_lots = max(before, 0) - max(self.available, 0)
        if from_lots:
            self.draw(entry_id, from_lots, self.sale_lot.get(context[0]))
        if self.available < 0:
            self.negative_flagged = True
        return points

    def sms(self, kind: str, at: dt.datetime, store_id: int | None, payload: dict[str, Any],
            body: str) -> None:
        """An outbox row as the worker leaves it once Twilio answered (queued if recent)."""
        rng, sim = self.rng, self.sim
        row_id = sim.ids.take("outbox_message")
        payload_json = json.dumps(payload)
        if at > self.world.now - dt.timedelta(minutes=10):
            self.rows["outbox_message"].append((
                row_id, self.world.program_id, self.account_id, store_id, kind, self.phone,
                None, "queued", 0, at, None, None, at, None, None, None, payload_json, None,
                None, None, at, None, None, None, "sms"))
            return
        status = rng.choices(sim.sms_names, sim.sms_weights)[0]
        sent = at + dt.timedelta(seconds=rng.randrange(1, 30))
        changed = sent + dt.timedelta(seconds=rng.randrange(2, 60))
        delivered = changed if status == "delivered" else None
        failed = status in ("failed", "undelivered")
        price = SMS_PRICE_MICROS if status == "delivered" and rng.random() < PRICED else None
        self.rows["outbox_message"].append((
            row_id, self.world.program_id, self.account_id, store_id, kind, self.phone, body,
            status, 1, at, f"SM{row_id:032x}", "Twilio 30006: landline or unreachable"
            if failed else None, at, sent, 1, "GSM-7", payload_json, None, status,
            30006 if failed else None, changed if status != "sent" else sent, delivered,
            price, "EUR" if price else None, "sms"))

    def finish(self, channel: str, enrolled: dt.datetime) -> None:
        """The rows whose last state is known now: account, sales, lines, lots, draws."""
        world, rows = self.world, self.rows
        rows["account"].append((
            self.account_id, world.program_id, self.phone,
            FIRST_NAMES[self.account_id % len(FIRST_NAMES)],
            world.pin_hash if channel == "app" else None, "active", None, self.available,
            self.pending, self.earned, self.redeemed, self.negative_flagged, 0, None, enrolled,
            not self.textable, False, None, self.tier, self.tier_until, None, False, channel,
            self.home.id if channel == "till" else None, "auto", 0, 0))
        rows["sale"] = [tuple(sale) for sale in self.sales.values()]
        rows["sale_line"] = [tuple(line) for lines in self.sale_lines.values()
                             for line in lines]
        rows["point_lot"] = [(
            lot.id, world.program_id, self.account_id, lot.entry_id, lot.sale_id, lot.points,
            lot.remaining, True, lot.available_at, lot.expires_at, lot.available_at, None, None)
            for lot in self.lots]   # released when made: no release, so no released_at
        rows["lot_draw"] = [tuple(draw[:5]) for draw in rows["lot_draw"]]


class Simulation:
    """What every account of one worker shares: the world, ids, card numbers, quotes."""

    def __init__(self, world: Any, worker: int, give_backs: bool) -> None:
        check_supported(world.rules)
        self.world, self.worker, self.give_backs = world, worker, give_backs
        self.ids = Ids(worker)
        self.card_numbers = CardNumbers(world.rules.card_prefix, world.rules.card_symbology,
                                        world.seed)
        self.baskets = basket_templates(world.seed)
        self.store_names = {store.id: store.name for store in world.stores}
        self.stores_by_id = {store.id: store for store in world.stores}
        self.zone = _Zone(world.timezone)
        self.channel_names, self.channel_weights = zip(*CHANNELS)
        self.sms_names, self.sms_weights = zip(*SMS_STATUSES)
        self.quotes: dict[tuple, Any] = {}
        self.campaign_points: dict[int, int] = {}
        self.budgets = {c.id: c.budget_points for c in world.campaigns if c.budget_points}
        self.campaign_windows = [(c.starts_at, c.ends_at) for c in world.campaigns]
        self.runs: dict[dt.datetime, dt.datetime] = {}

    def person(self, phone: str) -> str:
        """bonuses.person_key, with the key read once."""
        message = f"{self.world.program_id}:{phone}".encode()
        return "phone:" + hmac.new(self.world.person_hash_key, message,
                                   hashlib.sha256).hexdigest()

    def expire_run(self, expires_at: dt.datetime | None) -> dt.datetime | None:
        """The nightly run that expires a lot due at `expires_at` (the first one at or after)."""
        if expires_at is None:
            return None
        run = expires_at.replace(hour=EXPIRE_RUN_HOUR_UTC, minute=0, second=0, microsecond=0)
        return run if run >= expires_at else run + dt.timedelta(days=1)

    def quote(self, basket_index: int, basket: Basket, redeem: int, member: MemberYear,
              at: dt.datetime, store_id: int) -> Any:
        """rules.quote with the tier and the campaigns open to this sale, remembered by what
        decides it (the basket, the points spent, the tier, which campaigns are open)."""
        rung = rung_named(self.world.rules.tiers, member.tier)
        offers_open: tuple = ()
        setting = None
        if any(start <= at < end for start, end in self.campaign_windows):
            setting = SaleSetting(now=at, local_now=utc_to_local(self.zone, at),
                                  store_id=store_id, tier=rung,
                                  first_purchase=not member.has_sale, uses=member.uses)
            offers_open = tuple(c for c in self.world.campaigns if campaign_open_to(c, setting))
        key = (basket_index, redeem, member.tier, tuple(c.id for c in offers_open))
        found = self.quotes.get(key)
        if found is None:
            if setting is None:
                setting = SaleSetting(now=at, local_now=at, store_id=store_id, tier=rung,
                                      first_purchase=not member.has_sale, uses=member.uses)
            if len(self.quotes) > 200_000:
                self.quotes.clear()
            found = self.quotes[key] = quote(basket.lines, redeem, True, self.world.rules,
                                             redeem, Offers(offers_open, setting))
        return found

    def budget_charge(self, applied: tuple) -> bool:
        """Count the campaigns' points; True if one went over its budget."""
        over = False
        for campaign in applied:
            given = self.campaign_points.get(campaign.id, 0) + campaign.points
            self.campaign_points[campaign.id] = given
            budget = self.budgets.get(campaign.id, 0)
            over = over or bool(budget and given > budget)
        return over

    def member_rows(self, member: int) -> dict[str, list[Any]]:
        year = MemberYear(self, member)
        year.play()
        return year.rows


@dataclass(frozen=True)
class _Zone:
    """What pos_loyalty.programs' time functions read of a program."""
    timezone: str

