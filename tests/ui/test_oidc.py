"""Login through a real OpenID Provider (UI.md §2): npm oidc-provider on a free loopback port
with a client registered for the register, its own login page filled in by the browser, the code
exchanged with PKCE, the ID token checked, the claims mapped to the register's agency and roles.
Also: the development form is gone, an unknown agency or role is refused with a page that says
why, logout ends the session at the provider too, and every step is in the audit log."""

import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import BINARY, Server, check_page, free_port

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def provider_and_server():
    port, op_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    op = subprocess.Popen(
        ["node", str(HERE / "oidc_provider.mjs"), str(op_port), f"{base}/auth/callback",
         f"{base}/utloggad"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    issuer = f"http://127.0.0.1:{op_port}"
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration"):
                break
        except OSError:
            time.sleep(0.1)
    server = Server(
        port=port,
        SIG_OIDC_ISSUER=issuer,
        SIG_OIDC_CLIENT_ID="sig-register",
        SIG_OIDC_CLIENT_SECRET="only-for-the-tests",
        SIG_PUBLIC_URL=base,
    )
    yield issuer, server
    server.stop()
    op.terminate()
    op.wait(timeout=10)


def provider_login(page, login):
    """The provider's own login page, as a person fills it in (its page, its words)."""
    page.get_by_placeholder("Enter any login").fill(login)
    page.get_by_placeholder("and password").fill("whatever")
    page.get_by_role("button", name="Sign-in").click()


def test_login_through_the_provider_and_logout_there_too(context, provider_and_server):
    issuer, server = provider_and_server
    page = context.new_page()
    page.goto(f"{server.base}/arenden")
    # Not signed in: to /logga-in, which sends the browser on to the provider.
    page.wait_for_url(f"{issuer}/interaction/**")
    provider_login(page, "anna.oidc")
    page.wait_for_url(f"{server.base}/arenden")
    expect(page.get_by_role("heading", level=1, name="Ärenden")).to_be_visible()
    expect(page.get_by_text("Anna Lindqvist, Socialtjänsten Örebro kommun", exact=True)).to_be_visible()
    expect(page.get_by_text("Utvecklingsläge – inte för riktiga uppgifter")).to_have_count(0)
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["sig_session"]["httpOnly"] and cookies["sig_session"]["sameSite"] == "Strict"
    assert "sig_login" not in cookies, "the login transaction ends with the login"
    check_page(page, "oidc-cases")

    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(f"{issuer}/session/end**")
    # The provider asks whether to end its session too; yes.
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{server.base}/utloggad")
    expect(page.get_by_role("heading", level=1, name="Du är utloggad")).to_be_visible()
    check_page(page, "signed-out")
    page.goto(f"{server.base}/arenden")
    page.wait_for_url(f"{issuer}/interaction/**")  # the provider's session ended too

    # With a provider there are no development tokens: the log is read with the CLI.
    log = subprocess.run(
        [str(BINARY), "audit", "export", "--format", "ndjson"],
        env=server.env, capture_output=True, text=True, check=True,
    ).stdout
    assert '"action":"session.login"' in log and '"reason":"OpenID Connect login"' in log
    assert '"action":"session.logout"' in log
    assert "only-for-the-tests" not in log


def test_the_development_form_does_not_exist(context, provider_and_server):
    _, server = provider_and_server
    page = context.new_page()
    response = page.request.post(f"{server.base}/logga-in", form={
        "sub": "x", "name": "x", "agency": "socialtjanst-orebro", "roles": "social_secretary"})
    assert response.status == 404
    token = subprocess.run(
        [str(BINARY), "token", "--sub", "x", "--name", "x", "--agency",
         "socialtjanst-orebro", "--role", "social_secretary"],
        env=server.env, capture_output=True, text=True,
    )
    assert token.returncode != 0 and "SIG_OIDC_ISSUER" in token.stderr


@pytest.mark.parametrize("login, words", [
    ("okand.oidc", "Din verksamhet finns inte i SIG-registrets verksamhetsregister."),
    ("utan.roll", "Ditt konto har ingen roll som SIG-registret känner till."),
])
def test_an_unknown_agency_or_role_is_refused_with_a_page_that_says_why(
        context, provider_and_server, login, words):
    issuer, server = provider_and_server
    page = context.new_page()
    page.goto(f"{server.base}/logga-in")
    page.wait_for_url(f"{issuer}/interaction/**")
    provider_login(page, login)
    expect(page.get_by_role("heading", level=1, name="Inloggningen nekades")).to_be_visible()
    expect(page.get_by_text(words, exact=False)).to_be_visible()
    check_page(page, f"login-refused-{login.split('.')[0]}")
    assert not any(c["name"] == "sig_session" for c in context.cookies())
    log = subprocess.run([str(BINARY), "audit", "export"], env=server.env,
                         capture_output=True, text=True, check=True).stdout
    reason = "unknown agency" if login == "okand.oidc" else "unknown role"
    assert any('"action":"session.login"' in line and '"outcome":"denied"' in line
               and f'"reason":"{reason}"' in line and f'"sub":"{login}"' in line
               for line in log.splitlines())
    # Still not signed in: the provider's session sends the browser straight back, refused again.
    page.goto(f"{server.base}/arenden")
    expect(page.get_by_role("heading", level=1, name="Inloggningen nekades")).to_be_visible()
    assert not any(c["name"] == "sig_session" for c in context.cookies())


def test_a_forged_callback_is_refused(context, provider_and_server):
    _, server = provider_and_server
    page = context.new_page()
    response = page.goto(f"{server.base}/auth/callback?code=stolen&state=guessed")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1, name="Inloggningen nekades")).to_be_visible()
