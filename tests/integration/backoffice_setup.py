"""The back office over the Flask test client: staff of each role signed in, forms posted with
their CSRF token, the clock set by the test (two-factor codes are computed at that moment).

Import what a test module needs: `from backoffice_setup import office, staff_member`.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest

from pos_loyalty import programs, totp
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Staff
from pos_loyalty.security import app_hasher

PASSWORD = "office-password"
# A Monday, 11:00 in Paris: where the back office tests' clock starts.
NOW = dt.datetime(2026, 3, 9, 10, 0)


def words(page: Any) -> str:
    """The page as a person reads it: text without tags, spaces collapsed."""
    text = re.sub(r"<script.*?</script>|<svg.*?</svg>|<[^>]+>", " ", page.text, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(text)).replace("\u00a0", " ").replace("\u202f", " ")


def field(page: Any, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page.text)
    assert found, f"no field {name} on the page"
    return html.unescape(found.group(1))


def add_staff(username: str, role: str, store_id: int | None = None) -> int:
    return run_in_transaction(lambda: programs.create_staff(
        programs.default_program(), username, role, PASSWORD, store_id, app_hasher())).id


class OfficeUser:
    """One browser on /admin: signs in, keeps the CSRF token, posts forms."""

    def __init__(self, app: Any, username: str) -> None:
        self.app, self.username = app, username
        self.client = app.test_client()
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        page = self.client.get(path, **kwargs)
        self._keep_token()
        return page

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        self._keep_token()
        page = self.client.post(path, data={"csrf_token": self.token, **(data or {})},
                                **kwargs)
        self._keep_token()
        return page

    def _keep_token(self) -> None:
        with self.client.session_transaction() as session:
            self.token = (session.get("admin") or {}).get("csrf", "")

    def sign_in(self, password: str = PASSWORD, code: str | None = None,
                language: str = "en") -> Any:
        self.get("/admin/login")
        self.post("/admin/language", {"lang": language, "next": "/admin/login"})
        page = self.post("/admin/login", {"username": self.username, "password": password})
        if code is not None:
            page = self.post("/admin/login/code", {"code": code})
        return page

    def code_now(self, secret: str, moment: dt.datetime = NOW) -> str:
        return totp.code_at(secret, moment)


def turn_on_two_factor(username: str, secret: str) -> None:
    """Two-factor set up as the set-up page leaves it (the secret kept encrypted)."""
    def work() -> None:
        staff = db.session.scalar(db.select(Staff).where(Staff.username == username))
        staff.totp_secret = totp.encrypt_secret(secret)
    run_in_transaction(work)


@pytest.fixture
def office(app: Any) -> Any:
    """`office("support")`: a signed-in user of that role (named after it), clock at NOW."""
    app.extensions["pos_loyalty.clock"] = lambda: NOW
    made: dict[str, OfficeUser] = {}

    def signed_in(role: str, username: str | None = None, language: str = "en") -> OfficeUser:
        name = username or role
        if name not in made:
            add_staff(name, role)
        user = OfficeUser(app, name)
        page = user.sign_in(language=language)
        assert page.status_code == 302, words(page)
        made[name] = user
        return user
    return signed_in
