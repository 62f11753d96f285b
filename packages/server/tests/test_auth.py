"""Setup, sessions, tokens and API keys over HTTP."""

from __future__ import annotations

import json
import time

from mlsmith.core.services.principals import signing_key
from mlsmith.server.testing import API, PASSWORD, b64url, b64url_decode, make_jwt


def me(api, token: str):
    return api.client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_bootstrap_works_once_and_setup_status_follows(api):
    assert api.client.get(f"{API}/setup/status").json() == {
        "bootstrapped": False,
        "registration_enabled": True,
    }
    out = api.bootstrap()
    assert out["user"]["is_admin"] is True
    assert "password" not in json.dumps(out) and "hash" not in json.dumps(out)
    assert api.client.get(f"{API}/setup/status").json()["bootstrapped"] is True
    again = api.client.post(
        f"{API}/setup/bootstrap",
        json={"email": "evil@example.com", "password": PASSWORD, "workspace_name": "x"},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    bad = api.client.post(
        f"{API}/auth/login", json={"email": "evil@example.com", "password": PASSWORD}
    )
    assert bad.status_code == 401


def test_bootstrap_refuses_a_weak_password(api):
    r = api.client.post(
        f"{API}/setup/bootstrap",
        json={"email": "a@example.com", "password": "short", "workspace_name": "w"},
    )
    assert r.status_code == 422
    assert api.client.get(f"{API}/setup/status").json()["bootstrapped"] is False


def test_registration_disabled_by_config_is_403(make_api):
    api = make_api(allow_registration=False)
    api.bootstrap()
    r = api.client.post(
        f"{API}/auth/register", json={"email": "b@example.com", "password": PASSWORD}
    )
    assert r.status_code == 403


def test_login_me_refresh_and_reused_refresh_token_revokes_family(api, admin):
    pair = api.login("admin@example.com")
    assert pair["token_type"] == "bearer" and pair["expires_in"] > 0
    body = me(api, pair["access_token"]).json()
    assert body["user"]["email"] == "admin@example.com"
    assert body["via"] == "token"
    assert [w["id"] for w in body["workspaces"]] == [admin["workspace_id"]]

    r = api.client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 200
    rotated = r.json()
    assert rotated["refresh_token"] != pair["refresh_token"]
    assert me(api, rotated["access_token"]).status_code == 200

    reuse = api.client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reuse.status_code == 401
    assert reuse.headers["www-authenticate"] == "Bearer"
    # The whole family died, the legitimate newer token included.
    newer = api.client.post(f"{API}/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert newer.status_code == 401


def test_logout_kills_earlier_access_tokens_and_the_refresh_token(api, admin):
    pair = api.login("admin@example.com")
    h = {"Authorization": f"Bearer {pair['access_token']}"}
    r = api.client.post(
        f"{API}/auth/logout", json={"refresh_token": pair["refresh_token"]}, headers=h
    )
    assert r.status_code == 204
    assert me(api, pair["access_token"]).status_code == 401
    r = api.client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 401


def test_password_change_ends_sessions_and_the_new_password_works(api, admin):
    new = "an entirely new passphrase"
    r = api.client.post(
        f"{API}/auth/password",
        json={"old_password": PASSWORD, "new_password": new},
        headers=admin["headers"],
    )
    assert r.status_code == 204
    assert api.client.get(f"{API}/auth/me", headers=admin["headers"]).status_code == 401
    assert api.login("admin@example.com", new)["access_token"]


def test_tampered_token_is_401(api, admin):
    token = admin["headers"]["Authorization"].split()[1]
    head, body, sig = token.split(".")
    claims = json.loads(b64url_decode(body))
    claims["sub"] = "usr_someone_else"
    forged = f"{head}.{b64url(json.dumps(claims).encode())}.{sig}"
    assert me(api, forged).status_code == 401
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert me(api, flipped).status_code == 401


def _claims(admin, **changes) -> dict:
    now = int(time.time())
    base = {
        "sub": admin["user_id"],
        "typ": "access",
        "ver": 0,
        "iss": "mlsmith",
        "aud": "mlsmith",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
    }
    return {**base, **changes}


def test_hand_signed_token_with_the_platform_key_is_accepted(api, admin):
    # Guards the negative tests below: the helper makes tokens the server accepts when valid.
    key = signing_key(api.backends)
    token = make_jwt({"alg": "HS256", "typ": "JWT"}, _claims(admin), key)
    assert me(api, token).status_code == 200


def test_expired_token_is_401(api, admin):
    key = signing_key(api.backends)
    past = int(time.time()) - 3600
    token = make_jwt({"alg": "HS256", "typ": "JWT"}, _claims(admin, iat=past - 900, exp=past), key)
    r = me(api, token)
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"


def test_alg_none_token_is_401(api, admin):
    token = make_jwt({"alg": "none", "typ": "JWT"}, _claims(admin), None)
    assert me(api, token).status_code == 401
    token = make_jwt({"alg": "None", "typ": "JWT"}, _claims(admin), None)
    assert me(api, token).status_code == 401


def test_token_signed_with_another_key_is_401(api, admin):
    token = make_jwt({"alg": "HS256", "typ": "JWT"}, _claims(admin), b"k" * 32)
    assert me(api, token).status_code == 401


def test_api_key_is_shown_once_usable_as_bearer_and_stored_only_hashed(api, admin):
    r = api.client.post(f"{API}/api-keys", json={"name": "ci"}, headers=admin["headers"])
    assert r.status_code == 201
    created = r.json()
    plaintext = created["key"]
    assert plaintext.startswith("mls_")
    assert created["key_id"] in plaintext

    r = me(api, plaintext)
    assert r.status_code == 200 and r.json()["via"] == "api_key"

    listing = api.client.get(f"{API}/api-keys", headers=admin["headers"])
    assert listing.status_code == 200
    assert plaintext not in listing.text
    assert [k["key_id"] for k in listing.json()] == [created["key_id"]]
    secret_part = plaintext.split("_")[2]
    with api.backends.metadata.unit_of_work() as uow:
        stored = uow.api_keys.list_for_user(admin["user_id"])
    assert len(stored) == 1
    assert plaintext not in repr(stored) and secret_part not in repr(stored)

    r = api.client.delete(f"{API}/api-keys/{created['key_id']}", headers=admin["headers"])
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert me(api, plaintext).status_code == 401


def test_api_key_cannot_mint_api_keys(api, admin):
    plaintext = api.client.post(
        f"{API}/api-keys", json={"name": "ci"}, headers=admin["headers"]
    ).json()["key"]
    r = api.client.post(
        f"{API}/api-keys", json={"name": "more"}, headers={"Authorization": f"Bearer {plaintext}"}
    )
    assert r.status_code == 403


def test_mistyped_api_key_is_401(api, admin):
    plaintext = api.client.post(
        f"{API}/api-keys", json={"name": "ci"}, headers=admin["headers"]
    ).json()["key"]
    typo = plaintext[:-1] + ("0" if plaintext[-1] != "0" else "1")
    assert me(api, typo).status_code == 401


def test_disabled_user_loses_access_at_once(api, admin):
    bob = api.register("bob@example.com")
    bob_headers = api.headers("bob@example.com")
    assert api.client.get(f"{API}/auth/me", headers=bob_headers).status_code == 200
    r = api.client.patch(
        f"{API}/admin/users/{bob['id']}", json={"disabled": True}, headers=admin["headers"]
    )
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert api.client.get(f"{API}/auth/me", headers=bob_headers).status_code == 401
    users = api.client.get(f"{API}/admin/users", headers=admin["headers"]).json()
    assert {u["email"] for u in users["items"]} == {"admin@example.com", "bob@example.com"}
