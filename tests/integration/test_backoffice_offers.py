"""The back office's campaigns, tiers and promotions, both engines: marketing and admin make,
change and end them through the same use cases as the CLI; every change is audited with
before and after; the core's refusals show beside the field they name; a started campaign's
earning terms never change under the sales it gave points to."""
from __future__ import annotations

import datetime as dt
import html
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from backoffice_setup import NOW, field, office, words
from offers_setup import LADDER, make_campaign
from pos_loyalty import campaigns, programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import CampaignTermLocked, OfferEnded
from pos_loyalty.models import AuditEvent, Campaign, Program, Promotion
from pos_loyalty.usecases import offers, offers_admin, phone_app
from pos_loyalty.usecases.offers_admin import PromotionForm

__all__ = ["office"]

SATURDAYS_FOR_GOLD = {
    "name": "Samedis Or", "label_fr": "Points doublés le samedi",
    "label_en": "Double points on Saturdays", "starts_date": "2026-03-01",
    "ends_date": "2026-03-31", "weekdays": "6", "tiers": "gold", "effect": "multiplier",
    "multiplier": "2", "budget_points": "200 000"}
# A campaign that has not started at NOW (Monday 9 March 2026).
APRIL = {"name": "April", "starts": "2026-04-01", "ends": "2026-04-30", "multiplier": "2"}


def program() -> Program:
    return programs.default_program()


def set_ladder() -> None:
    offers.set_tiers(program(), LADDER, NOW, "tests")


class FormReader(HTMLParser):
    """The fields a browser would send from a page's form: text, ticked boxes, chosen radio."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        name = given.get("name")
        if tag != "input" or not name or name == "csrf_token":
            return
        if given.get("type") in ("checkbox", "radio") and "checked" not in given:
            return
        value = given.get("value") or ("on" if given.get("type") == "checkbox" else "")
        self.fields.setdefault(name, []).append(html.unescape(value))


def campaign_form(user, campaign_id: int) -> dict[str, list[str]]:
    """The campaign's edit form as its page fills it in, ready to post again."""
    reader = FormReader()
    reader.feed(user.get(f"/admin/campaigns/{campaign_id}/edit").text)
    return reader.fields


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


# --- campaigns: made ----------------------------------------------------------------------------

def test_marketing_creates_double_points_on_saturdays_for_gold(app, office):
    set_ladder()
    user = office("marketing")
    page = user.post("/admin/campaigns/new", SATURDAYS_FOR_GOLD)
    assert page.status_code == 302, words(page)
    campaign = db.session.scalar(select(Campaign))
    assert page.headers["Location"] == f"/admin/campaigns/{campaign.id}"
    assert (campaign.name, campaign.labels, campaign.weekdays, campaign.tiers,
            campaign.multiplier, campaign.budget_points, campaign.created_by) == (
        "Samedis Or", {"fr": "Points doublés le samedi", "en": "Double points on Saturdays"},
        [6], ["gold"], "2", 200000, "staff:marketing")
    assert campaign.starts_at == dt.datetime(2026, 2, 28, 23, 0)    # Paris midnight
    assert campaign.ends_at == dt.datetime(2026, 3, 31, 22, 0)      # the 31st included
    listed = words(user.get("/admin/campaigns"))
    assert ("Samedis Or Double points on Saturdays running 2026-03-01 00:00 2026-04-01 00:00 "
            "× 2 0 of 200,000") in listed
    [made] = events("campaign_created")
    assert (made.actor, made.target, made.before) == ("staff:marketing",
                                                      f"campaign:{campaign.id}", None)
    assert made.after["ends"] == "2026-03-31" and made.after["tiers"] == ["gold"]


def test_every_term_of_the_spec_can_be_set_from_the_form(app, office):
    set_ladder()
    store = run_in_transaction(lambda: programs.create_store(program(), "Lyon"))
    page = office("admin").post("/admin/campaigns/new", {
        "name": "Evening bakery", "starts_date": "2026-03-10", "starts_time": "18:00",
        "ends_date": "2026-03-20", "ends_time": "20:30", "weekdays": ["1", "5"],
        "hours_from": "18:00", "hours_until": "20:00", "store_ids": str(store.id),
        "categories": "Bakery, pastry", "skus": "TART-1", "tiers": ["silver", "gold"],
        "min_basket": "12,50", "first_purchase_only": "on", "effect": "fixed",
        "bonus_points": "50", "multiplier": "ignored", "per_customer_limit": "2"})
    assert page.status_code == 302, words(page)
    spec = offers_admin.campaign_page(program(), 1, NOW, "en").spec
    assert spec == {
        "name": "Evening bakery", "labels": {}, "starts": "2026-03-10T18:00",
        "ends": "2026-03-20T20:30", "weekdays": [1, 5], "hours": "18:00-20:00",
        "store_ids": [store.id], "categories": ["bakery", "pastry"], "skus": ["TART-1"],
        "tiers": ["gold", "silver"], "min_basket_minor": 1250, "first_purchase_only": True,
        "per_customer_limit": 2, "budget_points": 0, "bonus_points": 50}


@pytest.mark.parametrize(("change", "field_name", "sentence"), [
    ({"ends_date": "2026-02-01"}, "ends", "Give the end as a date"),
    ({"multiplier": "1"}, "multiplier", "The multiplier is a number above 1 and at most 10"),
    ({"tiers": "platinum"}, "tiers", "Tick tiers of the program's ladder"),
    ({"hours_from": "18:00"}, "hours", "Give both hours"),
    ({"budget_points": "-5"}, "budget_points", "The budget is a whole number of points"),
    ({"min_basket": "12.345"}, "min_basket_minor", "The minimum basket is an amount"),
    ({"store_ids": "999999"}, "store_ids", "Tick stores of this program"),
    ({"name": ""}, "name", "Give a name of 1 to 120 characters."),
])
def test_a_refused_term_is_named_beside_its_field_and_the_form_keeps_what_was_typed(
        app, office, change, field_name, sentence):
    set_ladder()
    run_in_transaction(lambda: programs.create_store(program(), "Lyon"))
    page = office("marketing").post("/admin/campaigns/new", {**SATURDAYS_FOR_GOLD, **change})
    assert page.status_code == 422
    assert f'<p class="field-error" id="{field_name}-error">' in page.text
    assert sentence in words(page)
    assert 'aria-invalid="true"' in page.text
    assert field(page, "label_fr") == "Points doublés le samedi"
    assert db.session.scalar(select(Campaign)) is None


@pytest.mark.parametrize("role", ["support", "finance"])
def test_only_marketing_and_admin_open_the_offers(app, office, role):
    user = office(role)
    for path in ("/admin/campaigns", "/admin/campaigns/new", "/admin/tiers",
                 "/admin/promotions"):
        page = user.get(path)
        assert page.status_code == 403, path
        assert "Your role does not allow this." in words(page)
    assert user.post("/admin/campaigns/new", SATURDAYS_FOR_GOLD).status_code == 403
    assert db.session.scalar(select(Campaign)) is None


def test_another_program_s_campaign_or_an_unknown_one_is_not_found(app, office):
    def other() -> int:
        brand = Program(slug="other", name="Other", currency="EUR", timezone="Europe/Paris",
                        locale="fr_FR", rules={}, branding={})
        db.session.add(brand)
        db.session.flush()
        return campaigns.create_campaign(brand, APRIL, NOW, "tests").id
    user = office("admin")
    foreign = run_in_transaction(other)
    for path in (f"/admin/campaigns/{foreign}", f"/admin/campaigns/{foreign}/edit",
                 "/admin/campaigns/424242", "/admin/campaigns/99999999999999999999"):
        assert user.get(path).status_code == 404, path
    assert user.post(f"/admin/campaigns/{foreign}/end").status_code == 404
    assert user.post(f"/admin/campaigns/{foreign}/edit", {"name": "Mine"}).status_code == 404
    assert db.session.get(Campaign, foreign).ended_at is None


# --- campaigns: changed -------------------------------------------------------------------------

def test_a_scheduled_campaign_changes_every_term_and_the_change_is_audited(app, office):
    set_ladder()
    campaign_id = make_campaign(program(), NOW, **APRIL)
    user = office("marketing")
    form = {**campaign_form(user, campaign_id), "weekdays": ["6", "7"], "effect": "fixed",
            "bonus_points": "30", "tiers": "gold", "starts_date": "2026-04-04"}
    page = user.post(f"/admin/campaigns/{campaign_id}/edit", form)
    assert page.status_code == 302, words(page)
    campaign = db.session.get(Campaign, campaign_id)
    assert (campaign.weekdays, campaign.effect, campaign.bonus_points, campaign.multiplier,
            campaign.tiers) == ([6, 7], "fixed", 30, None, ["gold"])
    [changed] = events("campaign_changed")
    assert (changed.before["weekdays"], changed.before["multiplier"],
            changed.before["starts"]) == ([], "2", "2026-04-01")
    assert (changed.after["weekdays"], changed.after["bonus_points"],
            changed.after["starts"]) == ([6, 7], 30, "2026-04-04")
    assert "multiplier" not in changed.after


@pytest.mark.parametrize(("change", "field_name"), [
    ({"multiplier": "3"}, "multiplier"), ({"weekdays": "6"}, "weekdays"),
    ({"starts_date": "2026-03-02"}, "starts"), ({"min_basket": "10"}, "min_basket_minor"),
    ({"effect": "fixed", "bonus_points": "10"}, "multiplier"),
])
def test_a_running_campaign_keeps_its_earning_terms(app, office, change, field_name):
    campaign_id = make_campaign(program(), NOW)          # March, running at NOW
    user = office("marketing")
    page = user.post(f"/admin/campaigns/{campaign_id}/edit",
                     {**campaign_form(user, campaign_id), **change})
    assert page.status_code == 422
    assert f'<p class="field-error" id="{field_name}-error">' in page.text
    assert ("This cannot change once the campaign has started: end it and create another."
            in words(page))
    assert db.session.get(Campaign, campaign_id).multiplier == "2"
    assert events("campaign_changed") == []


def test_a_running_campaign_changes_its_name_labels_end_and_raises_its_budget(app, office):
    campaign_id = make_campaign(program(), NOW, budget_points=1000)
    in_memory = campaigns.running_campaigns(program(), NOW)      # this server's cache
    assert [t.ends_at for t in in_memory] == [dt.datetime(2026, 3, 31, 22, 0)]
    user = office("marketing")
    form = {**campaign_form(user, campaign_id), "name": "Double March",
            "label_en": "Double points", "ends_date": "2026-04-15", "budget_points": "5000"}
    assert user.post(f"/admin/campaigns/{campaign_id}/edit", form).status_code == 302
    campaign = db.session.get(Campaign, campaign_id)
    assert (campaign.name, campaign.labels, campaign.budget_points) == (
        "Double March", {"en": "Double points"}, 5000)
    # Seen at once on this server: the next sale reads the new end.
    assert [t.ends_at for t in campaigns.running_campaigns(program(), NOW)] == \
        [dt.datetime(2026, 4, 15, 22, 0)]
    lower = user.post(f"/admin/campaigns/{campaign_id}/edit",
                      {**campaign_form(user, campaign_id), "budget_points": "4000"})
    assert lower.status_code == 422
    assert "A started campaign's budget may only rise" in words(lower)
    past = user.post(f"/admin/campaigns/{campaign_id}/edit",
                     {**campaign_form(user, campaign_id), "ends_date": "2026-03-08"})
    assert past.status_code == 422
    assert '<p class="field-error" id="ends-error">' in past.text


def test_a_started_campaign_without_a_budget_cannot_get_one(app):
    campaign_id = make_campaign(program(), NOW)
    spec = {**offers_admin.campaign_page(program(), campaign_id, NOW, "en").spec,
            "budget_points": 100}
    with pytest.raises(CampaignTermLocked) as refused:
        offers_admin.update_campaign(program(), campaign_id, spec, NOW, "tests", "en")
    assert refused.value.details == {"field": "budget_points"}


def test_marketing_ends_a_campaign_and_the_till_stops_giving_it_at_once(app, office):
    campaign_id = make_campaign(program(), NOW)
    assert len(campaigns.running_campaigns(program(), NOW)) == 1
    user = office("marketing")
    page = user.get(f"/admin/campaigns/{campaign_id}")
    assert 'data-confirm="End this campaign now?' in page.text
    ended = user.post(f"/admin/campaigns/{campaign_id}/end")
    assert ended.status_code == 302
    assert campaigns.running_campaigns(program(), NOW) == ()
    shown = words(user.get(f"/admin/campaigns/{campaign_id}"))
    assert "Campaign Double points ended: it gave 0 points." in shown
    assert "Status ended" in shown and "End the campaign now" not in shown
    [event] = events("campaign_ended")
    assert (event.before, event.after) == ({"status": "running"}, {"status": "ended"})
    again = user.post(f"/admin/campaigns/{campaign_id}/edit", campaign_form(user, campaign_id))
    assert again.status_code == 409
    assert "This has ended: it can no longer change." in words(again)
    with pytest.raises(OfferEnded):
        offers_admin.update_campaign(program(), campaign_id, APRIL, NOW, "tests", "en")


def test_the_list_shows_running_scheduled_and_ended_with_points_given_against_budget(
        app, office, shop):
    shop.now = NOW
    given = make_campaign(program(), NOW, name="Budgeted", budget_points=1000)
    make_campaign(program(), NOW, **APRIL)
    gone = make_campaign(program(), NOW, name="Gone")
    offers.end_campaign(program(), gone, NOW, "tests")
    shop.sell(shop.customer(), 2000)                      # 20 base + 20 campaign points
    listed = words(office("marketing").get("/admin/campaigns"))
    running, rest = listed.split("Scheduled", 1)
    scheduled, ended = rest.split("Ended", 1)
    assert "Budgeted Budgeted running" in running and "20 of 1,000" in running
    assert "April April scheduled 2026-04-01 00:00 2026-05-01 00:00" in scheduled
    assert "Gone Gone ended" in ended
    assert offers_admin.campaign_page(program(), given, NOW, "en").view["points_given"] == 20


# --- tiers --------------------------------------------------------------------------------------

TIER_FORM = {"key": ["silver", "gold", ""], "threshold": ["50", "200", ""],
             "multiplier": ["1,5", "2", ""], "name_fr": ["Argent", "Or", ""],
             "name_en": ["Silver", "Gold", ""], "perk_fr": ["", "Café offert", ""],
             "perk_en": ["", "Free coffee", ""], "tier_measure": "points",
             "tier_period_months": "12"}


def test_the_ladder_preview_counts_accounts_per_tier_and_saves_nothing(app, office, shop):
    shop.now = NOW
    for spent in (6000, 25000, 100):                     # 60, 250, 1 points
        shop.sell(shop.customer(), spent)
    page = office("marketing").post("/admin/tiers/preview", TIER_FORM)
    assert page.status_code == 200, words(page)
    assert "Nothing was saved yet. Accounts per tier: silver 1 gold 1 No tier 1" in words(page)
    assert program().rules.get("tiers") is None
    assert field(page, "perk_en") == ""
    assert 'value="Free coffee"' in page.text


def test_marketing_sets_the_ladder_as_tiers_set_does_and_it_is_audited(app, office, shop):
    shop.now = NOW
    shop.sell(shop.customer(), 25000)
    user = office("marketing")
    page = user.post("/admin/tiers", {**TIER_FORM, "tier_lowered_by_returns": "on"})
    assert page.status_code == 302, words(page)
    assert "Ladder saved; accounts moved to a new tier: 1." in words(user.get("/admin/tiers"))
    rules = program().rules
    assert rules["tiers"][0] == {"key": "silver", "threshold": 50, "multiplier": "1.5",
                                 "names": {"fr": "Argent", "en": "Silver"}, "perks": {}}
    assert (rules["tier_period_months"], rules["tier_lowered_by_returns"]) == (12, True)
    assert offers_admin.tiers_page(program()).counts == {"gold": 1}
    [event] = events("tiers_set")
    assert (event.actor, event.before["tiers"], event.after["tiers"][1]["key"]) == (
        "staff:marketing", None, "gold")


@pytest.mark.parametrize(("change", "sentence"), [
    ({"threshold": ["50", "ten", ""]}, "The threshold of tier 2 is a whole number above 0."),
    ({"key": ["silver", "silver", ""]}, "Check the ladder: keys are lowercase words"),
    ({"multiplier": ["1.5", "11", ""]}, "Check the ladder"),
    ({"tier_period_months": "many"}, "The period is a whole number of months"),
])
def test_a_wrong_ladder_is_refused_whole(app, office, change, sentence):
    set_ladder()
    before = dict(program().rules)
    page = office("admin").post("/admin/tiers", {**TIER_FORM, **change})
    assert page.status_code == 422
    assert sentence in words(page)
    assert program().rules == before


# --- promotions ---------------------------------------------------------------------------------

def promotion_fields(**change: str) -> dict[str, str]:
    return {"title": "Les samedis, vos points comptent double", "body": "Tous les samedis.",
            "image_url": "https://cdn.example.com/saturday.png", "starts_date": "2026-03-01",
            "ends_date": "2026-03-31", **change}


def test_a_promotion_linked_to_a_campaign_shows_its_real_terms(app, office):
    campaign_id = make_campaign(program(), NOW, name="Samedis",
                                labels={"en": "Double points on Saturdays"}, weekdays=["sat"])
    user = office("marketing")
    assert f'<option value="{campaign_id}" selected>' in \
        user.get(f"/admin/promotions/new?campaign={campaign_id}").text
    page = user.post("/admin/promotions/new", promotion_fields(campaign_id=str(campaign_id)))
    assert page.status_code == 302, words(page)
    promotion = db.session.scalar(select(Promotion))
    shown = words(user.get(f"/admin/promotions/{promotion.id}"))
    assert ("The campaign it announces (its real terms) Campaign Samedis · Double points on "
            "Saturdays Runs 2026-03-01 00:00 – 2026-04-01 00:00") in shown
    assert "Gives × 2" in shown
    [phone] = phone_app.promotions(program(), NOW)
    assert (phone["title"], phone["campaign"]["id"]) == (promotion.title, campaign_id)
    [made] = events("promotion_created")
    assert made.after["campaign_id"] == campaign_id
    assert "Les samedis, vos points comptent double shown now 2026-03-01 2026-03-31 Samedis" \
        in words(user.get("/admin/promotions"))


@pytest.mark.parametrize(("change", "field_name"), [
    ({"image_url": "http://cdn.example.com/a.png"}, "image_url"),
    ({"image_url": "javascript:alert(1)"}, "image_url"),
    ({"title": "  "}, "title"), ({"ends_date": "2026-02-01"}, "ends"),
    ({"starts_date": "tomorrow"}, "starts"), ({"campaign_id": "12abc"}, "campaign_id"),
    ({"ends_date": "9999-12-31"}, "ends"),
])
def test_a_wrong_promotion_is_refused_beside_its_field(app, office, change, field_name):
    page = office("admin").post("/admin/promotions/new", promotion_fields(**change))
    assert page.status_code == 422
    assert f'<p class="field-error" id="{field_name}-error">' in page.text
    assert db.session.scalar(select(Promotion)) is None


def test_a_promotion_is_changed_then_ended_and_the_phone_stops_showing_it(app, office):
    promotion_id = offers_admin.create_promotion(
        program(), PromotionForm("Spring", "2026-03-01", "2026-03-31"), NOW, "tests")
    user = office("marketing")
    edit = user.get(f"/admin/promotions/{promotion_id}/edit")
    assert (field(edit, "title"), field(edit, "ends_date")) == ("Spring", "2026-03-31")
    saved = user.post(f"/admin/promotions/{promotion_id}/edit",
                      promotion_fields(title="Spring days", ends_date="2026-04-10"))
    assert saved.status_code == 302, words(saved)
    [changed] = events("promotion_changed")
    assert (changed.before["title"], changed.after["title"]) == ("Spring", "Spring days")
    assert changed.after["ends_at"] == "2026-04-10T22:00:00"
    assert [p["title"] for p in phone_app.promotions(program(), NOW)] == ["Spring days"]
    assert user.post(f"/admin/promotions/{promotion_id}/end").status_code == 302
    assert phone_app.promotions(program(), NOW) == []
    assert db.session.get(Promotion, promotion_id).ends_at == NOW
    [ended] = events("promotion_ended")
    assert (ended.before["ends_at"], ended.after["ends_at"]) == ("2026-04-10T22:00:00",
                                                                 NOW.isoformat())
    assert user.post(f"/admin/promotions/{promotion_id}/end").status_code == 409


def test_french_offers_pages(app, office):
    user = office("marketing", language="fr")
    assert "Nouvelle campagne" in words(user.get("/admin/campaigns/new"))
    assert "Promotions" in words(user.get("/admin/promotions"))
    page = user.post("/admin/campaigns/new", {**SATURDAYS_FOR_GOLD, "multiplier": "0"})
    assert page.status_code == 422
    assert "Le multiplicateur est un nombre supérieur à 1" in words(page)
