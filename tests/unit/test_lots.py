"""The statements that change lots, as planned: each lot changed once per statement."""
from pos_loyalty.lots import (
    GIVE_TO_LOT, INSERT_DRAWS, INSERT_GIVE_BACKS, RESTORE_DRAW, TAKE_FROM_LOT, draw_steps,
    give_back_steps,
)


def test_a_draw_takes_from_each_planned_lot_and_records_it_against_the_entry():
    take, record = draw_steps(entry_id=41, taken_from=[(7, 30), (9, 5)])
    assert take.statement is TAKE_FROM_LOT
    assert take.params == [{"lot": 7, "taken": 30}, {"lot": 9, "taken": 5}]
    assert record.statement is INSERT_DRAWS
    assert record.params == [{"entry_id": 41, "lot_id": 7, "points": 30, "restored": 0},
                             {"entry_id": 41, "lot_id": 9, "points": 5, "restored": 0}]


def test_a_lot_drawn_by_two_entries_is_refilled_once_with_the_sum():
    refill, restore, record = give_back_steps(44, [(1, 7, 5), (2, 7, 7), (3, 9, 1)])
    assert refill.statement is GIVE_TO_LOT
    assert refill.params == [{"lot": 7, "given": 12}, {"lot": 9, "given": 1}]
    assert restore.statement is RESTORE_DRAW
    assert restore.params == [{"draw": 1, "given": 5}, {"draw": 2, "given": 7},
                              {"draw": 3, "given": 1}]
    assert record.statement is INSERT_GIVE_BACKS
    assert record.params == [{"entry_id": 44, "lot_id": 7, "points": 12},
                             {"entry_id": 44, "lot_id": 9, "points": 1}]
