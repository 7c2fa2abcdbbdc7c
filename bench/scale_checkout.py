"""What `bench/checkout --scale NAME` needs of a database seeded by bench/seed_scale: its
tills' keys and its members' plastic cards, and the same program rules and running
campaigns on the empty database, so that the two runs differ only by the data."""
from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from scale_world import terminal_key

# Points a customer of the run must hold at least: every sale spends some (--redeem-points).
MIN_POINTS = 300


def scale_url(admin_url: str, name: str) -> str:
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def scale_tills_and_cards(url: str, terminals: int, per_terminal: int,
                          seed: int) -> tuple[list[str], list[list[str]]]:
    """Keys of `terminals` tills of different stores, and for each, its own customers'
    plastic cards (active), of the members holding the most points (MIN_POINTS at least)."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        tills = connection.execute(sa.text(
            "SELECT min(id) FROM terminal GROUP BY store_id ORDER BY min(id) LIMIT :n"),
            {"n": terminals}).scalars().all()
        cards = connection.execute(sa.text(
            "SELECT c.number FROM card c JOIN account a ON a.id = c.account_id "
            "WHERE c.kind = 'plastic' AND c.status = 'active' AND a.status = 'active' "
            "AND a.available_points >= :points ORDER BY a.available_points DESC, a.id "
            "LIMIT :n"),
            {"points": MIN_POINTS, "n": terminals * per_terminal}).scalars().all()
    engine.dispose()
    if len(tills) < terminals or len(cards) < terminals * per_terminal:
        raise RuntimeError(f"the scale database has {len(tills)} tills of different stores and "
                           f"{len(cards)} plastic cards holding {MIN_POINTS}+ points: "
                           f"fewer than the run needs")
    return ([terminal_key(seed, till) for till in tills],
            [cards[n::terminals] for n in range(terminals)])


def copy_program_offers(scale: str, empty: str) -> int:
    """The scale program's rules and its campaigns still running, onto the empty database's
    program; the campaigns copied."""
    source = sa.create_engine(scale, poolclass=sa.NullPool)
    with source.connect() as connection:
        rules = connection.execute(sa.text(
            "SELECT rules FROM program ORDER BY id LIMIT 1")).scalar_one()
        campaigns = [dict(row._mapping) for row in connection.execute(sa.text(
            "SELECT * FROM campaign WHERE ends_at > now() AT TIME ZONE 'UTC' "
            "AND ended_at IS NULL"))]
    source.dispose()
    target = sa.create_engine(empty, poolclass=sa.NullPool)
    with target.begin() as connection:
        program_id = connection.execute(sa.text(
            "SELECT id FROM program ORDER BY id LIMIT 1")).scalar_one()
        connection.execute(sa.text("UPDATE program SET rules = CAST(:rules AS json) "
                                   "WHERE id = :id"),
                           {"rules": _json(rules), "id": program_id})
        table = sa.Table("campaign", sa.MetaData(), autoload_with=connection)
        for campaign in campaigns:
            values: dict[str, Any] = {**campaign, "program_id": program_id, "points_given": 0,
                                      "store_ids": []}
            del values["id"]
            connection.execute(table.insert().values(**values))
    target.dispose()
    return len(campaigns)


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
