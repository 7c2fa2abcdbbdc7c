"""The "add to wallet" page a signed link opens, in French or English: the brand's name and
colours and one button per wallet. No script, no external file: its one style block is
allowed by its hash in the page's Content-Security-Policy.
"""
from __future__ import annotations

import base64
import hashlib

from flask import render_template_string, request
from markupsafe import Markup

from pos_loyalty.models import Account, Program
from pos_loyalty.notify.texts import language_of
from pos_loyalty.programs import settings
from pos_loyalty.wallet.colours import css_rgb, hex_rgb, readable_on

LANGUAGES = ("fr", "en")

WORDS = {
    "fr": {"title": "Votre carte {program}",
           "intro": "Gardez votre carte de fidélité dans votre téléphone : son solde se met à "
                    "jour après chaque achat.",
           "apple": "Ajouter à Apple Wallet", "google": "Enregistrer dans Google Wallet",
           "invalid_title": "Lien expiré",
           "invalid": "Ce lien n'est pas valable ou a expiré : demandez-en un nouveau en caisse.",
           "unavailable_title": "Bientôt disponible",
           "unavailable": "Cette carte ne peut pas encore être ajoutée à ce portefeuille."},
    "en": {"title": "Your {program} card",
           "intro": "Keep your loyalty card on your phone: its balance updates after every "
                    "purchase.",
           "apple": "Add to Apple Wallet", "google": "Save to Google Wallet",
           "invalid_title": "Link expired",
           "invalid": "This link is not valid or has expired: ask for a new one at the till.",
           "unavailable_title": "Coming soon",
           "unavailable": "This card cannot be added to this wallet yet."},
}

STYLE = ("body{{margin:0;font-family:-apple-system,system-ui,sans-serif;background:{background};"
         "color:{foreground};text-align:center}}main{{max-width:28rem;margin:0 auto;"
         "padding:3rem 1.5rem}}a.wallet{{display:block;margin:1rem 0;padding:.9rem;"
         "border-radius:.6rem;background:#000;color:#fff;text-decoration:none;"
         "font-weight:600}}")

PAGE = """<!doctype html>
<html lang="{{ language }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ title }}</title>
<style>{{ style }}</style>
</head>
<body>
<main>
<h1>{{ title }}</h1>
<p>{{ intro }}</p>
{% for href, label in buttons %}<a class="wallet" href="{{ href }}">{{ label }}</a>
{% endfor %}</main>
</body>
</html>
"""


def page_language(account_language: str | None, program_language: str) -> str:
    """The customer's own language, else their browser's, else the program's (French or
    English: the pass's languages)."""
    if account_language in LANGUAGES:
        return account_language
    return request.accept_languages.best_match(LANGUAGES) or (
        program_language if program_language in LANGUAGES else "en")


def wallet_page(program: Program, account: Account, apple_href: str,
                google_href: str) -> tuple[str, str]:
    """(the page's HTML, its Content-Security-Policy) for the account's link."""
    own = language_of(program, account) if account.locale else None
    language = page_language(own, language_of(program, None))
    words = WORDS[language]
    branding = program.branding or {}
    name = str(branding.get("app_name") or program.name)
    background = str(branding.get("primary_color")
                     or settings()["mobile"]["default_primary_color"])
    buttons = [(apple_href, words["apple"]), (google_href, words["google"])]
    return _render(language, words["title"].format(program=name), words["intro"], buttons,
                   background)


def error_page(problem: str) -> tuple[str, str]:
    """The page of a link that is not ours or has expired ("invalid"), or of a wallet the
    program does not offer yet ("unavailable"), in the browser's language."""
    language = page_language(None, settings()["program"]["locale"].split("_")[0])
    words = WORDS[language]
    return _render(language, words[f"{problem}_title"], words[problem], [],
                   settings()["mobile"]["default_primary_color"])


def _render(language: str, title: str, intro: str, buttons: list[tuple[str, str]],
            background_color: str) -> tuple[str, str]:
    background = hex_rgb(background_color)
    style = STYLE.format(background=css_rgb(background),
                         foreground=css_rgb(readable_on(background)))
    html = render_template_string(PAGE, language=language, title=title, intro=intro,
                                  buttons=buttons, style=Markup(style))  # our own text
    return html, content_security_policy(style)


def content_security_policy(style: str) -> str:
    """Nothing may load or run but the page's own style block."""
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")
