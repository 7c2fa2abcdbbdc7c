"""The pos-loyalty data model, in plain words.

A **Program** is a brand (the tenant); every row carries its `program_id`. A customer has one
**Account** per program and any number of **Cards** (plastic or virtual) that point to it.

Points live in a ledger. Every change of a balance is a **LedgerEntry**, append-only, that
records the signed change to the available and to the pending points and the balances after
it. The account keeps the running totals (`available_points`, `pending_points`) so a till
reads them in one row; they are changed only by `pos_loyalty.ledger`, in the same transaction
as the entries, and `pos-loyalty verify` proves that for every account
  sum(entry.points) == available_points, sum(entry.pending_delta) == pending_points,
  sum(lot.remaining of available lots) == max(available_points, 0).
Each credit makes a **PointLot** (`available_at` after the return window, `expires_at`);
spending draws the oldest-expiring lots first and records each draw (**LotDraw**) so that a
return or a void gives points back to the lots they came from.

A **Sale** is one receipt at one terminal, unique per (terminal, receipt number); its lines,
**SaleReturn**s and a **Hold** (points reserved for a receipt) hang off it. An
**IdempotencyKey** stores the response to a write so that a replay answers the same.
"""
from pos_loyalty.models.analytics import RollupRun
from pos_loyalty.models.account import Account, Card, CardBatch
from pos_loyalty.models.back_office import AdjustmentRequest, ProgramAsset
from pos_loyalty.models.broadcasts import Broadcast
from pos_loyalty.models.devices import PassRegistration, PushDevice, WalletPass
from pos_loyalty.models.ledger import DailyIssuance, Hold, LedgerEntry, LotDraw, PointLot
from pos_loyalty.models.mechanics import BonusGrant, Campaign, Referral, TierChange
from pos_loyalty.models.mobile import (
    AppKey, CustomerProfile, MobileSession, OneTimeCode, Promotion, RefreshToken,
)
from pos_loyalty.models.service_records import AuditEvent, IdempotencyKey, OutboxMessage
from pos_loyalty.models.program import Program, Staff, StaffSession, Store, Terminal
from pos_loyalty.models.sale import Sale, SaleLine, SaleReturn, TerminalDay
from pos_loyalty.models.member_rollups import (
    CohortMonth, MemberActivity, MemberLastDay, MemberMonth, MemberReach,
)

__all__ = [
    "PassRegistration", "PushDevice", "WalletPass",
    "Account", "AuditEvent", "Card", "CardBatch", "DailyIssuance", "Hold", "IdempotencyKey",
    "LedgerEntry", "LotDraw", "OutboxMessage", "PointLot", "Program", "Sale", "SaleLine",
    "SaleReturn", "Staff", "StaffSession", "Store", "Terminal",
    "BonusGrant", "Campaign", "Referral", "TierChange",
    "AppKey", "CustomerProfile", "MobileSession", "OneTimeCode", "Promotion", "RefreshToken",
    "AdjustmentRequest", "Broadcast", "ProgramAsset",
    "RollupRun", "TerminalDay",
    "CohortMonth", "MemberActivity", "MemberLastDay", "MemberMonth", "MemberReach",
]
from pos_loyalty.models.daily_rollups import (  # noqa: E402
    LotGiveBack, RollupCampaignDay, RollupDay, RollupLiabilityDay, RollupSmsCostDay,
    RollupTierDay,
)

__all__ += [
    "LotGiveBack", "RollupCampaignDay", "RollupDay", "RollupLiabilityDay", "RollupSmsCostDay",
    "RollupTierDay",
]
