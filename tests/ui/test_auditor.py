"""UI.md §5.3, the auditor's journey, end to end in Chromium on SQLite and on PostgreSQL: log in
→ "Logg" finds the police officer's reads of the case, filtered by user, and an export link
downloads exactly the events the search shows → "Avvikelser" shows the refused attempt after
the revocation → "Loggutdrag" for the case lists the police's reads and the refusal (printed to
PDF) → a "Ny logguppföljning" is recorded and listed. No page the auditor opens holds the young
person's name, not even in its source. And the administrator's registry, "Verksamheter"."""

import datetime
import json
import re
import urllib.error

from playwright.sync_api import expect

from conftest import SHOTS, check_page, login, register_today
from test_pages import SOCIAL, personal_number

TODAY = register_today()
YOUTH = ("Aurelia", "Granskningsdotter")


def seed(server):
    """A case the police read twice under consent; then the young person revokes and the
    police's next read is refused."""
    owner = server.token("ss-anna", "Anna Lindqvist", "socialtjanst-orebro", "social_secretary")
    police = server.token("po-per", "Per Polis", "polisen-orebro", "police_officer")
    case = server.api("POST", "/api/v1/cases", owner, {
        "area": "vivalla",
        "youth": {"personal_number": personal_number(19), "given_name": YOUTH[0],
                  "family_name": YOUTH[1]},
        "guardians": [],
    })
    decided = {"decision": "given", "method": "written", "decided_on": TODAY.isoformat()}
    consent = server.api("POST", f"/api/v1/cases/{case['id']}/consents", owner, {
        "youth": decided, "guardians": [], "agencies": ["polisen-orebro"],
        "categories": ["identity", "plan"], "purpose": "SIG",
        "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + datetime.timedelta(days=300)).isoformat(),
        "evidence_ref": "form-7",
    })
    for _ in range(2):
        server.api("GET", f"/api/v1/cases/{case['id']}", police)
    server.api("POST", f"/api/v1/cases/{case['id']}/consents/{consent['id']}/revoke", owner,
               {"party": "youth", "reason": "Vill inte längre"})
    try:
        server.api("GET", f"/api/v1/cases/{case['id']}", police)
        raise AssertionError("the police read after the revocation")
    except urllib.error.HTTPError as refused:
        assert refused.code == 403
    return case


class NameWatch:
    """Every page the auditor sees, checked for the young person's name."""

    def __init__(self, page):
        self.page = page
        self.seen = 0

    def check(self):
        source = self.page.content()
        for name in YOUTH:
            assert name not in source, f"{self.page.url} shows {name}"
        self.seen += 1


def seqs_in_table(page):
    cells = page.get_by_role("table").locator("td[data-label=Nr]").all_inner_texts()
    return [int(c) for c in cells]


def test_the_auditors_journey(any_server, browser):
    server = any_server
    case = seed(server)
    backend = server.env["SIG_DATABASE_URL"].split(":")[0]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE",
                                  accept_downloads=True)
    page = context.new_page()
    watch = NameWatch(page)
    login(page, server.base, "au-alva", "Alva Granskare", SOCIAL, "Granskare")
    expect(page.get_by_role("heading", level=1, name="Granskning")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Loggen är intakt: \d+ händelser kontrollerade"))).to_be_visible()
    nav = page.get_by_role("navigation", name="Huvudmeny")
    assert nav.get_by_role("link", name="Ärenden").count() == 0
    watch.check()
    check_page(page, f"granskning-{backend}")

    # "Logg": the police officer's reads, filtered by user and action.
    page.get_by_role("link", name="Logg", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Logg")).to_be_visible()
    page.get_by_label("Användare").fill("po-per")
    page.get_by_label("Händelse").select_option(label="Läste ärende")
    page.get_by_role("button", name="Sök").click()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(4)  # the header, two reads, the refusal
    expect(rows.filter(has_text="Nekad")).to_have_count(1)
    expect(rows.filter(has_text="Tillåten")).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Per Polis")
    expect(rows.nth(1)).to_contain_text("Polisen, lokalpolisområde Örebro")
    shown = seqs_in_table(page)
    watch.check()
    check_page(page, f"granskning-logg-{backend}")
    for word, parse in [("NDJSON", lambda text: [json.loads(l)["seq"] for l in text.splitlines()]),
                        ("CSV", lambda text: [int(l.split(",")[0]) for l in text.splitlines()[1:]])]:
        with page.expect_download() as download:
            page.get_by_role("link", name=f"Exportera {word}").click()
        with open(download.value.path(), encoding="utf-8") as exported:
            assert parse(exported.read()) == shown, word

    # "Avvikelser": the refused attempt after the revocation, linking to the log.
    page.get_by_role("link", name="Till granskningen").click()
    page.get_by_role("link", name="Avvikelser").click()
    expect(page.get_by_role("heading", level=1, name="Avvikelser")).to_be_visible()
    denied = page.get_by_role("region", name="Nekade försök")
    expect(denied.get_by_role("row", name=re.compile("po-per"))).to_contain_text("1")
    watch.check()
    check_page(page, f"granskning-avvikelser-{backend}")
    denied.get_by_role("link", name="po-per").click()
    expect(page.get_by_role("heading", level=1, name="Logg")).to_be_visible()
    expect(page.get_by_label("Utfall")).to_have_value("denied")
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(2)
    watch.check()

    # "Loggutdrag": from the case id in the log, through "Vem kan se ärendet".
    page.get_by_role("link", name=case["id"]).first.click()
    expect(page.get_by_role("heading", level=1, name="Vem kan se ärendet")).to_be_visible()
    watch.check()
    page.get_by_role("link", name="Loggutdrag").click()
    expect(page.get_by_role("heading", level=1, name="Loggutdrag")).to_be_visible()
    extract = page.get_by_role("table")
    police_rows = extract.get_by_role("row").filter(has_text="Polisen, lokalpolisområde Örebro")
    expect(police_rows.filter(has_text="Läste ärende")).to_have_count(3)
    expect(police_rows.filter(has_text="Nekad")).to_have_count(1)
    expect(police_rows.first).to_contain_text("Polis")
    watch.check()
    # The verifiable extract: a file the family can check with the key printed beside it.
    expect(page.get_by_role("heading", level=2, name="Kontrollera utdraget")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Ladda ner verifierbart loggutdrag").click()
    saved = download.value
    assert saved.suggested_filename == f"loggutdrag-{case['id']}.json"
    text = open(saved.path(), encoding="utf-8").read()
    assert not any(name in text for name in YOUTH), "the file names no one"
    verifiable = json.loads(text)
    assert verifiable["format"] == "sig-register/verifiable-extract/v1"
    assert len(verifiable["items"]) >= 4
    watch.check()
    check_page(page, f"loggutdrag-granskare-{backend}")
    page.emulate_media(media="print")
    expect(page.get_by_text("Sekretess enligt OSL – får inte lämnas ut")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"loggutdrag-utskrift-{backend}.png"), full_page=True)
    page.pdf(path=str(SHOTS / f"loggutdrag-{backend}.pdf"), format="A4")
    page.emulate_media(media="screen")

    # "Logguppföljningar": record a review and find it listed.
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Granskning").click()
    page.get_by_role("link", name="Logguppföljningar").click()
    expect(page.get_by_role("heading", level=1, name="Logguppföljningar")).to_be_visible()
    watch.check()
    check_page(page, f"logguppfoljningar-{backend}")
    page.get_by_label("Period från").fill((TODAY - datetime.timedelta(days=7)).isoformat())
    page.get_by_label("Period till").fill(TODAY.isoformat())
    page.get_by_label("Vad som granskats").fill("Polisens läsningar av ärenden i Vivalla.")
    page.get_by_label("Iakttagelser").fill("Två läsningar under samtycke, ett nekat försök efter återkallelsen.")
    page.get_by_label("Åtgärder").fill("Inga åtgärder behövs.")
    page.get_by_role("button", name="Spara logguppföljning").click()
    expect(page.get_by_role("status")).to_have_text("Logguppföljningen är sparad.")
    saved = page.get_by_role("article")
    expect(saved).to_contain_text("Polisens läsningar av ärenden i Vivalla.")
    expect(saved).to_contain_text("Alva Granskare")
    watch.check()
    check_page(page, f"logguppfoljningar-sparad-{backend}")
    assert watch.seen == 9
    context.close()


def test_the_console_at_320_px_and_a_review_with_errors(server, context):
    """The log at phone width, and a review form refused with what to fix, kept as typed."""
    seed(server)
    page = context.new_page()
    login(page, server.base, "au-alva", "Alva Granskare", SOCIAL, "Granskare")
    page.goto(f"{server.base}/granskning/genomgangar")
    page.get_by_label("Period från").fill(TODAY.isoformat())
    page.get_by_label("Period till").fill((TODAY - datetime.timedelta(days=1)).isoformat())
    page.get_by_label("Vad som granskats").fill("Skolans läsningar")
    page.get_by_role("button", name="Spara logguppföljning").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Perioden kan inte sluta före den börjar.")
    expect(alert).to_contain_text("Skriv iakttagelserna")
    expect(page.get_by_label("Vad som granskats")).to_have_value("Skolans läsningar")
    check_page(page, "logguppfoljningar-fel")
    page.goto(f"{server.base}/granskning/logg?anvandare=po-per")
    page.set_viewport_size({"width": 320, "height": 900})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"the log scrolls sideways at 320 px ({width})"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_administrator_registers_an_agency(server, context):
    page = context.new_page()
    login(page, server.base, "adm-ada", "Ada Admin", SOCIAL, "Administratör")
    expect(page.get_by_role("heading", level=1, name="Verksamheter")).to_be_visible()
    check_page(page, "verksamheter")
    page.get_by_label("Namn", exact=True).fill("Fritid Karlskoga")
    page.get_by_label("Kortnamn").fill("Fritid Karlskoga")
    page.get_by_label("Sort").select_option(label="Partner")
    page.get_by_role("button", name="Registrera verksamhet").click()
    expect(page.get_by_role("alert")).to_contain_text("Ange ett kortnamn")
    check_page(page, "verksamheter-fel")
    page.get_by_label("Kortnamn").fill("fritid-karlskoga")
    page.get_by_role("button", name="Registrera verksamhet").click()
    expect(page.get_by_role("status")).to_have_text("Fritid Karlskoga är registrerad.")
    expect(page.get_by_role("row", name=re.compile("Fritid Karlskoga"))).to_contain_text("Partner")
