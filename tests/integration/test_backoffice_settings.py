"""Program settings in the back office: the rules form (checked together, audited, previewed
by the core's quote), the app's look and logo, SMS texts and quiet hours; who may do what."""
from __future__ import annotations

import html
import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from backoffice_setup import NOW, field, office, words
from mobile_app import MobileApp, mobile
from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import AuditEvent, Program
from pos_loyalty.notify.texts import sms_config
from pos_loyalty.rule_fields import RULE_FIELDS
from pos_loyalty.rules import BasketLine
from pos_loyalty.tiers import TIER_SETTINGS
from pos_loyalty.usecases import checkout, program_settings

__all__ = ["office", "mobile"]


def program() -> Program:
    db.session.expire_all()
    return programs.default_program()


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def rules_form(page, **changes: str) -> dict[str, str]:
    """The rules form as the page shows it, with `changes` typed in (flags: "on" or "")."""
    found = dict(re.findall(r'<input id="(\w+)" name="\w+" value="([^"]*)"', page.text))
    found.update(re.findall(r'<select id="(\w+)"[^>]*>.*?<option value="(\w+)" selected',
                            page.text, flags=re.S))
    found.update({key: "on" for key in re.findall(
        r'<input type="checkbox" id="(\w+)" name="\w+" checked>', page.text)})
    found.update(changes)
    return {key: value for key, value in found.items() if value != ""}


def png(width: int = 4, height: int = 4, kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, kind)
    return out.getvalue()


# --- the rules -------------------------------------------------------------------------------

def test_the_form_holds_every_rule_but_the_tier_ladder(app):
    keys = {f.key for f in RULE_FIELDS}
    assert keys | set(TIER_SETTINGS) == set(app.config["LOYALTY"]["rules"])
    assert not keys & set(TIER_SETTINGS)


def test_marketing_changes_the_earn_rate_and_the_next_quote_uses_it(app, office, till):
    card = till.customer(points=0)
    user = office("marketing")
    page = user.get("/admin/settings")
    assert page.status_code == 200
    assert field(page, "earn_points_per_unit") == "1"
    saved = user.post("/admin/settings/rules", rules_form(page, earn_points_per_unit="2,5"))
    assert saved.status_code == 302
    assert "Rules saved: Points per 1.00 paid." in words(user.get("/admin/settings"))
    assert program().rules == {"earn_points_per_unit": "2.5"}
    quote = checkout.quote(program(), card, [BasketLine("TOTAL", "", 1, 2500)], NOW)
    assert quote.points_earned == 62
    [event] = events("rules_set")
    assert (event.actor, event.before, event.after) == (
        "staff:marketing", {"earn_points_per_unit": "1"}, {"earn_points_per_unit": "2.5"})


def test_the_pos_api_of_the_same_server_quotes_with_the_new_rules_at_once(app, office, till):
    card = till.customer(points=0)
    body = {"card_number": card, "total_minor": 2500}
    first = till.client.post("/api/pos/v1/quote", json=body, headers=till.headers)
    assert first.json["points_earned"] == 25
    user = office("admin")
    user.post("/admin/settings/rules",
              rules_form(user.get("/admin/settings"), earn_points_per_unit="3"))
    again = till.client.post("/api/pos/v1/quote", json=body, headers=till.headers)
    assert again.json["points_earned"] == 75


def test_several_rules_are_saved_together_in_one_audit_event(app, office):
    user = office("admin")
    page = user.get("/admin/settings")
    user.post("/admin/settings/rules", rules_form(
        page, redeem_points_per_unit="100", min_cash_minor="2.00", max_redeem_share="0.500000",
        excluded_categories="tobacco, lottery", category_multipliers="organic=2, bakery=1,5",
        allow_negative_balance="", campaign_combination="additive"))
    assert program().rules == {
        "redeem_points_per_unit": "100", "min_cash_minor": 200, "max_redeem_share": "0.5",
        "excluded_categories": ["lottery", "tobacco"],
        "category_multipliers": {"bakery": "1.5", "organic": "2"},
        "allow_negative_balance": False, "campaign_combination": "additive"}
    [event] = events("rules_set")
    assert event.before["min_cash_minor"] == 100 and event.after["min_cash_minor"] == 200
    assert sorted(event.after) == sorted(program().rules)
    shown = user.get("/admin/settings")
    assert field(shown, "category_multipliers") == "bakery=1.5, organic=2"
    assert field(shown, "min_cash_minor") == "2.00"


def test_a_rule_set_back_to_the_standard_value_follows_the_config_again(app, office):
    user = office("admin")
    user.post("/admin/settings/rules",
              rules_form(user.get("/admin/settings"), pending_days="7"))
    assert program().rules == {"pending_days": 7}
    user.post("/admin/settings/rules",
              rules_form(user.get("/admin/settings"), pending_days="0"))
    assert program().rules == {}
    assert [e.after for e in events("rules_set")] == [{"pending_days": 7}, {"pending_days": 0}]


def test_nothing_typed_differently_changes_nothing_and_writes_no_event(app, office):
    user = office("admin")
    user.post("/admin/settings/rules", rules_form(user.get("/admin/settings")))
    assert "Nothing changed." in words(user.get("/admin/settings"))
    assert events("rules_set") == []


def test_the_tier_settings_of_the_tiers_page_are_kept(app, office):
    tier_settings = {"tier_measure": "money", "tier_period_months": 6}

    def set_tiers() -> None:
        programs.default_program().rules = dict(tier_settings)
    run_in_transaction(set_tiers)
    user = office("admin")
    user.post("/admin/settings/rules",
              rules_form(user.get("/admin/settings"), signup_bonus_points="50"))
    assert program().rules == {**tier_settings, "signup_bonus_points": 50}


@pytest.mark.parametrize("key, typed, sentence", [
    ("earn_points_per_unit", "-1", "Points per 1.00 paid must be between 0 and 1000."),
    ("earn_points_per_unit", "abc", "Points per 1.00 paid must be a number."),
    ("earn_points_per_unit", "1.123456", "Points per 1.00 paid has too many decimals (at "
                                          "most 4)."),
    ("earn_points_per_unit", "1e-9", "Points per 1.00 paid has too many decimals"),
    ("max_redeem_share", "1.5", "Largest share paid with points must be between 0 and 1."),
    ("pending_days", "99999999999999999999", "Days points stay pending must be between 0 "
                                              "and 365."),
    ("min_cash_minor", "-3", "Least paid in money is not an amount."),
    ("excluded_categories", "tobacco, Gift Card!", "Categories that earn nothing: “Card!” "
                                                   "is not a category id"),
    ("category_multipliers", "organic", "Multipliers by category: write category=multiplier"),
    ("campaign_combination", "worst", "Several campaigns on one sale: choose one of the "
                                      "values offered."),
    ("card_prefix", "2X", "Prefix of new card numbers: digits only (capital letters too for "
                          "Code 128)"),
    ("card_prefix", "2" * 12, "Prefix of new card numbers: digits only"),
    ("hold_default_ttl_seconds", "7200", "Seconds a hold lasts when the till does not say "
                                         "cannot be longer than the longest hold"),
])
def test_a_wrong_rule_is_refused_with_a_sentence_and_nothing_changes(app, office, key, typed,
                                                                     sentence):
    user = office("admin")
    form = rules_form(user.get("/admin/settings"), signup_bonus_points="50", **{key: typed})
    page = user.post("/admin/settings/rules", form)
    assert page.status_code == 422
    assert sentence in words(page)
    if key != "campaign_combination":   # a list to choose from
        assert field(page, key) == typed
    assert field(page, "signup_bonus_points") == "50"
    assert program().rules == {}
    assert events("rules_set") == []


def test_the_preview_is_the_core_quote_under_the_rules_as_typed(app, office):
    user = office("marketing")
    page = user.get("/admin/settings")
    assert ("A basket of €25.00 earns 25 points and can use up to 240 points (€24.00); at "
            "least €1.00 is paid in money.") in words(page)
    typed = rules_form(page, earn_points_per_unit="2", max_redeem_share="0.5",
                       preview_total="40.00")
    fragment = user.post("/admin/settings/rules/preview", typed,
                         headers={"X-Preview": "fragment"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert ("A basket of €40.00 earns 80 points and can use up to 200 points (€20.00)"
            in words(fragment))
    assert program().rules == {}
    excluded = user.post("/admin/settings/rules/preview",
                         {**typed, "preview_category": "tobacco"},
                         headers={"X-Preview": "fragment"})
    assert "earns 0 points" in words(excluded)


def test_the_preview_says_what_is_wrong_instead_of_a_figure(app, office):
    user = office("admin")
    typed = rules_form(user.get("/admin/settings"), earn_points_per_unit="x")
    fragment = user.post("/admin/settings/rules/preview", typed,
                         headers={"X-Preview": "fragment"})
    assert words(fragment).strip() == "Points per 1.00 paid must be a number."
    too_large = user.post("/admin/settings/rules/preview",
                          {**rules_form(user.get("/admin/settings")),
                           "preview_total": "20000.00"}, headers={"X-Preview": "fragment"})
    assert "This bill is larger than one sale may be: at most €10,000.00." in words(too_large)


def test_the_page_opens_when_the_preview_basket_is_above_the_program_s_ceiling(app, office):
    user = office("admin")
    user.post("/admin/settings/rules",
              rules_form(user.get("/admin/settings"), max_receipt_total_minor="20.00"))
    page = user.get("/admin/settings")
    assert page.status_code == 200
    assert "This bill is larger than one sale may be: at most €20.00." in words(page)


def test_the_preview_button_without_script_shows_the_whole_page(app, office):
    user = office("admin")
    typed = rules_form(user.get("/admin/settings"), earn_points_per_unit="3")
    page = user.post("/admin/settings/rules/preview", typed)
    assert page.status_code == 200
    assert "earns 75 points" in words(page)
    assert field(page, "earn_points_per_unit") == "3"
    assert program().rules == {}


def test_save_rules_refuses_an_unknown_rule_and_the_tier_ladder(app):
    for key in ("tiers", "no_such_rule"):
        with pytest.raises(ValidationFailed) as refused:
            program_settings.save_rules(programs.default_program(), {key: []}, "test", NOW)
        assert refused.value.details == {"field": key, "problem": "unknown"}


# --- roles ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["support", "finance"])
def test_support_and_finance_do_not_open_the_settings(app, office, role):
    user = office(role)
    assert user.get("/admin/settings").status_code == 403
    assert user.get("/admin/settings/sms").status_code == 403
    assert "Program settings" not in words(user.get("/admin/"))


def test_marketing_sees_but_does_not_change_branding_and_sms(app, office):
    user = office("marketing")
    page = user.get("/admin/settings/branding")
    assert page.status_code == 200
    assert "Only an admin changes the app's look" in words(page)
    refused = user.post("/admin/settings/branding", {"name": "X", "app_name": "",
                                                     "primary_color": "#000000",
                                                     "secondary_color": "#ffffff"})
    assert refused.status_code == 403
    assert user.post("/admin/settings/sms/quiet-hours", {"quiet_hours_start": "",
                                                         "quiet_hours_end": ""}
                     ).status_code == 403
    assert user.post("/admin/settings/sms", {"lang": "en", "action": "save"}
                     ).status_code == 403
    assert program().name == "Demo Boulangerie"


# --- the app's look and logo ------------------------------------------------------------------

def test_admin_sets_the_app_name_and_colours_the_phone_reads(app, office):
    user = office("admin")
    page = user.post("/admin/settings/branding", {
        "name": "Boulangerie Martin", "app_name": "Martin & Fils",
        "primary_color": "#AA0000", "secondary_color": "#f59e0b"})
    assert page.status_code == 302
    saved = program()
    assert saved.name == "Boulangerie Martin"
    assert saved.branding == {"app_name": "Martin & Fils", "primary_color": "#aa0000"}
    [event] = events("branding_set")
    assert event.before["primary_color"] == "#1f2937"
    assert event.after["primary_color"] == "#aa0000"


def test_the_phone_app_shows_the_saved_look_and_logo(app, office, mobile: MobileApp):
    user = office("admin")
    user.post("/admin/settings/branding", {"name": "Demo Boulangerie", "app_name": "Mie",
                                           "primary_color": "#112233",
                                           "secondary_color": "#445566"})
    user.post("/admin/settings/branding/logo", {"logo": (io.BytesIO(png()), "logo.png")},
              content_type="multipart/form-data")
    body = mobile.get("/branding").get_json()
    assert body["app_name"] == "Mie"
    assert body["colors"] == {"primary": "#112233", "secondary": "#445566"}
    assert body["logo_url"] == program().branding["logo_url"]
    assert mobile.client.get(body["logo_url"]).data == png()


def test_a_logo_url_names_the_public_address_when_the_config_has_one(app, office):
    app.config["LOYALTY"]["sms"]["public_base_url"] = "https://loyalty.example.com/"
    user = office("admin")
    user.post("/admin/settings/branding/logo", {"logo": (io.BytesIO(png()), "logo.png")},
              content_type="multipart/form-data")
    [event] = events("logo_uploaded")
    assert program().branding["logo_url"] == \
        f"https://loyalty.example.com/admin/logo/demo/{event.id}.png"


@pytest.mark.parametrize("form, sentence", [
    ({"primary_color": "red"}, "Main colour is a colour like #1f2937."),
    ({"app_name": "x" * 61}, "App name is too long: at most 60 characters."),
    ({"name": " "}, "A program needs a name"),
])
def test_a_wrong_look_is_refused_and_retyped(app, office, form, sentence):
    user = office("admin")
    typed = {"name": "Demo Boulangerie", "app_name": "", "primary_color": "#1f2937",
             "secondary_color": "#f59e0b", **form}
    page = user.post("/admin/settings/branding", typed)
    assert page.status_code == 422
    assert sentence in words(page)
    assert program().branding == {}


def test_a_logo_is_stored_in_the_database_and_served_to_anyone(app, office, client):
    user = office("admin")
    image = png()
    page = user.post("/admin/settings/branding/logo",
                     {"logo": (io.BytesIO(image), "logo.txt")},
                     content_type="multipart/form-data")
    assert page.status_code == 302
    url = program().branding["logo_url"]
    [event] = events("logo_uploaded")
    assert url == f"http://localhost/admin/logo/demo/{event.id}.png"
    served = client.get(url)
    assert served.status_code == 200
    assert served.data == image
    assert served.mimetype == "image/png"
    assert "immutable" in served.headers["Cache-Control"]
    assert client.get(url, headers={"If-None-Match": served.headers["ETag"]}
                      ).status_code == 304
    assert client.get(url.replace(".png", ".jpg")).status_code == 404
    assert client.get(f"/admin/logo/other/{event.id}.png").status_code == 404


@pytest.mark.parametrize("content, sentence", [
    (b"GIF89a" + b"\0" * 40, "The logo must be a PNG, JPEG or WebP image."),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "The logo must be a PNG, JPEG or WebP"),
    (png()[:40], "The logo must be a PNG, JPEG or WebP image."),
    (b"", "Choose an image file for the logo."),
])
def test_a_logo_that_is_not_an_image_we_take_is_refused(app, office, content, sentence):
    user = office("admin")
    page = user.post("/admin/settings/branding/logo",
                     {"logo": (io.BytesIO(content), "logo.png")},
                     content_type="multipart/form-data")
    assert page.status_code == 422
    assert sentence in words(page)
    assert program().branding == {}


def test_a_logo_above_the_size_limit_is_refused(app, office):
    app.config["LOYALTY"]["back_office"]["logo_max_bytes"] = 100
    user = office("admin")
    page = user.post("/admin/settings/branding/logo",
                     {"logo": (io.BytesIO(png(64, 64)), "logo.png")},
                     content_type="multipart/form-data")
    assert page.status_code == 422
    assert "The logo is too large: at most 0 kB." in words(page)


def test_jpeg_and_webp_logos_are_taken_and_removing_one_goes_back_to_the_default(app, office):
    user = office("admin")
    for kind, extension in (("JPEG", "jpg"), ("WEBP", "webp")):
        user.post("/admin/settings/branding/logo",
                  {"logo": (io.BytesIO(png(kind=kind)), "x")},
                  content_type="multipart/form-data")
        assert program().branding["logo_url"].endswith(f".{extension}")
    user.post("/admin/settings/branding/logo/remove")
    assert "logo_url" not in program().branding
    assert [e.action for e in events("logo_removed")] == ["logo_removed"]


# --- SMS texts and quiet hours ------------------------------------------------------------------

def test_each_text_is_previewed_with_sample_values_and_its_segments(app, office):
    user = office("admin")
    page = user.get("/admin/settings/sms?lang=en")
    assert page.status_code == 200
    assert ("Thank you! +25 points at Demo Boulangerie. Balance: 1,250 points (€125.00)."
            in words(page))
    assert "1 SMS (GSM-7, 76 characters)" in words(page)
    french = user.get("/admin/settings/sms?lang=fr")
    assert "Merci ! +25 points chez Demo Boulangerie. Solde : 1 250 points (125,00 €)." \
        in words(french)
    assert user.get("/admin/settings/sms?lang=de").status_code == 404
    assert "Merci ! +25 points" in words(user.get("/admin/settings/sms"))   # fr_FR program


def sms_form(page, **texts: str) -> dict[str, str]:
    found = {f"text_{name}": html.unescape(value) for name, value in re.findall(
        r'<textarea id="text_(\w+)"[^>]*>([^<]*)</textarea>', page.text)}
    found.update({f"text_{name}": text for name, text in texts.items()})
    return found


def test_admin_changes_a_text_and_the_next_sms_uses_it(app, office):
    user = office("admin")
    page = user.get("/admin/settings/sms?lang=en")
    text = "{program}: {points} points for you! Now {balance} ({value})."
    saved = user.post("/admin/settings/sms", {"lang": "en", "action": "save",
                                              **sms_form(page, credit=text)})
    assert saved.status_code == 302
    config = sms_config(program())
    assert config["templates"]["en"]["credit"] == text
    assert program().branding["sms"]["templates"] == {"en": {"credit": text}}
    [event] = events("sms_texts_set")
    assert event.after == {"credit": text} and event.details == {"language": "en"}
    assert "Demo Boulangerie: 25 points for you! Now 1,250 (€125.00)." in words(
        user.get("/admin/settings/sms?lang=en"))


def test_an_unknown_placeholder_is_refused_and_the_preview_says_so(app, office):
    user = office("admin")
    page = user.get("/admin/settings/sms?lang=en")
    typed = sms_form(page, debit="-{points} at {shop}. {balance}")
    preview = user.post("/admin/settings/sms", {"lang": "en", "action": "preview", **typed})
    assert preview.status_code == 200
    assert "{shop} is not a placeholder of this text" in words(preview)
    refused = user.post("/admin/settings/sms", {"lang": "en", "action": "save", **typed})
    assert refused.status_code == 422
    assert "The text “debit”: {shop} is not a placeholder of this text; it may use " \
        "{balance}, {points}, {program}, {store}, {value}." in words(refused)
    assert "-{points} at {shop}. {balance}" in refused.text
    assert program().branding == {}


@pytest.mark.parametrize("text", ["{balance.__class__}", "{0}", "{balance!r}", "Solde {",
                                  "{balance:>99999}"])
def test_texts_that_would_fail_or_leak_when_written_are_refused(app, office, text):
    user = office("admin")
    page = user.get("/admin/settings/sms?lang=en")
    refused = user.post("/admin/settings/sms", {"lang": "en", "action": "save",
                                                **sms_form(page, balance=text)})
    assert refused.status_code == 422
    assert program().branding == {}


def test_an_emptied_text_goes_back_to_the_standard_one(app, office):
    user = office("admin")
    page = user.get("/admin/settings/sms?lang=fr")
    user.post("/admin/settings/sms", {"lang": "fr", "action": "save",
                                      **sms_form(page, help="{program} : aide.")})
    assert program().branding["sms"]["templates"]["fr"] == {"help": "{program} : aide."}
    page = user.get("/admin/settings/sms?lang=fr")
    user.post("/admin/settings/sms", {"lang": "fr", "action": "save",
                                      **sms_form(page, help="")})
    assert program().branding["sms"]["templates"]["fr"] == {}


def test_a_long_accented_text_counts_its_ucs2_segments(app, office):
    user = office("admin")
    text = "Où êtes-vous ? " * 6 + "{balance}"
    page = user.post("/admin/settings/sms", {"lang": "fr", "action": "preview", **sms_form(
        user.get("/admin/settings/sms?lang=fr"), balance=text)})
    assert "2 SMS (UCS-2, 95 characters)" in words(page)


def test_quiet_hours_are_set_cleared_and_checked(app, office):
    user = office("admin")
    user.post("/admin/settings/sms/quiet-hours", {"quiet_hours_start": "22:30",
                                                  "quiet_hours_end": "07:00"})
    config = sms_config(program())
    assert (config["quiet_hours_start"], config["quiet_hours_end"]) == ("22:30", "07:00")
    user.post("/admin/settings/sms/quiet-hours", {"quiet_hours_start": "",
                                                  "quiet_hours_end": ""})
    config = sms_config(program())
    assert (config["quiet_hours_start"], config["quiet_hours_end"]) == ("", "")
    user.post("/admin/settings/sms/quiet-hours", {"quiet_hours_start": "21:00",
                                                  "quiet_hours_end": "08:00"})
    assert program().branding["sms"] == {}
    refused = user.post("/admin/settings/sms/quiet-hours", {"quiet_hours_start": "25:00",
                                                            "quiet_hours_end": "08:00"})
    assert refused.status_code == 422
    assert "Quiet from is a time like 21:00, or leave both hours empty." in words(refused)
    assert field(refused, "quiet_hours_start") == "25:00"
    assert [(e.before, e.after) for e in events("quiet_hours_set")] == [
        ({"start": "21:00", "end": "08:00"}, {"start": "22:30", "end": "07:00"}),
        ({"start": "22:30", "end": "07:00"}, {"start": "", "end": ""}),
        ({"start": "", "end": ""}, {"start": "21:00", "end": "08:00"})]
