"""Many phones at once: parallel guesses cannot pass the code's limit, a refresh token works once."""
from __future__ import annotations

import threading

from sqlalchemy import select

from mobile_app import PREFIX, MobileApp, mobile, new_phone  # noqa: F401
from pos_loyalty.db import db
from pos_loyalty.models import OneTimeCode

THREADS = 12


def post_together(mobile: MobileApp, path: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    """Send every request at the same moment, each from its own thread and DB session."""
    db.session.remove()  # the test's own session must not hold SQLite's write lock
    barrier = threading.Barrier(len(bodies))
    replies: list = [None] * len(bodies)

    def send(index: int, body: dict) -> None:
        with mobile.app.app_context():
            client = mobile.app.test_client()
            barrier.wait()
            reply = client.post(PREFIX + path, json=body, headers={"X-App-Key": mobile.app_key})
            replies[index] = (reply.status_code, reply.get_json())
            db.session.remove()

    threads = [threading.Thread(target=send, args=(i, body)) for i, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return replies


def test_parallel_wrong_codes_never_pass_five_attempts(mobile: MobileApp):
    phone = new_phone()
    mobile.post("/auth/register", {"phone": phone})
    code = mobile.last_code(phone)
    wrong = "000000" if code != "000000" else "111111"
    replies = post_together(mobile, "/auth/verify",
                            [{"phone": phone, "code": wrong, "pin": "1234"}] * THREADS)
    codes = sorted(body["error"]["code"] for _, body in replies)
    assert codes == ["invalid_code"] * 5 + ["too_many_attempts"] * (THREADS - 5)
    db.session.expire_all()
    assert db.session.scalar(select(OneTimeCode.attempts)
                             .where(OneTimeCode.phone_e164 == phone)) == 5


def test_a_refresh_token_sent_twice_at_once_wins_once_and_ends_the_session(mobile: MobileApp):
    customer = mobile.register()
    replies = post_together(mobile, "/auth/refresh",
                            [{"refresh_token": customer.refresh_token}] * THREADS)
    statuses = sorted(status for status, _ in replies)
    assert statuses == [200] + [401] * (THREADS - 1)
    refused = [body["error"]["code"] for status, body in replies if status == 401]
    # The first loser finds the token used and ends the session; later ones find it ended.
    assert "token_reused" in refused and set(refused) <= {"token_reused", "invalid_token"}
    winner = next(body for status, body in replies if status == 200)
    assert mobile.get("/me", winner["access_token"]).status_code == 401
