"""The dashboard's words for the keys the measures answer (`pos_loyalty.analytics.Measure`):
sections, measure titles, columns, headline figures, notes, and the codes a label column
holds (enrolment channels), in the reader's language. A key without words is shown as it is;
tests/integration/test_backoffice_analytics_words.py lists every registered key that lacks
them."""
from __future__ import annotations

import re

from backoffice.i18n import lazy_gettext
from pos_loyalty.rules import currency_exponent

SECTIONS = {
    "members": lazy_gettext("Members"),
    "points": lazy_gettext("Points"),
    "liability": lazy_gettext("Liability"),
    "customers": lazy_gettext("Customers"),
    "tiers": lazy_gettext("Tiers"),
    "campaigns": lazy_gettext("Campaigns"),
    "sms": lazy_gettext("SMS"),
}

MEASURES = {
    "enrolments": lazy_gettext("Members enrolled, by channel"),
    "active_members": lazy_gettext("Active members (30, 90 and 365 days)"),
    "adoption": lazy_gettext("Adoption rate: receipts that carried a card"),
    "points_flow": lazy_gettext("Points issued, redeemed, expired and taken back"),
    "redemption": lazy_gettext("Redemption rate and breakage"),
    "liability": lazy_gettext("Outstanding points liability, by expiry month"),
    "purchase_frequency": lazy_gettext("Purchase frequency"),
    "repeat_purchase_rate": lazy_gettext("Repeat purchase rate"),
    "average_basket": lazy_gettext("Average basket of members"),
    "retention": lazy_gettext("Retention and churn"),
    "cohorts": lazy_gettext("Cohorts by month of first purchase"),
    "lifetime_value": lazy_gettext("Customer lifetime value"),
    "tier_distribution": lazy_gettext("Members by tier"),
    "tier_movements": lazy_gettext("Tier movements"),
    "campaigns": lazy_gettext("Campaigns: points, sales and lift"),
    "sms": lazy_gettext("SMS sent, delivered, failed and their cost"),
}

# Enrolment channels (account.enrolled_via): column keys and codes in a label column alike.
CHANNELS = {
    "till": lazy_gettext("At the till"),
    "app": lazy_gettext("In the app"),
    "import": lazy_gettext("Imported"),
    "back_office": lazy_gettext("Back office"),
    "cli": lazy_gettext("Command line"),
    "not_recorded": lazy_gettext("Not recorded"),
}

# Keys that name a column and a headline figure alike.
BOTH = {
    "members": lazy_gettext("Members"),
    "active_30": lazy_gettext("Active in the last 30 days"),
    "active_90": lazy_gettext("Active in the last 90 days"),
    "active_365": lazy_gettext("Active in the last 365 days"),
    "adoption_rate": lazy_gettext("Adoption rate"),
    "issued": lazy_gettext("Points issued"),
    "redeemed": lazy_gettext("Points redeemed"),
    "expired": lazy_gettext("Points expired"),
    "taken_back": lazy_gettext("Points taken back"),
    "redemption_rate": lazy_gettext("Redemption rate"),
    "breakage_rate": lazy_gettext("Breakage"),
    "frequency": lazy_gettext("Purchases per member"),
    "repeat_rate": lazy_gettext("Repeat purchase rate"),
    "basket_minor": lazy_gettext("Average basket"),
    "basket_with_points_minor": lazy_gettext("Average basket, points used"),
    "basket_without_points_minor": lazy_gettext("Average basket, no points used"),
    "buyers": lazy_gettext("Members who bought"),
    "purchases": lazy_gettext("Purchases"),
    "average_basket": lazy_gettext("Average basket"),
    "repeat_buyers": lazy_gettext("Members who bought again"),
    "customers_start": lazy_gettext("Customers at the start (S)"),
    "new_customers": lazy_gettext("New customers (N)"),
    "customers_end": lazy_gettext("Customers at the end (E)"),
    "retention": lazy_gettext("Retention rate"),
    "churn": lazy_gettext("Churn rate"),
}

COLUMNS = {
    **CHANNELS,
    **BOTH,
    "month": lazy_gettext("Month"),
    "day": lazy_gettext("Day"),
    "enrolled": lazy_gettext("Members enrolled"),
    "receipts_with_card": lazy_gettext("Receipts with a card"),
    "receipts_without_card": lazy_gettext("Receipts without a card"),
    "expiry_month": lazy_gettext("Expiry month"),
    "points": lazy_gettext("Points"),
    "value_minor": lazy_gettext("Value"),
    "cohort": lazy_gettext("Cohort (month of first purchase)"),
    "new_members": lazy_gettext("New members (N)"),
    "tier": lazy_gettext("Tier"),
    "promoted": lazy_gettext("Moved up"),
    "demoted": lazy_gettext("Moved down"),
    "campaign": lazy_gettext("Campaign"),
    "sales": lazy_gettext("Sales"),
    "sales_minor": lazy_gettext("Sales"),
    "baseline_minor": lazy_gettext("Sales on the same weekdays before"),
    "lift": lazy_gettext("Lift"),
    "sent": lazy_gettext("SMS sent"),
    "delivered": lazy_gettext("SMS delivered"),
    "failed": lazy_gettext("SMS failed"),
    "cost": lazy_gettext("Cost"),
    "available": lazy_gettext("Points available"),
    "pending": lazy_gettext("Points pending"),
}

FIGURES = {
    **BOTH,
    "enrolled": lazy_gettext("Members enrolled in the period"),
    "liability_points": lazy_gettext("Points outstanding"),
    "liability_minor": lazy_gettext("Liability"),
    "lifespan_months": lazy_gettext("Average lifespan (months)"),
    "sms_sent": lazy_gettext("SMS sent"),
    "sms_cost": lazy_gettext("SMS cost"),
    "sms_cost_currency": lazy_gettext("Currency of the SMS cost"),
    "monthly_frequency": lazy_gettext("Purchases per member per month"),
    "monthly_churn": lazy_gettext("Monthly churn"),
    "lifetime_value": lazy_gettext("Customer lifetime value"),
}

NOTES = {
    "adoption_formula": lazy_gettext(
        "Adoption rate = receipts with a card ÷ all receipts; the tills report each day how "
        "many receipts had no card."),
    "redemption_formula": lazy_gettext(
        "Redemption rate = points redeemed ÷ points issued. Breakage = points expired ÷ "
        "points issued."),
    "liability_as_of": lazy_gettext(
        "Points outstanding at the end of the period, valued at the program's redemption "
        "rate (what finance books as deferred revenue), by the month they expire."),
    "campaign_lift": lazy_gettext(
        "Lift = the campaign's sales ÷ the sales of the same weekdays in the weeks before "
        "it, minus 1."),
    "sms_cost": lazy_gettext("The cost counts only the messages Twilio reported a price for, "
                             "in the currency Twilio priced most of them in."),
    "active_members_note": lazy_gettext(
        "Members with a purchase in the 30, 90 or 365 days ending the month's last day (today "
        "for the current month)."),
    "purchase_frequency_note": lazy_gettext(
        "Purchases ÷ the members who bought; each member counts once over the period. "
        "Average basket = spend ÷ purchases."),
    "repeat_purchase_rate_note": lazy_gettext(
        "Share of the members who bought that made 2 purchases or more: each month alone, and "
        "over the period."),
    "retention_note": lazy_gettext(
        "Retention rate = (E − N) ÷ S × 100; churn rate = 100 − retention rate. S: customers at "
        "the start, E: customers at the end, N: new customers (first purchase in the period). A "
        "customer is a member who bought in the activity window ([analytics] "
        "activity_window_months, 3 months by default)."),
    "cohorts_note": lazy_gettext(
        "Share of each cohort (members by month of first purchase) buying in each month after "
        "it; churn: share of the cohort with no purchase in the activity window ending the "
        "period."),
    "lifetime_value_note": lazy_gettext(
        "Customer lifetime value = average basket × purchases per member per month × expected "
        "lifespan in months (1 ÷ monthly churn)."),
}

# Codes in a label column other than the enrolment channels.
LABELS = {
    **CHANNELS,
    "never": lazy_gettext("Never"),
    "none": lazy_gettext("No tier"),
}


AFTER_MONTHS = re.compile(r"after_(\d+)")
MONTH_AFTER = lazy_gettext("Month +%(n)s")


def _word(words: dict, key: str) -> str:
    return str(words[key]) if key in words else key


def section_name(key: str) -> str:
    return _word(SECTIONS, key)


def measure_title(key: str) -> str:
    return _word(MEASURES, key)


def has_column_words(key: str) -> bool:
    return key in COLUMNS or AFTER_MONTHS.fullmatch(key) is not None


def column_name(key: str) -> str:
    months_after = AFTER_MONTHS.fullmatch(key)
    if months_after:   # a cohort's month N after its first (one column per month shown)
        return str(MONTH_AFTER) % {"n": int(months_after.group(1))}
    return _word(COLUMNS, key)


def figure_name(key: str) -> str:
    return _word(FIGURES, key)


def note_text(key: str) -> str:
    return _word(NOTES, key)


def label_text(code: str) -> str:
    """A code in a label column (an enrolment channel, "never" expires, "none" for no tier);
    names (tiers, campaigns) as they are."""
    return _word(LABELS, code)


MINOR_UNITS = {2: lazy_gettext("cents of %(currency)s"),
               3: lazy_gettext("thousandths of %(currency)s")}


def unit_suffix(unit: str, currency: str) -> str:
    """A column's unit in a CSV header: money in minor units, percents; "" for the others
    (their names say what they count)."""
    if unit == "minor":
        exponent = currency_exponent(currency)
        return str(MINOR_UNITS[exponent]) % {"currency": currency} if exponent else currency
    return "%" if unit == "percent" else ""
