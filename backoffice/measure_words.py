"""The dashboard's words for the keys the measures answer (`pos_loyalty.analytics.Measure`):
sections, measure titles, columns, headline figures, notes, and the codes a label column
holds (enrolment channels), in the reader's language. A key without words is shown as it is;
tests/integration/test_backoffice_analytics_words.py lists every registered key that lacks
them."""
from __future__ import annotations

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
    "repeat_purchase": lazy_gettext("Repeat purchase rate"),
    "average_basket": lazy_gettext("Average basket of members"),
    "retention": lazy_gettext("Retention and churn, by monthly cohort"),
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

COLUMNS = {
    **CHANNELS,
    "month": lazy_gettext("Month"),
    "day": lazy_gettext("Day"),
    "channel": lazy_gettext("Channel"),
    "enrolled": lazy_gettext("Members enrolled"),
    "members": lazy_gettext("Members"),
    "active_30": lazy_gettext("Active in the last 30 days"),
    "active_90": lazy_gettext("Active in the last 90 days"),
    "active_365": lazy_gettext("Active in the last 365 days"),
    "receipts": lazy_gettext("Receipts"),
    "receipts_with_card": lazy_gettext("Receipts with a card"),
    "receipts_without_card": lazy_gettext("Receipts without a card"),
    "adoption_rate": lazy_gettext("Adoption rate"),
    "issued": lazy_gettext("Points issued"),
    "redeemed": lazy_gettext("Points redeemed"),
    "expired": lazy_gettext("Points expired"),
    "taken_back": lazy_gettext("Points taken back"),
    "redemption_rate": lazy_gettext("Redemption rate"),
    "breakage_rate": lazy_gettext("Breakage"),
    "expiry_month": lazy_gettext("Expiry month"),
    "points": lazy_gettext("Points"),
    "value_minor": lazy_gettext("Value"),
    "purchases": lazy_gettext("Purchases"),
    "buyers": lazy_gettext("Members who bought"),
    "frequency": lazy_gettext("Purchases per member"),
    "repeat_buyers": lazy_gettext("Members who bought again"),
    "repeat_rate": lazy_gettext("Repeat purchase rate"),
    "basket_minor": lazy_gettext("Average basket"),
    "basket_with_points_minor": lazy_gettext("Average basket, points used"),
    "basket_without_points_minor": lazy_gettext("Average basket, no points used"),
    "cohort": lazy_gettext("Cohort (month of enrolment)"),
    "start_members": lazy_gettext("Members at the start (S)"),
    "new_members": lazy_gettext("New members (N)"),
    "end_members": lazy_gettext("Members at the end (E)"),
    "retention_rate": lazy_gettext("Retention rate"),
    "churn_rate": lazy_gettext("Churn rate"),
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
    "cost_minor": lazy_gettext("Cost"),
}

FIGURES = {
    "members": lazy_gettext("Members"),
    "enrolled": lazy_gettext("Members enrolled in the period"),
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
    "liability_points": lazy_gettext("Points outstanding"),
    "liability_minor": lazy_gettext("Liability"),
    "frequency": lazy_gettext("Purchases per member"),
    "repeat_rate": lazy_gettext("Repeat purchase rate"),
    "basket_minor": lazy_gettext("Average basket"),
    "basket_with_points_minor": lazy_gettext("Average basket, points used"),
    "basket_without_points_minor": lazy_gettext("Average basket, no points used"),
    "retention_rate": lazy_gettext("Retention rate"),
    "churn_rate": lazy_gettext("Churn rate"),
    "lifespan_months": lazy_gettext("Average lifespan (months)"),
    "lifetime_value_minor": lazy_gettext("Customer lifetime value"),
    "sms_sent": lazy_gettext("SMS sent"),
    "sms_cost_minor": lazy_gettext("SMS cost"),
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
    "retention_formula": lazy_gettext(
        "Retention rate = (E − N) ÷ S × 100: S members at the start of the month, N new "
        "members during it, E members at its end. Churn rate = 100 − retention rate."),
    "lifetime_value_formula": lazy_gettext(
        "Customer lifetime value = average basket × purchases per month × lifespan in "
        "months."),
    "campaign_lift": lazy_gettext(
        "Lift = the campaign's sales ÷ the sales of the same weekdays in the weeks before "
        "it, minus 1."),
    "sms_cost": lazy_gettext("The cost counts only the messages Twilio reported a price for."),
}


def _word(words: dict, key: str) -> str:
    return str(words[key]) if key in words else key


def section_name(key: str) -> str:
    return _word(SECTIONS, key)


def measure_title(key: str) -> str:
    return _word(MEASURES, key)


def column_name(key: str) -> str:
    return _word(COLUMNS, key)


def figure_name(key: str) -> str:
    return _word(FIGURES, key)


def note_text(key: str) -> str:
    return _word(NOTES, key)


def label_text(code: str) -> str:
    """A code in a label column (an enrolment channel); names (tiers, campaigns) as they are."""
    return _word(CHANNELS, code)


MINOR_UNITS = {2: lazy_gettext("cents of %(currency)s"),
               3: lazy_gettext("thousandths of %(currency)s")}


def unit_suffix(unit: str, currency: str) -> str:
    """A column's unit in a CSV header: money in minor units, percents; "" for the others
    (their names say what they count)."""
    if unit == "minor":
        exponent = currency_exponent(currency)
        return str(MINOR_UNITS[exponent]) % {"currency": currency} if exponent else currency
    return "%" if unit == "percent" else ""
