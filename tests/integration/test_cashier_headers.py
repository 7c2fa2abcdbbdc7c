"""Every page of the till carries its Content-Security-Policy, and none needs inline code."""
from __future__ import annotations

import html
import re
from pathlib import Path

from pos_loyalty import programs
from pos_loyalty.db import run_in_transaction
from pos_loyalty.security import app_hasher

TEMPLATES = Path(__file__).resolve().parents[2] / "cashier_ui" / "templates"
POLICY = ("default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
          "object-src 'none'")


def assert_protected(reply) -> None:
    assert reply.headers["Content-Security-Policy"] == POLICY
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["X-Frame-Options"] == "DENY"


def test_every_kind_of_till_page_carries_the_policy(till):
    run_in_transaction(lambda: programs.create_staff(
        till.program(), "camille", "cashier", "till-password", till.store_id, app_hasher()))
    client = till.app.test_client()
    login = client.get("/cashier/login")
    assert_protected(login)
    token = html.unescape(re.search(r'name="csrf_token" value="([^"]*)"', login.text).group(1))
    assert_protected(client.post("/cashier/login", data={
        "csrf_token": token, "username": "camille", "password": "till-password"}))
    assert_protected(client.get("/cashier/"))
    assert_protected(client.get("/cashier/manage"))           # 403 page
    assert_protected(client.get("/cashier/sales/999999"))     # 404 page
    script = client.get("/cashier/static/cashier.js")
    assert_protected(script)
    script.close()


def test_no_template_holds_inline_script_or_style():
    """What 'unsafe-inline' would be needed for: <script> without src, <style>, style="",
    onclick="" and the like, javascript: links."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:",
                        re.I)
    found = {path.name: inline.findall(path.read_text()) for path in TEMPLATES.rglob("*.html")}
    assert {name: hits for name, hits in found.items() if hits} == {}
    assert len(found) >= 10
