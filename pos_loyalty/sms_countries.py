"""The countries a program sends SMS to ([sms] allowed_countries, per program in its branding).

Phones are enrolled, and codes texted, only in those countries: SMS pumping fraud asks for codes
to premium numbers abroad, each SMS paid by the program. The default is the program's own
country, read from its locale (fr_FR: FR).
"""
from __future__ import annotations

import phonenumbers

from pos_loyalty import accounts
from pos_loyalty.errors import PhoneCountryNotAllowed
from pos_loyalty.models import Program
from pos_loyalty.notify.texts import sms_config


def allowed_countries(program: Program) -> frozenset[str]:
    """ISO 3166 codes ("FR", "BE"); empty in the settings means the program's own country."""
    configured = sms_config(program)["allowed_countries"]
    if not configured:
        return frozenset({accounts.program_region(program)})
    return frozenset(str(country).upper() for country in configured)


def country_of(phone_e164: str) -> str:
    """The phone's country ("FR"; "ZZ" when the number belongs to none)."""
    return phonenumbers.region_code_for_number(phonenumbers.parse(phone_e164)) or "ZZ"


def check_destination(program: Program, phone_e164: str) -> None:
    """PhoneCountryNotAllowed (422) unless the program texts the phone's country."""
    country = country_of(phone_e164)
    if country not in allowed_countries(program):
        raise PhoneCountryNotAllowed(country=country, field="phone")
