"""Production starts only from what the operator chose: the program's identity, a real SMS
sender. Development keeps its one-command start (the demo's program, the console sender)."""
import pytest
from sqlalchemy import select

from pos_loyalty.db import db
from pos_loyalty.models import Program

IDENTITY = ["--name", "Boulangerie Pâtissière Martin", "--currency", "chf",
            "--timezone", "Europe/Zurich", "--locale", "fr-CH"]


@pytest.fixture
def production(app):
    app.config["LOYALTY"]["service"]["env"] = "production"
    return app


def saved_programs() -> list[tuple[str, str, str, str, str]]:
    db.session.expire_all()
    found = [(p.slug, p.name, p.currency, p.timezone, p.locale)
             for p in db.session.scalars(select(Program).order_by(Program.id))]
    db.session.rollback()   # the next command runs in an app context (a session) of its own
    return found


def test_production_init_refuses_without_the_program_s_identity(production, runner):
    result = runner.invoke(args=["init", "--name", "Boulangerie Martin", "--currency", "EUR"])
    assert result.exit_code == 2
    assert "missing --timezone, --locale" in result.output
    assert "--timezone Europe/Paris --locale fr_FR" in result.output   # says how
    assert saved_programs() == []


def test_production_init_creates_the_program_it_is_told(production, runner):
    result = runner.invoke(args=["init", *IDENTITY])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "boulangerie-patissiere-martin"
    assert saved_programs() == [("boulangerie-patissiere-martin",
                                 "Boulangerie Pâtissière Martin", "CHF", "Europe/Zurich",
                                 "fr_CH")]
    again = runner.invoke(args=["init"])            # the next deploy: nothing to ask
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1] == "boulangerie-patissiere-martin"
    assert len(saved_programs()) == 1


@pytest.mark.parametrize("option, value, field", [
    ("--currency", "EUX", "ISO 4217"),
    ("--currency", "euros", "ISO 4217"),
    ("--timezone", "Europe/Lyon", "IANA time zone"),
    ("--timezone", "../../etc/passwd", "IANA time zone"),
    ("--locale", "xx_YY", "locale Babel knows"),
    ("--name", "   ", "missing --name"),
])
def test_init_refuses_an_unknown_currency_time_zone_or_locale(production, runner, option,
                                                              value, field):
    arguments = list(IDENTITY)
    arguments[arguments.index(option) + 1] = value
    result = runner.invoke(args=["init", *arguments])
    assert result.exit_code == 2
    assert field in result.output
    assert saved_programs() == []


def test_development_init_still_makes_the_demo_program(runner):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert saved_programs() == [("demo", "Demo Boulangerie", "EUR", "Europe/Paris", "fr_FR")]


def test_development_init_takes_the_options_it_is_given(runner):
    result = runner.invoke(args=["init", "--name", "Café Lumière", "--timezone", "America/Montreal"])
    assert result.exit_code == 0, result.output
    assert saved_programs() == [("cafe-lumiere", "Café Lumière", "EUR", "America/Montreal",
                                 "fr_FR")]


def test_a_program_can_be_renamed_and_keeps_its_slug(runner, client):
    runner.invoke(args=["init"])
    result = runner.invoke(args=["programs", "rename", "demo", "  Boulangerie   Martin "])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "demo"
    assert saved_programs()[0][:2] == ("demo", "Boulangerie Martin")
    key = runner.invoke(args=["programs", "app-key"]).output.strip().splitlines()[-1]
    branding = client.get("/api/mobile/v1/branding", headers={"X-App-Key": key}).get_json()
    assert branding["program"]["name"] == "Boulangerie Martin"


def test_renaming_an_unknown_program_or_to_nothing_is_refused(runner):
    runner.invoke(args=["init"])
    unknown = runner.invoke(args=["programs", "rename", "nope", "Boulangerie Martin"])
    assert unknown.exit_code == 2 and "No program 'nope'" in unknown.output
    empty = runner.invoke(args=["programs", "rename", "demo", " "])
    assert empty.exit_code == 2 and "needs a name" in empty.output
    assert saved_programs()[0][1] == "Demo Boulangerie"


@pytest.fixture
def no_twilio(app, monkeypatch):
    for variable in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM",
                     "TWILIO_MESSAGING_SERVICE_SID"):
        monkeypatch.delenv(variable, raising=False)
    app.config["LOYALTY"]["sms"].update(twilio_account_sid="", twilio_auth_token="",
                                        twilio_from="", twilio_messaging_service_sid="")


def test_production_worker_without_twilio_refuses_to_start(production, no_twilio, runner):
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 2
    assert "cannot start" in result.output and "TWILIO_ACCOUNT_SID" in result.output
    assert "--console" not in result.output      # no development hint in production


def test_production_worker_refuses_the_console_sender(production, no_twilio, runner):
    result = runner.invoke(args=["worker", "--once", "--console"])
    assert result.exit_code == 2
    assert "refused in production" in result.output


def test_development_worker_needs_twilio_or_the_console_flag(no_twilio, runner):
    refused = runner.invoke(args=["worker", "--once"])
    assert refused.exit_code == 2 and "worker --console" in refused.output
    allowed = runner.invoke(args=["worker", "--once", "--console"])
    assert allowed.exit_code == 0, allowed.output
    assert "console sender" in allowed.output


def test_a_twilio_account_without_an_origin_is_refused(no_twilio, app, runner):
    app.config["LOYALTY"]["sms"].update(twilio_account_sid="AC" + "0" * 32,
                                        twilio_auth_token="token")
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 2
    assert "missing TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM" in result.output


def test_production_commands_before_init_never_make_the_demo_program(production, runner):
    result = runner.invoke(args=["stores", "create", "Lyon"])
    assert result.exit_code != 0
    assert "run `pos-loyalty init --name" in result.output
    assert saved_programs() == []


def test_development_commands_still_start_on_the_demo_program(app, runner):
    result = runner.invoke(args=["stores", "create", "Lyon"])
    assert result.exit_code == 0, result.output
    assert [name for _, name, *_ in saved_programs()] == ["Demo Boulangerie"]
