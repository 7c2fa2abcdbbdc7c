"""Staff logins as an admin keeps them in the back office: created with a password the admin
types, role and store changed, deactivated and reactivated, a new password, two-factor reset.

Deactivation, a new password and a two-factor reset end every session of the login at once.
The program always keeps an active admin, and an admin never demotes or deactivates their own
login (another admin does). Every change is audited with the login before and after; a
password or its hash never is.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from pos_loyalty import audit, back_office_auth, programs, staff_auth
from pos_loyalty.db import db, retry_read, run_in_transaction
from pos_loyalty.errors import LastAdmin, NotFound, OwnLoginChange, ValidationFailed
from pos_loyalty.models import Program, Staff, StaffSession, Store
from pos_loyalty.models.program import STAFF_ROLES, TILL_ROLES
from pos_loyalty.security import app_hasher


@dataclass(frozen=True)
class StaffRow:
    staff: Staff
    store: Store | None

    @property
    def two_factor(self) -> bool:
        return self.staff.totp_secret is not None


def staff_list(program: Program) -> list[StaffRow]:
    """Every login of the program, by username, with its store."""
    def read() -> list[StaffRow]:
        rows = db.session.execute(
            select(Staff, Store).outerjoin(Store, Store.id == Staff.store_id)
            .where(Staff.program_id == program.id).order_by(Staff.username))
        return [StaffRow(staff, store) for staff, store in rows]
    return retry_read(read)


def staff_member(program: Program, staff_id: int) -> StaffRow:
    def read() -> StaffRow:
        staff = _staff(program, staff_id)
        store = db.session.get(Store, staff.store_id) if staff.store_id is not None else None
        return StaffRow(staff, store)
    return retry_read(read)


def stores(program: Program) -> list[Store]:
    """The stores a login may belong to."""
    return retry_read(lambda: staff_auth.stores_of(program))


def create_staff(program: Program, username: Any, role: Any, store_id: int | None,
                 password: Any, actor: str, now: dt.datetime) -> Staff:
    """A new login with the password the admin typed (8 characters or more). Only the till's
    roles belong to a store; the back office's own roles get none."""
    def work() -> Staff:
        if not isinstance(password, str):
            raise ValidationFailed("A password needs at least 8 characters.", field="password")
        staff = programs.create_staff(program, username, _role(role), password,
                                      _store_for(program, role, store_id), app_hasher())
        staff.created_at = now
        audit.record(program, actor, "staff_created", _target(staff), now,
                     after=_login_of(staff))
        return staff
    return run_in_transaction(work)


def change_role(program: Program, staff_id: int, role: Any, store_id: int | None,
                actor_id: int, actor: str, now: dt.datetime) -> Staff:
    """A login's new role and store; it takes effect at the login's next request."""
    def work() -> Staff:
        staff = _staff(program, staff_id)
        new_role = _role(role)
        _refuse_losing_an_admin(program, staff, actor_id, stays_admin=new_role == "admin")
        before = _login_of(staff)
        staff.role, staff.store_id = new_role, _store_for(program, new_role, store_id)
        if _login_of(staff) != before:
            audit.record(program, actor, "staff_updated", _target(staff), now, before=before,
                         after=_login_of(staff))
        return staff
    return run_in_transaction(work)


def set_active(program: Program, staff_id: int, active: bool, actor_id: int, actor: str,
               now: dt.datetime) -> Staff:
    """Deactivate a login (every session ends, its history stays) or reactivate it."""
    def work() -> Staff:
        staff = _staff(program, staff_id)
        if staff.active == active:
            return staff
        if active:
            staff_auth.set_active(staff, True)
            audit.record(program, actor, "staff_reactivated", _target(staff), now,
                         before={"active": False}, after={"active": True})
            return staff
        _refuse_losing_an_admin(program, staff, actor_id, stays_admin=False)
        sessions = _open_sessions(staff)
        staff_auth.set_active(staff, False)
        audit.record(program, actor, "staff_deactivated", _target(staff), now,
                     before={"active": True, "open_sessions": sessions},
                     after={"active": False, "open_sessions": 0})
        return staff
    return run_in_transaction(work)


def set_password(program: Program, staff_id: int, password: Any, actor: str,
                 now: dt.datetime) -> Staff:
    """A new password the admin typed; every session of the login ends."""
    def work() -> Staff:
        staff = _staff(program, staff_id)
        if not isinstance(password, str):
            raise ValidationFailed("A password needs at least 8 characters.", field="password")
        sessions = _open_sessions(staff)
        staff_auth.set_password(staff, password, app_hasher())
        audit.record(program, actor, "staff_password_set", _target(staff), now,
                     before={"open_sessions": sessions}, after={"open_sessions": 0})
        return staff
    return run_in_transaction(work)


def reset_two_factor(program: Program, staff_id: int, actor: str, now: dt.datetime) -> Staff:
    """Turn off a login's two-factor (a lost or stolen phone): its sessions end, and it sets
    two-factor up again at its next sign-in where admins must use it."""
    def work() -> Staff:
        staff = _staff(program, staff_id)
        if staff.totp_secret is None:
            return staff
        back_office_auth.turn_off_two_factor(program, staff, actor, now)
        staff_auth.end_sessions(staff)
        return staff
    return run_in_transaction(work)


def _refuse_losing_an_admin(program: Program, staff: Staff, actor_id: int, *,
                            stays_admin: bool) -> None:
    """The program keeps an active admin, and an admin never locks themselves out."""
    if staff.role != "admin" or not staff.active or stays_admin:
        return
    other_admins = db.session.scalar(select(func.count()).select_from(Staff).where(
        Staff.program_id == program.id, Staff.role == "admin", Staff.active.is_(True),
        Staff.id != staff.id))
    if not other_admins:
        raise LastAdmin()
    if staff.id == actor_id:
        raise OwnLoginChange()


def _staff(program: Program, staff_id: int) -> Staff:
    staff = db.session.get(Staff, staff_id)
    if staff is None or staff.program_id != program.id:
        raise NotFound(f"No staff login {staff_id} in this program.")
    return staff


def _role(role: Any) -> str:
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(STAFF_ROLES)}", field="role")
    return str(role)


def _store_for(program: Program, role: Any, store_id: int | None) -> int | None:
    """The login's store: for the till's roles only (checked to be the program's)."""
    if role not in TILL_ROLES or store_id is None:
        return None
    return programs.get_store(program, store_id).id


def _open_sessions(staff: Staff) -> int:
    return db.session.scalar(select(func.count()).select_from(StaffSession)
                             .where(StaffSession.staff_id == staff.id)) or 0


def _login_of(staff: Staff) -> dict[str, Any]:
    """What the audit keeps of a login: never its password, hash or two-factor secret."""
    return {"username": staff.username, "role": staff.role, "store_id": staff.store_id,
            "active": staff.active}


def _target(staff: Staff) -> str:
    return f"staff:{staff.id}"
