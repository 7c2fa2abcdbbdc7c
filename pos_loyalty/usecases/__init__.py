"""One function per action a person or a till takes: the only doors into the core.

Every face (the POS API, the cashier UI, the mobile API, the CLI) parses its input, calls one
of these and renders what comes back. A use case owns what the faces must never do
themselves: the transaction (`db.run_in_transaction`), the Idempotency-Key of a write
(`idempotency.once_per_key`), the balance as of now (`balances`), and "record the failed try,
then refuse" (`errors.Refusal`). The rules they apply are in `rules`, the balance writes in
`ledger`. See docs/architecture.md for which face calls which.

- `customers`: look up a card, identify by phone and PIN, enrol, link a card, adjust points,
  block or unblock, replace a card, issue blank cards.
- `checkout`: quote, sell, return (and preview it), void, hold, capture, release a hold.
- `staff`: a staff member opens the web till.
- `till_reports`: a till's daily count of receipts without a card (the adoption rate).
"""
