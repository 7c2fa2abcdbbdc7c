"""The phones that take a customer's pushes: registered by the app, gone at logout."""
from __future__ import annotations

import datetime as dt

from pos_loyalty.db import db
from pos_loyalty.models import Account, PushDevice

from mobile_app import MobileApp, mobile  # noqa: F401 (the fixture)

MONDAY = dt.datetime(2026, 3, 9, 10, 0)
FCM_TOKEN = "fcm-token-" + "a" * 140
APNS_TOKEN = "ab" * 32


def register_device(mobile: MobileApp, token: str, customer, platform: str = "android"):
    return mobile.post("/me/devices", {"platform": platform, "token": token,
                                       "app_version": "3.2.0"}, customer.access_token)


def counted(account_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Account, account_id).push_devices


def test_a_phone_registers_once_and_is_counted_on_the_account(mobile: MobileApp):
    mobile.freeze(MONDAY)
    customer = mobile.register()
    first = register_device(mobile, FCM_TOKEN, customer)
    assert first.status_code == 201
    assert first.get_json() == {"id": first.get_json()["id"], "platform": "android",
                                "app_version": "3.2.0", "created_at": "2026-03-09T10:00:00Z",
                                "last_seen_at": "2026-03-09T10:00:00Z"}
    again = register_device(mobile, FCM_TOKEN, customer)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    register_device(mobile, APNS_TOKEN, customer, platform="ios")
    listed = mobile.get("/me/devices", customer.access_token).get_json()["devices"]
    assert [device["platform"] for device in listed] == ["android", "ios"]
    assert counted(customer.account_id) == 2
    assert mobile.get("/me", customer.access_token).get_json()["push_devices"] == 2


def test_removing_a_phone_stops_its_pushes_and_another_customer_cannot(mobile: MobileApp):
    owner, stranger = mobile.register(), mobile.register()
    device_id = register_device(mobile, FCM_TOKEN, owner).get_json()["id"]
    refused = mobile.call("DELETE", f"/me/devices/{device_id}", token=stranger.access_token)
    assert refused.status_code == 404
    assert refused.get_json()["error"]["code"] == "device_not_found"
    assert mobile.call("DELETE", f"/me/devices/{device_id}",
                       token=owner.access_token).status_code == 204
    assert counted(owner.account_id) == 0
    assert db.session.get(PushDevice, device_id) is None


def test_a_token_seen_again_moves_to_the_customer_now_logged_in(mobile: MobileApp):
    first, second = mobile.register(), mobile.register()
    device_id = register_device(mobile, FCM_TOKEN, first).get_json()["id"]
    moved = register_device(mobile, FCM_TOKEN, second)
    assert moved.status_code == 200 and moved.get_json()["id"] == device_id
    assert (counted(first.account_id), counted(second.account_id)) == (0, 1)


def test_logging_out_removes_that_login_s_phone_only(mobile: MobileApp):
    customer = mobile.register()
    other_login = mobile.login(customer)
    register_device(mobile, FCM_TOKEN, customer)
    mobile.post("/me/devices", {"platform": "ios", "token": APNS_TOKEN},
                other_login["access_token"])
    assert mobile.post("/auth/logout", token=customer.access_token).status_code == 204
    remaining = mobile.get("/me/devices", other_login["access_token"]).get_json()["devices"]
    assert [device["platform"] for device in remaining] == ["ios"]
    assert counted(customer.account_id) == 1


def test_a_new_pin_ends_the_other_logins_and_their_phones(mobile: MobileApp):
    customer = mobile.register()
    other_login = mobile.login(customer)
    mobile.post("/me/devices", {"platform": "ios", "token": APNS_TOKEN},
                other_login["access_token"])
    register_device(mobile, FCM_TOKEN, customer)
    changed = mobile.call("PUT", "/me/pin", {"old_pin": "1234", "new_pin": "5678"},
                          token=customer.access_token)
    assert changed.status_code == 204
    platforms = [d["platform"] for d in
                 mobile.get("/me/devices", customer.access_token).get_json()["devices"]]
    assert platforms == ["android"]


def test_an_erased_account_keeps_no_phone(mobile: MobileApp):
    customer = mobile.register()
    register_device(mobile, FCM_TOKEN, customer)
    assert mobile.call("DELETE", "/me", token=customer.access_token).status_code == 204
    db.session.expire_all()
    assert db.session.query(PushDevice).count() == 0
    assert db.session.get(Account, customer.account_id).push_devices == 0


def test_a_bad_device_is_refused_with_the_field_named(mobile: MobileApp):
    customer = mobile.register()
    for body, field in (({"platform": "windows", "token": FCM_TOKEN}, "platform"),
                        ({"platform": "ios", "token": ""}, "token"),
                        ({"platform": "ios", "token": "x" * 513}, "token"),
                        ({"platform": "ios", "token": 42}, "token"),
                        ({"platform": "ios", "token": APNS_TOKEN, "app_version": 3},
                         "app_version")):
        reply = mobile.post("/me/devices", body, customer.access_token)
        assert reply.status_code == 422, body
        assert reply.get_json()["error"]["details"]["field"] == field
    assert mobile.post("/me/devices", [1], customer.access_token).status_code == 400
    assert counted(customer.account_id) == 0


def test_the_channel_is_chosen_in_the_profile(mobile: MobileApp):
    customer = mobile.register()
    changed = mobile.call("PATCH", "/me", {"notify_channel": "both"},
                          token=customer.access_token)
    assert changed.status_code == 200 and changed.get_json()["notify_channel"] == "both"
    refused = mobile.call("PATCH", "/me", {"notify_channel": "email"},
                          token=customer.access_token)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"]["field"] == "notify_channel"
