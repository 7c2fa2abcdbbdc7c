"""Which channels a message goes by: the customer's choice, their phones, their number."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from pos_loyalty.notify.channels import falls_back_to_sms, message_channels

CONFIG = {"default_channel": "auto", "sms_fallback_kinds": ["balance"]}


def customer(choice: str, phones: int) -> SimpleNamespace:
    return SimpleNamespace(notify_channel=choice, push_devices=phones)


@pytest.mark.parametrize("choice, phones, can_text, kind, channels", [
    # auto: a push when a phone takes it, else the SMS the brand pays for
    ("auto", 1, True, "balance", ("push",)),
    ("auto", 0, True, "balance", ("sms",)),
    ("auto", 0, True, "tier", ("sms",)),
    ("auto", 0, False, "balance", ()),
    # push: pushes only, but a balance change still reaches a customer with no phone left
    ("push", 2, True, "balance", ("push",)),
    ("push", 0, True, "balance", ("sms",)),
    ("push", 0, True, "tier", ()),
    ("push", 0, True, "promotion", ()),
    ("both", 1, True, "balance", ("push", "sms")),
    ("both", 0, True, "balance", ("sms",)),
    ("both", 1, False, "expiry", ("push",)),
    ("sms", 3, True, "balance", ("sms",)),
    ("sms", 3, False, "balance", ()),
    ("none", 1, True, "balance", ()),
])
def test_the_customer_s_choice_decides(choice, phones, can_text, kind, channels):
    assert message_channels(customer(choice, phones), kind, can_text=can_text,
                            config=CONFIG) == channels


def test_a_program_can_make_sms_its_default():
    config = {**CONFIG, "default_channel": "sms"}
    assert message_channels(customer("auto", 1), "balance", can_text=True,
                            config=config) == ("sms",)
    assert message_channels(customer("push", 1), "balance", can_text=True,
                            config=config) == ("push",)


@pytest.mark.parametrize("choice, kind, falls_back", [
    ("auto", "balance", True), ("push", "balance", True), ("auto", "tier", False),
    ("both", "balance", False),   # the SMS went already
    ("none", "balance", False), ("sms", "balance", False)])
def test_an_undelivered_push_falls_back_to_sms_only_where_it_adds_something(
        choice, kind, falls_back):
    assert falls_back_to_sms(customer(choice, 1), kind, CONFIG) is falls_back
