"""Consent in the browser (UI.md §4, §5.1–5.2): the social secretary records the consent of a
16-year-old and both guardians, activates the case, the police see it; the young person revokes
and the police's very next page is the 403 page. The form says what is wrong beside each field,
and the whole consent can be recorded with the keyboard alone."""

import datetime
import re

from playwright.sync_api import expect

from conftest import check_page, login, register_today
from test_pages import POLICE, SOCIAL, personal_number

TODAY = register_today().isoformat()


def seed_case_without_consent(server, given):
    """A 16-year-old with two guardians with custody, opened by the social secretary."""
    owner = server.token("ss-anna", "Anna Lindqvist", "socialtjanst-orebro", "social_secretary")
    return server.api("POST", "/api/v1/cases", owner, {
        "area": "vivalla",
        "youth": {"personal_number": personal_number(16), "given_name": given,
                  "family_name": "Samtyckesson"},
        "guardians": [
            {"given_name": "Maria", "family_name": "Samtyckesson", "has_custody": True},
            {"given_name": "Karl", "family_name": "Samtyckesson", "has_custody": True},
        ],
    })


def decide(group, date=TODAY):
    group.get_by_role("group", name="Beslut").get_by_role("radio", name="Samtycker", exact=True).check()
    group.get_by_label("Datum för beslutet").fill(date)


def test_consent_recorded_activated_seen_by_the_police_and_revoked(server, browser, context):
    case = seed_case_without_consent(server, "Mira")
    page = context.new_page()
    login(page, server.base, "ss-anna", "Anna Lindqvist", SOCIAL, "Socialsekreterare")
    page.goto(f"{server.base}/arenden/{case['id']}")
    expect(page.get_by_text("Inget samtycke")).to_be_visible()
    # Activating before any consent: the 409 page says what to do.
    page.get_by_role("button", name="Aktivera ärende").click()
    expect(page.get_by_text("Det behövs ett aktivt samtycke först.")).to_be_visible()
    page.go_back()

    page.goto(f"{server.base}/arenden/{case['id']}")
    page.get_by_role("button", name="Registrera samtycke").click()
    expect(page.get_by_role("heading", level=1, name="Registrera samtycke")).to_be_visible()
    expect(page.get_by_role("group", name="Vårdnadshavare: Maria Samtyckesson")).to_be_visible()
    expect(page.get_by_role("group", name="Vårdnadshavare: Karl Samtyckesson")).to_be_visible()
    expect(page.get_by_label("Giltigt från")).to_have_value(TODAY)
    check_page(page, "samtycke-nytt")

    # Only the young person's decision and one guardian: every rule broken is said.
    decide(page.get_by_role("group", name="Den unge"))
    decide(page.get_by_role("group", name="Vårdnadshavare: Maria Samtyckesson"))
    page.get_by_role("button", name="Registrera samtycke").click()
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading", name="Formuläret innehåller fel")).to_be_visible()
    expect(summary.get_by_text("varje vårdnadshavare med vårdnad måste ta ställning")).to_be_visible()
    expect(summary.get_by_text("Välj minst en verksamhet som får ta del.")).to_be_visible()
    expect(summary.get_by_text("Välj minst en uppgift som får delas.")).to_be_visible()
    expect(page.get_by_label("Dokumentreferens")).to_have_attribute("aria-invalid", "true")
    maria = page.get_by_role("group", name="Vårdnadshavare: Maria Samtyckesson")
    expect(maria.get_by_role("radio", name="Samtycker", exact=True)).to_be_checked()
    check_page(page, "samtycke-nytt-fel")

    decide(page.get_by_role("group", name="Vårdnadshavare: Karl Samtyckesson"))
    agencies = page.get_by_role("group", name="Verksamheter som får ta del")
    agencies.get_by_role("checkbox", name=POLICE).check()
    agencies.get_by_role("checkbox", name="Förskola och skola, Örebro kommun").check()
    shared = page.get_by_role("group", name="Uppgifter som får delas")
    shared.get_by_role("checkbox", name="Identitetsuppgifter").check()
    shared.get_by_role("checkbox", name="Genomförandeplan").check()
    page.get_by_label("Dokumentreferens").fill("SIG-2026-17")
    page.get_by_role("button", name="Registrera samtycke").click()

    expect(page.get_by_role("heading", level=1, name="Samtycken")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=re.compile("^Aktivt"))).to_be_visible()
    expect(page.get_by_text("Samtycker (skriftligt").first).to_be_visible()
    check_page(page, "samtycken")

    page.get_by_role("link", name="Till ärendet").click()
    page.get_by_role("button", name="Aktivera ärende").click()
    expect(page.get_by_text("Status: Aktivt")).to_be_visible()
    check_page(page, "arende-aktivt")
    # Printed, the page says it is confidential, and who printed it when.
    expect(page.get_by_text("Sekretess enligt OSL – får inte lämnas ut")).to_be_hidden()
    page.emulate_media(media="print")
    expect(page.get_by_text("Sekretess enligt OSL – får inte lämnas ut")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Utskrivet av Anna Lindqvist, Socialtjänsten Örebro kommun, \d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))).to_be_visible()
    expect(page.get_by_role("button", name="Logga ut")).to_be_hidden()
    page.screenshot(path="target/ui-screenshots/arende-utskrift.png", full_page=True)
    page.emulate_media(media="screen")

    police = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    officer = police.new_page()
    login(officer, server.base, "po-per", "Per Polis", POLICE, "Polis")
    expect(officer.get_by_role("link", name="Mira Samtyckesson")).to_be_visible()

    # The young person revokes.
    page.goto(f"{server.base}/arenden/{case['id']}/samtycken")
    page.get_by_role("button", name="Återkalla samtycke").click()
    expect(page.get_by_role("heading", level=1, name="Återkalla samtycke")).to_be_visible()
    check_page(page, "aterkalla")
    page.get_by_role("button", name="Återkalla").click()
    expect(page.get_by_role("alert")).to_be_visible()  # nobody chosen
    page.get_by_role("group", name="Vem återkallar").get_by_role("radio", name="Den unge").check()
    page.get_by_label("Anledning").fill("Vill inte längre")
    page.get_by_role("button", name="Återkalla").click()
    expect(page.get_by_role("heading", level=1, name="Samtycket är återkallat")).to_be_visible()
    expect(page.get_by_text(f"Åtkomsten upphörde för: {POLICE}, Förskola och skola, Örebro kommun.")).to_be_visible()
    check_page(page, "aterkallat")

    # The police's very next page: the 403 page, and the case is gone from the list.
    response = officer.goto(f"{server.base}/arenden/{case['id']}")
    assert response.status == 403
    expect(officer.get_by_text("Det finns inget aktivt samtycke som ger din verksamhet tillgång till ärendet.")).to_be_visible()
    officer.goto(f"{server.base}/arenden")
    expect(officer.get_by_role("link", name="Mira Samtyckesson")).to_have_count(0)
    police.close()


def test_only_the_owner_reaches_the_consent_pages(server, browser):
    case = seed_case_without_consent(server, "Ida")
    police = browser.new_context(viewport={"width": 1280, "height": 900})
    page = police.new_page()
    login(page, server.base, "po-per", "Per Polis", POLICE, "Polis")
    for path in ("samtycken", "samtycken/nytt"):
        response = page.goto(f"{server.base}/arenden/{case['id']}/{path}")
        assert response.status == 403, path
        assert "Samtyckesson" not in page.content()
    police.close()


def tab_to(page, element_id, limit=80):
    """Presses Tab until the element with `element_id` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_a_consent_can_be_recorded_with_the_keyboard_alone(server, context):
    case = seed_case_without_consent(server, "Leo")
    page = context.new_page()
    login(page, server.base, "ss-anna", "Anna Lindqvist", SOCIAL, "Socialsekreterare")
    page.goto(f"{server.base}/arenden/{case['id']}")
    # To the button and into the form, by keyboard.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Registrera samtycke":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Registrera samtycke")).to_be_visible()
    for prefix, date_id in (("youth", "f-youth-decided_on"), ("g0", "f-guardians-0-decided_on"),
                            ("g1", "f-guardians-1-decided_on")):
        tab_to(page, f"{prefix}-given")
        page.keyboard.press("Space")
        tab_to(page, date_id)
        page.keyboard.type(TODAY)
        assert page.evaluate("document.activeElement.value") == TODAY
    tab_to(page, "a-polisen-orebro")
    page.keyboard.press("Space")
    tab_to(page, "k-identity")
    page.keyboard.press("Space")
    tab_to(page, "f-evidence_ref")
    page.keyboard.type("SIG-2026-18")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Registrera samtycke"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Samtycken")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=re.compile("^Aktivt"))).to_be_visible()


def test_who_can_see_the_case_and_the_notes_of_each_agency(server, browser, context):
    case = seed_case_without_consent(server, "Nils")
    owner = server.token("ss-anna", "Anna Lindqvist", "socialtjanst-orebro", "social_secretary")
    today = register_today()
    decided = {"decision": "given", "method": "written", "decided_on": today.isoformat()}
    server.api("POST", f"/api/v1/cases/{case['id']}/consents", owner, {
        "youth": decided,
        "guardians": [dict(decided, guardian_id=g["id"]) for g in case["guardians"]],
        "agencies": ["polisen-orebro", "skola-orebro"],
        "categories": ["identity", "plan"],
        "purpose": "SIG", "valid_from": today.isoformat(),
        "valid_until": (today + datetime.timedelta(days=200)).isoformat(),
        "evidence_ref": "SIG-2026-19",
    })
    page = context.new_page()
    login(page, server.base, "ss-anna", "Anna Lindqvist", SOCIAL, "Socialsekreterare")
    page.goto(f"{server.base}/arenden/{case['id']}")
    page.get_by_role("link", name="Vem kan se ärendet").click()
    expect(page.get_by_role("heading", level=1, name="Vem kan se ärendet")).to_be_visible()
    table = page.get_by_role("table")
    expect(table.get_by_role("rowheader", name=POLICE)).to_be_visible()
    expect(table.get_by_role("rowheader", name="Förskola och skola, Örebro kommun")).to_be_visible()
    expect(table.get_by_text("Samtycke som gäller till").first).to_be_visible()
    check_page(page, "atkomst")

    # The police write a note of their own; an empty one is refused beside the field.
    police = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    officer = police.new_page()
    login(officer, server.base, "po-per", "Per Polis", POLICE, "Polis")
    officer.goto(f"{server.base}/arenden/{case['id']}")
    officer.get_by_role("button", name="Skriv anteckning").click()
    expect(officer.get_by_role("heading", level=1, name="Anteckningar")).to_be_visible()
    officer.get_by_role("button", name="Spara anteckning").click()
    expect(officer.get_by_role("alert")).to_be_visible()
    expect(officer.get_by_label("Ny anteckning")).to_have_attribute("aria-invalid", "true")
    check_page(officer, "anteckningar-fel")
    officer.get_by_label("Ny anteckning").fill("Samtal med Nils på fritidsgården.\nLugnt.")
    officer.get_by_role("button", name="Spara anteckning").click()
    expect(officer.get_by_text("Samtal med Nils på fritidsgården.")).to_be_visible()
    expect(officer.get_by_role("heading", level=2, name=re.compile("^Per Polis, Polisen"))).to_be_visible()
    check_page(officer, "anteckningar")
    police.close()
