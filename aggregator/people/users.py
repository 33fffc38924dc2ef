"""Editor and admin accounts of the web app: adding them, checking passwords (argon2), roles and sign-in stamps."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, func, insert, select, update

from aggregator.db.schema import users
from aggregator.errors import AggregatorError

logger = logging.getLogger(__name__)
ROLES = ("editor", "admin")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 hashes any length; a cap keeps a huge body from costing CPU


class AccountError(AggregatorError):
    """An account could not be added or changed (bad email, weak password, unknown role, duplicate)."""

    hint = "check the email address, the role (editor or admin) and the password length"


class SignInError(AggregatorError):
    """Sign-in failed. One message for an unknown address, a wrong password and a deactivated account,
    so that the reply never tells whether an address has an account."""

    hint = ""

    def __init__(self) -> None:
        super().__init__("That email address and password do not match an active account. Check both and try again.")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    name: str
    role: str  # editor | admin
    active: bool
    last_login_at: datetime | None
    password_hash: str  # kept for the session fingerprint: a new password ends every other session

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def display_name(self) -> str:
        return self.name or self.email


class Passwords:
    """argon2id hashing with a dummy hash to verify against when the address is unknown (same cost, same reply)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash("not a password: equalises the time of a sign-in with an unknown address")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    """A normalised address, or AccountError with what is wrong."""
    email = normalise_email(email)
    if not email or len(email) > 320 or "@" not in email.strip("@") or any(c.isspace() for c in email):
        raise AccountError("enter an email address such as name@example.org")
    return email


def check_password(password: str, email: str = "") -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"the password is too short: use at least {MIN_PASSWORD} characters (a few unrelated words make a good one)"
        )
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password is too long: at most {MAX_PASSWORD} characters")
    if email and password.strip().lower() == normalise_email(email):
        raise AccountError("the password must not be the email address")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: choose editor or admin")
    return role


def _user(row) -> User:
    return User(row.id, row.email, row.name or "", row.role, bool(row.active), row.last_login_at, row.password_hash)


def add_user(
    conn: Connection, email: str, password: str, *, role: str, name: str = "", now: datetime, passwords: Passwords
) -> int:
    """A new account; raises AccountError for a bad address, weak password, unknown role or a duplicate."""
    email = check_email(email)
    check_password(password, email)
    check_role(role)
    if len(name) > 200:
        raise AccountError("the name is too long: at most 200 characters")
    if conn.execute(select(users.c.id).where(users.c.email == email)).first() is not None:
        raise AccountError(f"there is already an account for {email}")
    user_id = conn.execute(
        insert(users)
        .values(
            email=email,
            name=name.strip(),
            role=role,
            active=True,
            password_hash=passwords.hash(password),
            created_at=now,
        )
        .returning(users.c.id)
    ).scalar_one()
    logger.info("user added", extra={"user_id": user_id, "role": role})
    return user_id


def find_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).one_or_none()
    return _user(row) if row else None


def find_user_by_email(conn: Connection, email: str) -> User | None:
    row = conn.execute(select(users).where(users.c.email == normalise_email(email))).one_or_none()
    return _user(row) if row else None


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.active.desc(), users.c.email))]


def authenticate(conn: Connection, email: str, password: str, *, passwords: Passwords) -> User:
    """The active user with this address and password; SignInError otherwise (one message for every cause).
    A hash made with weaker parameters than today's is replaced."""
    user = find_user_by_email(conn, email) if len(password) <= MAX_PASSWORD else None
    ok = passwords.verify(user.password_hash if user else None, password[:MAX_PASSWORD])
    if user is None or not ok or not user.active:
        raise SignInError()
    if passwords.needs_rehash(user.password_hash):
        set_password(conn, user.id, password, passwords=passwords)
        user = find_user(conn, user.id) or user
    return user


def record_sign_in(conn: Connection, user_id: int, now: datetime) -> None:
    """Stamp the start of a new signed-in period; sessions from before it stop working (see web.auth)."""
    conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=now))


def set_password(conn: Connection, user_id: int, password: str, *, passwords: Passwords) -> None:
    email = conn.execute(select(users.c.email).where(users.c.id == user_id)).scalar_one()
    check_password(password, email)
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=passwords.hash(password)))


def set_role(conn: Connection, user_id: int, role: str) -> None:
    check_role(role)
    if role != "admin":
        _keep_an_admin(conn, user_id)
    conn.execute(update(users).where(users.c.id == user_id).values(role=role))


def set_active(conn: Connection, user_id: int, active: bool) -> None:
    if not active:
        _keep_an_admin(conn, user_id)
    conn.execute(update(users).where(users.c.id == user_id).values(active=active))


def _keep_an_admin(conn: Connection, user_id: int) -> None:
    """Refuse a change that would leave no active admin (nobody could manage sources, users or sending)."""
    others = conn.execute(
        select(func.count())
        .select_from(users)
        .where(users.c.role == "admin", users.c.active.is_(True), users.c.id != user_id)
    ).scalar_one()
    is_admin = conn.execute(select(users.c.role).where(users.c.id == user_id)).scalar_one() == "admin"
    if is_admin and others == 0:
        raise AccountError("this is the last active admin: make someone else an admin first")
