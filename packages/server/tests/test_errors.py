"""Every error answers ``{code, message, details}`` with the right status."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mlsmith.core import errors as core_errors
from mlsmith.core.testing.fakes.backends import fake_backends
from mlsmith.server.app import create_app
from mlsmith.server.errors import STATUS_BY_CODE
from mlsmith.server.security import permission
from mlsmith.server.testing import API, PASSWORD


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return body


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


def test_every_core_error_code_has_a_status():
    codes = {c.code for c in _all_subclasses(core_errors.MlsmithError)}
    assert codes <= set(STATUS_BY_CODE), codes - set(STATUS_BY_CODE)


def test_401_without_credentials_carries_www_authenticate(api):
    r = api.client.get(f"{API}/auth/me")
    assert_error(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"


def test_credentials_in_the_query_string_are_ignored(api, admin):
    token = admin["headers"]["Authorization"].split()[1]
    for name in ("access_token", "token", "api_key", "authorization"):
        r = api.client.get(f"{API}/auth/me", params={name: token})
        assert_error(r, 401, "unauthenticated")


def test_malformed_authorization_header_is_401(api):
    for value in ("Basic abc", "Bearer", "Bearer a b", "token", "Bearer " + "x" * 5000):
        r = api.client.get(f"{API}/auth/me", headers={"Authorization": value})
        assert_error(r, 401, "unauthenticated")


def test_403_for_a_non_admin_on_admin_routes(api, admin):
    api.register("bob@example.com")
    bob = api.headers("bob@example.com")
    for path in ("/admin/users", "/admin/stats", "/admin/logs"):
        assert_error(api.client.get(f"{API}{path}", headers=bob), 403, "permission_denied")


def test_404_for_unknown_route_and_unknown_object(api, admin):
    assert_error(api.client.get(f"{API}/no/such/route"), 404, "not_found")
    r = api.client.get(f"{API}/projects/prj_0000000000000000", headers=admin["headers"])
    body = assert_error(r, 404, "not_found")
    assert body["details"]["id"] == "prj_0000000000000000"


def test_405_for_a_wrong_method(api):
    r = api.client.post("/healthz")
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["allow"]


def test_409_for_a_duplicate(api, admin):
    ws = admin["workspace_id"]
    body = {"name": "churn"}
    assert api.client.post(f"{API}/workspaces/{ws}/projects", json=body, headers=admin["headers"])
    r = api.client.post(f"{API}/workspaces/{ws}/projects", json=body, headers=admin["headers"])
    assert_error(r, 409, "already_exists")


def test_413_when_content_length_exceeds_the_cap(make_api):
    api = make_api(max_body_bytes=1024)
    r = api.client.post(
        f"{API}/auth/login",
        content=b'{"email": "' + b"a" * 2000 + b'"}',
        headers={"content-type": "application/json"},
    )
    body = assert_error(r, 413, "payload_too_large")
    assert body["details"]["limit"] == 1024


def test_413_when_a_streamed_body_without_length_exceeds_the_cap(make_api):
    api = make_api(max_body_bytes=1024)

    def chunks():
        yield b'{"email": "'
        for _ in range(10):
            yield b"a" * 200
        yield b'"}'

    r = api.client.post(
        f"{API}/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    assert_error(r, 413, "payload_too_large")


def test_multipart_does_not_dodge_the_cap_on_json_routes(make_api):
    api = make_api(max_body_bytes=1024, max_upload_bytes=2048)
    r = api.client.post(
        f"{API}/auth/login", files={"f": ("x.csv", b"a" * (2 * 1024 * 1024), "text/csv")}
    )
    assert_error(r, 413, "payload_too_large")


def test_422_for_invalid_input_and_400_for_malformed_json(api, admin):
    r = api.client.post(f"{API}/auth/login", json={"email": "a@example.com"})
    body = assert_error(r, 422, "invalid_input")
    assert body["details"]["errors"][0]["loc"] == ["body", "password"]
    r = api.client.post(
        f"{API}/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(r, 400, "invalid_input")


def test_validation_errors_do_not_echo_the_input(api):
    secret = "my-secret-password-" + "x" * 2000  # over the schema's max length
    r = api.client.post(f"{API}/auth/login", json={"email": "a@example.com", "password": secret})
    assert_error(r, 422, "invalid_input")
    assert "my-secret-password" not in r.text


def test_page_size_above_the_cap_is_422(make_api):
    api = make_api(max_page_size=5)
    api.bootstrap()
    headers = api.headers("admin@example.com")
    ws = api.client.get(f"{API}/workspaces", headers=headers).json()[0]["id"]
    ok = api.client.get(f"{API}/workspaces/{ws}/projects?limit=5", headers=headers)
    assert ok.status_code == 200
    r = api.client.get(f"{API}/workspaces/{ws}/projects?limit=6", headers=headers)
    body = assert_error(r, 422, "invalid_input")
    assert body["details"]["max"] == 5
    assert_error(
        api.client.get(f"{API}/workspaces/{ws}/projects?limit=0", headers=headers),
        422,
        "invalid_input",
    )


def test_429_with_retry_after_after_repeated_failed_logins(make_api):
    api = make_api(login_max_failures=2)
    api.bootstrap()
    bad = {"email": "admin@example.com", "password": "wrong password here"}
    for _ in range(2):
        assert_error(api.client.post(f"{API}/auth/login", json=bad), 401, "unauthenticated")
    r = api.client.post(f"{API}/auth/login", json=bad)
    body = assert_error(r, 429, "throttled")
    assert int(r.headers["retry-after"]) >= 1
    assert body["details"]["retry_after_s"] >= 1
    # The right password is throttled too while the window lasts.
    good = {"email": "admin@example.com", "password": PASSWORD}
    assert_error(api.client.post(f"{API}/auth/login", json=good), 429, "throttled")


def test_unexpected_exception_is_a_generic_500_with_the_request_id():
    app = create_app(fake_backends(), start_worker=False)

    def boom() -> None:
        raise RuntimeError("secret internals: /var/lib/db password=hunter2")

    app.add_api_route("/boom", boom, dependencies=[permission("public")])
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/boom", headers={"X-Request-ID": "req-500-test"})
        body = assert_error(r, 500, "internal_error")
        assert "hunter2" not in r.text and "secret internals" not in r.text
        assert r.headers["x-request-id"] == "req-500-test"
    lines = app.state.log_buffer.tail(50)
    logged = [x for x in lines if x.get("event") == "unhandled_error"]
    assert logged and logged[-1]["request_id"] == "req-500-test"
    assert "RuntimeError" in logged[-1].get("exception", "")
    assert body["message"].startswith("internal server error")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (core_errors.BackendUnavailable("db down", retry_after_s=3), 503),
        (core_errors.ConfigError("MLSMITH_X=bad"), 500),
        (core_errors.IntegrityError("sha mismatch"), 409),
        (core_errors.Conflict("busy"), 409),
        (core_errors.PayloadTooLarge("big"), 413),
        (core_errors.UnsupportedMediaType("zip"), 415),
    ],
)
def test_core_errors_map_to_statuses(error, status):
    app = create_app(fake_backends(), start_worker=False)

    def fail() -> None:
        raise error

    app.add_api_route("/fail", fail, dependencies=[permission("public")])
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/fail")
    body = assert_error(r, status, error.code)
    if status == 503:
        assert r.headers["retry-after"] == "3"
    if error.code == "config_error":
        assert "MLSMITH_X" not in r.text  # logged, not shown
        assert body["details"] == {}
