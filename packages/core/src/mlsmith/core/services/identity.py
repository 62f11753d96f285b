"""Accounts and sessions: bootstrap, registration, login, refresh-token rotation, logout, password.

Sessions are a short-lived JWT access token (claims ``sub``, ``typ="access"``, ``ver`` = the user's
``token_version``) plus an opaque refresh token. Refresh tokens are 256 random bits, stored as
SHA-256, grouped in a family that starts at login; every use rotates the token by compare-and-set
(ACTIVE -> ROTATED) and presenting a rotated token again revokes its family (a stolen copy and the
legitimate one both die). Bumping ``token_version`` (logout, password change, disabling) kills every
access token issued before.
"""

from __future__ import annotations

import logging
import secrets
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mlsmith.core.domain import (
    Membership,
    RefreshStatus,
    RefreshToken,
    Role,
    User,
    Workspace,
    new_id,
    utcnow,
)
from mlsmith.core.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from mlsmith.core.services import login_throttle
from mlsmith.core.services.credentials import (
    PASSWORD_MAX,
    aware,
    check_password,
    clean_name,
    normalize_email,
    sha256_hex,
)
from mlsmith.core.services.principals import ACCESS, Principal, signing_key

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

audit = logging.getLogger("mlsmith.audit")

# Written in the same transaction as the first user: a unique insert every store makes atomic,
# so of two concurrent bootstraps exactly one commits (a count alone is not atomic on Postgres).
BOOTSTRAP_MARKER = "bootstrap-done"
MAX_REFRESH_TOKEN_CHARS = 256
MAX_CLIENT_CHARS = 128
WORKSPACE_NAME_MAX = 100


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds of the access token
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


def setup_status(backends: Backends) -> dict:
    with backends.metadata.unit_of_work() as uow:
        bootstrapped = uow.users.count() > 0
    return {
        "bootstrapped": bootstrapped,
        "registration_enabled": bool(backends.settings.allow_registration),
    }


def bootstrap(
    backends: Backends, *, email: str, password: str, workspace_name: str, display_name: str = ""
) -> tuple[User, Workspace]:
    """The first platform admin and their workspace; possible only while no user exists."""
    email = normalize_email(email)
    check_password(password)
    display_name = clean_name(display_name, what="display name", empty_ok=True)
    workspace_name = clean_name(workspace_name, what="workspace name", max_len=WORKSPACE_NAME_MAX)
    user = User(
        email=email,
        password_hash=backends.auth.hash_password(password),
        display_name=display_name,
        is_admin=True,
    )
    with backends.metadata.unit_of_work() as uow:
        if uow.users.count() > 0:
            raise Conflict("the platform is already set up")
        try:
            uow.keys.add(BOOTSTRAP_MARKER, user.id.encode())
        except AlreadyExists:
            raise Conflict("the platform is already set up") from None
        uow.users.add(user)
        try:  # the embedded library may have made it already; nobody can own it yet
            ws = uow.workspaces.get_by_name(workspace_name)
        except NotFound:
            ws = Workspace(name=workspace_name)
            uow.workspaces.add(ws)
        uow.memberships.add(Membership(workspace_id=ws.id, user_id=user.id, role=Role.ADMIN))
    audit.info("bootstrap: first admin %s created workspace %s", user.id, ws.id)
    return user, ws


def register(backends: Backends, *, email: str, password: str, display_name: str = "") -> User:
    if not backends.settings.allow_registration:
        raise PermissionDenied("self-registration is disabled on this platform")
    email = normalize_email(email)
    check_password(password)
    display_name = clean_name(display_name, what="display name", empty_ok=True)
    user = User(
        email=email,
        password_hash=backends.auth.hash_password(password),
        display_name=display_name,
    )
    with backends.metadata.unit_of_work() as uow:
        if uow.users.count() == 0:
            raise Conflict("the platform is not set up yet; bootstrap it first")
        uow.users.add(user)  # AlreadyExists when the email is taken
    return user


def login(backends: Backends, *, email: str, password: str, client: str) -> TokenPair:
    """Throttled per account and per client address (see ``login_throttle``: per process)."""
    email = normalize_email(email)
    if not isinstance(password, str) or len(password) > PASSWORD_MAX:
        raise InvalidInput(f"password must be at most {PASSWORD_MAX} characters long")
    account = login_throttle.account_key(email)
    address = login_throttle.client_key(_client(client))
    throttle = login_throttle.for_backends(backends)
    throttle.check(account, address)
    with backends.metadata.unit_of_work() as uow:
        try:
            user: User | None = uow.users.get_by_email(email)
        except NotFound:
            user = None
    if user is None:
        backends.auth.verify_password(_dummy_hash(backends), password)  # same cost as a real one
        ok = False
    else:
        ok = backends.auth.verify_password(user.password_hash, password)
    if not ok or user is None:
        throttle.failure(account, address)
        raise Unauthenticated("invalid email or password")
    if user.disabled:
        raise Unauthenticated("this account is disabled")
    throttle.reset(account)
    rehashed = (
        backends.auth.hash_password(password)
        if backends.auth.needs_rehash(user.password_hash)
        else None
    )
    with backends.metadata.unit_of_work() as uow:
        fresh = uow.users.get(user.id)  # re-read: keep a concurrent token_version bump
        if rehashed and fresh.password_hash == user.password_hash:
            fresh.password_hash = rehashed
        fresh.last_login_at = utcnow()
        uow.users.save(fresh)
    return _issue(backends, fresh)


def refresh(backends: Backends, refresh_token: str) -> TokenPair:
    if not isinstance(refresh_token, str) or not 0 < len(refresh_token) <= MAX_REFRESH_TOKEN_CHARS:
        raise Unauthenticated("invalid refresh token")
    digest = sha256_hex(refresh_token)
    now = utcnow()
    outcome, user, new_plain = "invalid", None, ""
    with backends.metadata.unit_of_work() as uow:
        try:
            rt = uow.refresh_tokens.get_by_hash(digest)
        except NotFound:
            rt = None
        if rt is None or rt.status == RefreshStatus.REVOKED:
            outcome = "invalid"
        elif rt.status == RefreshStatus.ROTATED:
            uow.refresh_tokens.revoke_family(rt.family_id)
            outcome = "reuse"
        elif now >= aware(rt.expires_at) or now >= aware(rt.family_expires_at):
            outcome = "expired"
        else:
            try:
                user = uow.users.get(rt.user_id)
            except NotFound:
                user = None
            if user is None or user.disabled:
                uow.refresh_tokens.revoke_family(rt.family_id)
                outcome = "invalid"
            elif not uow.refresh_tokens.mark(rt.id, RefreshStatus.ACTIVE, RefreshStatus.ROTATED):
                # Someone rotated it between our read and our write: that is a reuse too.
                uow.refresh_tokens.revoke_family(rt.family_id)
                outcome = "reuse"
            else:
                new_plain = _add_refresh(
                    uow, backends, user.id, rt.family_id, aware(rt.family_expires_at), now
                )
                outcome = "ok"
    # Raised only now: the revocations above must commit, not roll back with the error.
    if outcome == "reuse":
        audit.warning("refresh token reuse: family %s of user %s revoked", rt.family_id, rt.user_id)
        raise Unauthenticated("refresh token reused; the session was revoked")
    if outcome == "expired":
        raise Unauthenticated("refresh token expired")
    if outcome != "ok" or user is None:
        raise Unauthenticated("invalid refresh token")
    return TokenPair(
        access_token=_access_token(backends, user),
        refresh_token=new_plain,
        expires_in=backends.settings.access_token_ttl_s,
    )


def logout(backends: Backends, principal: Principal, refresh_token: str | None = None) -> None:
    """Revoke the session's refresh family (every refresh token of the user when none is given)
    and bump ``token_version`` so that earlier access tokens die."""
    with backends.metadata.unit_of_work() as uow:
        if refresh_token:
            try:
                rt = uow.refresh_tokens.get_by_hash(sha256_hex(refresh_token[:1024]))
            except NotFound:
                rt = None
            if rt is not None and rt.user_id == principal.user.id:
                uow.refresh_tokens.revoke_family(rt.family_id)
        else:
            uow.refresh_tokens.revoke_user(principal.user.id)
        _bump_token_version(uow, principal.user.id)
    audit.info("logout: user %s", principal.user.id)


def change_password(backends: Backends, principal: Principal, old: str, new: str) -> None:
    """Needs the current password (throttled like login, per account); invalidates every token."""
    check_password(new, field="new password")
    if not isinstance(old, str) or len(old) > PASSWORD_MAX:
        raise InvalidInput(f"password must be at most {PASSWORD_MAX} characters long")
    account = login_throttle.account_key(principal.user.email)
    throttle = login_throttle.for_backends(backends)
    throttle.check(account)
    with backends.metadata.unit_of_work() as uow:
        current = uow.users.get(principal.user.id)
    if not backends.auth.verify_password(current.password_hash, old):
        throttle.failure(account)
        raise PermissionDenied("the current password is incorrect")
    new_hash = backends.auth.hash_password(new)
    with backends.metadata.unit_of_work() as uow:
        user = uow.users.get(principal.user.id)
        user.password_hash = new_hash
        user.token_version += 1
        uow.users.save(user)
        uow.refresh_tokens.revoke_user(user.id)
    audit.info("password changed: user %s", principal.user.id)


def revoke_all_sessions(uow, user_id: str) -> None:
    """Inside a unit of work: every refresh token and every access token of the user dies."""
    uow.refresh_tokens.revoke_user(user_id)
    _bump_token_version(uow, user_id)


# -- helpers ----------------------------------------------------------------------------------


def _bump_token_version(uow, user_id: str) -> None:
    user = uow.users.get(user_id)
    user.token_version += 1
    uow.users.save(user)


def _client(client: str) -> str:
    value = (client or "").strip()[:MAX_CLIENT_CHARS]
    return value or "unknown"


def _access_token(backends: Backends, user: User) -> str:
    claims = {"sub": user.id, "typ": ACCESS, "ver": user.token_version}
    return backends.auth.issue_token(
        claims, signing_key(backends), backends.settings.access_token_ttl_s
    )


def _add_refresh(
    uow, backends: Backends, user_id: str, family_id: str, family_expires: datetime, now: datetime
) -> str:
    plain = secrets.token_urlsafe(32)  # 256 bits
    idle = now + timedelta(seconds=backends.settings.refresh_idle_ttl_s)
    uow.refresh_tokens.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id,
            token_hash=sha256_hex(plain),
            expires_at=min(idle, family_expires),
            family_expires_at=family_expires,
        )
    )
    return plain


def _issue(backends: Backends, user: User) -> TokenPair:
    """A new session: a new refresh family and an access token."""
    now = utcnow()
    family_expires = now + timedelta(seconds=backends.settings.refresh_absolute_ttl_s)
    with backends.metadata.unit_of_work() as uow:
        plain = _add_refresh(uow, backends, user.id, new_id("rtf"), family_expires, now)
    return TokenPair(
        access_token=_access_token(backends, user),
        refresh_token=plain,
        expires_in=backends.settings.access_token_ttl_s,
    )


_dummy_hashes: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
_dummy_lock = threading.Lock()


def _dummy_hash(backends: Backends) -> str:
    """A hash of a random password made by this auth provider (same parameters, same cost)."""
    with _dummy_lock:
        h = _dummy_hashes.get(backends.auth)
    if h is None:
        h = backends.auth.hash_password(secrets.token_urlsafe(24))
        with _dummy_lock:
            _dummy_hashes.setdefault(backends.auth, h)
    return h
