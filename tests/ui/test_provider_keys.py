"""Keys straight from the identity provider: a real OpenID Provider (npm oidc-provider) issues
RFC 9068 access tokens with the client credentials grant; the register fetches its JWKS
(SIG_JWKS_URL, or the jwks_uri of discovery) as its Cache-Control says. The provider rotates its
key while tokens of both keys are in flight, and goes down while the register keeps verifying
with the last good keys and its readiness says so. No browser: the API only."""

import base64
import json
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import Server, free_port

HERE = Path(__file__).parent
AUDIENCE = "https://sig-register.example.se/api"


def new_key(kid):
    out = subprocess.run(["node", str(HERE / "oidc_keys_provider.mjs"), "new-key", kid],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


class KeyProvider:
    """oidc-provider on a fixed loopback port, started again to rotate its keys."""

    def __init__(self):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.dir = tempfile.TemporaryDirectory(prefix="sig-op-")
        self.process = None

    def start(self, keys):
        path = Path(self.dir.name) / "keys.json"
        path.write_text(json.dumps(keys))
        self.process = subprocess.Popen(
            ["node", str(HERE / "oidc_keys_provider.mjs"), "serve", str(self.port), str(path),
             AUDIENCE],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{self.issuer}/jwks"):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the provider did not start")

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def access_token(self):
        request = urllib.request.Request(
            f"{self.issuer}/token",
            data=b"grant_type=client_credentials&scope=api",
            headers={
                "Authorization": "Basic " + base64.b64encode(
                    b"polisens-system:only-for-the-tests").decode(),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        with urllib.request.urlopen(request) as reply:
            return json.load(reply)["access_token"]


def header_of(token):
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def areas(server, token):
    request = urllib.request.Request(f"{server.base}/api/v1/areas",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request) as reply:
            return reply.status, reply.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def readiness(server):
    try:
        with urllib.request.urlopen(f"{server.base}/readyz") as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def register_for(provider, **settings):
    return Server(
        SIG_JWT_ISSUER=provider.issuer,
        SIG_JWT_AUDIENCE=AUDIENCE,
        SIG_JWT_TYP="at+jwt",
        **settings,
    )


@pytest.fixture
def provider():
    running = KeyProvider()
    yield running
    running.stop()
    running.dir.cleanup()


def test_the_provider_rotates_its_key_with_tokens_of_both_in_flight(provider):
    old_key, new_key_ = new_key("sig-2026-11"), new_key("sig-2026-12")
    provider.start([old_key])
    server = register_for(provider, SIG_JWKS_URL=f"{provider.issuer}/jwks")
    try:
        # Ready only once the keys are fetched (at start, in the background).
        status, ready = readiness(server)
        assert status == 200 and ready["keys"]["source"] == "provider", ready
        assert ready["keys"]["status"] == "current" and ready["keys"]["count"] == 1, ready
        old = provider.access_token()
        assert header_of(old) == {"alg": "EdDSA", "typ": "at+jwt", "kid": "sig-2026-11"}
        assert areas(server, old)[0] == 200

        # Rotation: the provider comes back publishing its next key first, signs with it,
        # and still publishes the old one for the tokens already out.
        provider.stop()
        provider.start([new_key_, old_key])
        new = provider.access_token()
        assert header_of(new)["kid"] == "sig-2026-12"
        results = []

        def client(token, rounds):
            for _ in range(rounds):
                results.append((header_of(token)["kid"], areas(server, token)[0]))

        clients = [threading.Thread(target=client, args=(token, 10))
                   for token in (new, old, new, old)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=60)
        assert len(results) == 40
        assert {status for _, status in results} == {200}, results
        assert {kid for kid, _ in results} == {"sig-2026-11", "sig-2026-12"}
        status, ready = readiness(server)
        assert ready["keys"]["count"] == 2, ready

        # One changed character of the new key's signature: refused.
        parts = new.split(".")
        changed = "A" if parts[2][10] != "A" else "B"
        tampered = ".".join([parts[0], parts[1], parts[2][:10] + changed + parts[2][11:]])
        status, headers = areas(server, tampered)
        assert status == 401 and 'error_description="signature"' in headers["WWW-Authenticate"]
    finally:
        server.stop()


def test_the_provider_goes_down_and_the_last_good_keys_stay(provider):
    key = new_key("sig-2026-12")
    provider.start([key])
    # Keys found by OpenID discovery of the provider the web interface signs in at.
    server = register_for(
        provider,
        SIG_OIDC_ISSUER=provider.issuer,
        SIG_OIDC_CLIENT_ID="sig-register",
        SIG_PUBLIC_URL="http://127.0.0.1:9",
    )
    try:
        token = provider.access_token()
        assert areas(server, token)[0] == 200
        provider.stop()

        # Down: tokens it signed go on verifying with the keys already fetched.
        for _ in range(5):
            assert areas(server, token)[0] == 200
        # A key the register has not seen cannot be learnt meanwhile: the one fetch it is
        # allowed fails, the token is refused, and readiness says why — still ready.
        unknown = json.loads(json.dumps(header_of(token)))
        unknown["kid"] = "sig-2027-01"
        encoded = base64.urlsafe_b64encode(json.dumps(unknown).encode()).decode().rstrip("=")
        parts = token.split(".")
        status, headers = areas(server, ".".join([encoded, parts[1], parts[2]]))
        assert status == 401 and 'error_description="unknown key"' in headers["WWW-Authenticate"]
        status, ready = readiness(server)
        assert status == 200, ready
        assert ready["keys"]["status"] == "stale", ready
        assert str(provider.port) in ready["keys"]["last_error"], ready
        assert areas(server, token)[0] == 200
    finally:
        server.stop()
