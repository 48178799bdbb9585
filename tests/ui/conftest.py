"""The browser tests' harness: one real server (the debug binary on SQLite, a fresh data
directory, a free loopback port) for the whole run, one Chromium per test file, tokens from
`sig-register token` for seeding through the API, and axe-core for the accessibility rules."""

import datetime
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "debug" / "sig-register"
SHOTS = ROOT / "target" / "ui-screenshots"
AXE = (Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js").read_text()
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def register_today():
    """Today as the register counts it: the date in Europe/Stockholm (API.md, DOMAIN.md), not the
    machine's — they differ for an hour or two around midnight."""
    return datetime.datetime.now(ZoneInfo("Europe/Stockholm")).date()


_GIVEN_PORTS = set()


def free_port():
    """A loopback port that was free and that no other server of this run was given: the
    kernel may hand a port out again as soon as the probe closes, and two servers told the same
    port would leave one test talking to the other's server."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port


class Server:
    def __init__(self, port=None, **settings):
        self.dir = tempfile.TemporaryDirectory(prefix="sig-ui-")
        port = port or free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.env = dict(
            os.environ,
            SIG_DATA_DIR=f"{self.dir.name}/data",
            SIG_DATABASE_URL=f"sqlite://{self.dir.name}/ui.db",
            SIG_BIND=f"127.0.0.1:{port}",
            SIG_POLICIES_DIR=str(ROOT / "policies"),
            SIG_LOG="warn",
        )
        self.env.update(settings)
        self.log = open(f"{self.dir.name}/serve.log", "w")
        self.process = subprocess.Popen(
            [str(BINARY), "serve"], env=self.env, stdout=self.log, stderr=self.log
        )
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{self.base}/readyz") as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not become ready")

    def token(self, sub, name, agency, role):
        out = subprocess.run(
            [str(BINARY), "token", "--sub", sub, "--name", name, "--agency", agency, "--role", role],
            env=self.env, capture_output=True, text=True, check=True,
        )
        return out.stdout.strip()

    def api(self, method, path, token, body=None, if_match=None):
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        request = urllib.request.Request(
            f"{self.base}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
        )
        with urllib.request.urlopen(request) as reply:
            return json.loads(reply.read() or b"null")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=15)
        self.log.close()
        self.dir.cleanup()


class PostgresCluster:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl on PATH) on a free port in a temporary
    directory, stopped and removed afterwards; as root, run by the `postgres` (or `nobody`)
    account, since PostgreSQL refuses to run as root."""

    def __init__(self):
        import pwd
        import shutil
        if not shutil.which("initdb") or not shutil.which("pg_ctl"):
            if os.environ.get("CI"):
                raise RuntimeError("CI must run the PostgreSQL browser tests: initdb is not on PATH")
            pytest.skip("initdb/pg_ctl are not on PATH")
        self.root = tempfile.mkdtemp(prefix="sig-ui-pg-")
        self.account = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.account = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            os.chown(self.root, self.account.pw_uid, self.account.pw_gid)
        self.data = f"{self.root}/cluster"
        self.run(["initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync"])
        self.port = free_port()
        self.run(["pg_ctl", "-D", self.data, "-l", f"{self.root}/postgres.log", "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c synchronous_commit=off", "start"])
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, command):
        def as_account():
            if self.account:
                os.setgid(self.account.pw_gid)
                os.setuid(self.account.pw_uid)
        subprocess.run(command, check=True, capture_output=True, preexec_fn=as_account,
                       env=dict(os.environ, LC_ALL="C", LANG="C"))

    def stop(self):
        import shutil
        try:
            self.run(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def any_server(request):
    """A server of its own on each backend, for the journeys that must pass on both."""
    if request.param == "sqlite":
        running = Server()
        yield running
        running.stop()
        return
    cluster = PostgresCluster()
    try:
        running = Server(SIG_DATABASE_URL=cluster.url)
        yield running
        running.stop()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def server():
    running = Server()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM") or "/usr/bin/chromium",
            args=["--no-sandbox"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    yield context
    context.close()


def axe_violations(page):
    """The WCAG 2.1 A/AA violations axe-core finds on the page as it stands."""
    page.evaluate(AXE)
    return page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
            .violations.map(v => `${v.id} (${v.nodes.length}): ${v.help}`)""",
        WCAG,
    )


def check_page(page, name):
    """No axe violation, and screenshots at 1280 and 320 px for a person to look at."""
    assert axe_violations(page) == [], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 320, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}-320.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def login(page, base, sub, name, agency_name, role_word):
    """The development login, as a person fills it in."""
    page.goto(f"{base}/logga-in")
    page.get_by_label("Användar-id").fill(sub)
    page.get_by_label("Namn").fill(name)
    page.get_by_label("Verksamhet").select_option(label=agency_name)
    page.get_by_role("checkbox", name=role_word).check()
    page.get_by_role("button", name="Logga in i utvecklingsläge").click()
