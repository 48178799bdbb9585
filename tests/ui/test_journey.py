"""UI.md §5.1, the social secretary's journey, end to end in Chromium on SQLite and on
PostgreSQL, as far as the web interface is built: log in → "Nytt ärende" for a 16-year-old with
two guardians with custody → "Registrera samtycke" (the young person and both guardians yes;
police and school; identity and plan) → "Aktivera ärende" → "Redigera plan" (two goals, three
measures for social services, police and school) → "Markera som överenskommen" → "Registrera
uppföljning" → "Vem kan se ärendet" lists the police and the school."""

import datetime
import re

from playwright.sync_api import expect

from conftest import check_page, login, register_today
from test_pages import POLICE, SCHOOL, SOCIAL, personal_number

TODAY = register_today().isoformat()


def test_the_social_secretarys_journey(any_server, context):
    server = any_server
    page = context.new_page()
    login(page, server.base, "ss-journey", "Jonna Resa", SOCIAL, "Socialsekreterare")
    expect(page.get_by_role("heading", level=1, name="Ärenden")).to_be_visible()

    page.get_by_role("link", name="Nytt ärende").click()
    youth = page.get_by_role("group", name="Den unge")
    youth.get_by_label("Personnummer").fill(personal_number(16))
    youth.get_by_label("Förnamn").fill("Resa")
    youth.get_by_label("Efternamn").fill("Journeysson")
    for n, given in ((1, "Vera"), (2, "Ville")):
        if n == 2:
            page.get_by_role("button", name="Lägg till vårdnadshavare").click()
        guardian = page.get_by_role("group", name=f"Vårdnadshavare {n}")
        guardian.get_by_label("Förnamn").fill(given)
        guardian.get_by_label("Efternamn").fill("Journeysson")
        guardian.get_by_label("Har vårdnad").check()
    page.get_by_label("Område").select_option(label="Varberga")
    page.get_by_role("button", name="Skapa ärende").click()
    expect(page.get_by_role("heading", level=1, name=re.compile("^Ärende"))).to_be_visible()
    expect(page.get_by_text("Status: Öppet")).to_be_visible()

    page.get_by_role("button", name="Registrera samtycke").click()
    for group in ("Den unge", "Vårdnadshavare: Vera Journeysson", "Vårdnadshavare: Ville Journeysson"):
        party = page.get_by_role("group", name=group)
        party.get_by_role("group", name="Beslut").get_by_role("radio", name="Samtycker", exact=True).check()
        party.get_by_label("Datum för beslutet").fill(TODAY)
    agencies = page.get_by_role("group", name="Verksamheter som får ta del")
    agencies.get_by_role("checkbox", name=POLICE).check()
    agencies.get_by_role("checkbox", name=SCHOOL).check()
    shared = page.get_by_role("group", name="Uppgifter som får delas")
    shared.get_by_role("checkbox", name="Identitetsuppgifter").check()
    shared.get_by_role("checkbox", name="Genomförandeplan").check()
    page.get_by_label("Dokumentreferens").fill("SIG-RESA-1")
    page.get_by_role("button", name="Registrera samtycke").click()
    expect(page.get_by_role("heading", level=2, name=re.compile("^Aktivt"))).to_be_visible()

    page.get_by_role("link", name="Till ärendet").click()
    page.get_by_role("button", name="Aktivera ärende").click()
    expect(page.get_by_text("Status: Aktivt")).to_be_visible()
    backend = server.env['SIG_DATABASE_URL'].split(':')[0]
    check_page(page, f"resa-arende-{backend}")
    case_url = page.url

    page.get_by_role("button", name="Redigera plan").click()
    expect(page.get_by_role("heading", level=1, name="Redigera plan")).to_be_visible()
    page.get_by_label("Mål 1").fill("Går i skolan varje dag")
    page.get_by_role("button", name="Lägg till mål").click()
    page.get_by_label("Mål 2").fill("Ingen ny brottslighet")
    measures = ((SOCIAL, "Jonna Resa", "Stödsamtal varannan vecka"),
                (POLICE, "Per Polis", "Kontaktperson hos polisen"),
                (SCHOOL, "Sara Skola", "Anpassad studiegång"))
    for n, (agency, responsible, what) in enumerate(measures, start=1):
        if n > 1:
            page.get_by_role("button", name="Lägg till insats").click()
        measure = page.get_by_role("group", name=f"Insats {n}")
        if n < 3:  # the third's agency is forgotten at first
            measure.get_by_label("Verksamhet").select_option(label=agency)
        measure.get_by_label("Ansvarig").fill(responsible)
        measure.get_by_label("Insats", exact=True).fill(what)
        measure.get_by_label("Start").fill(TODAY)
    # What was typed survives every row button.
    expect(page.get_by_label("Mål 1")).to_have_value("Går i skolan varje dag")
    check_page(page, f"resa-redigera-plan-{backend}")
    page.get_by_role("button", name="Spara plan").click()
    alert = page.get_by_role("alert")
    expect(alert.get_by_role("link", name="Välj en verksamhet.")).to_be_visible()
    third = page.get_by_role("group", name="Insats 3")
    expect(third.get_by_label("Insats", exact=True)).to_have_value("Anpassad studiegång")
    check_page(page, f"resa-redigera-plan-fel-{backend}")
    third.get_by_label("Verksamhet").select_option(label=SCHOOL)
    page.get_by_role("button", name="Spara plan").click()
    expect(page.get_by_role("heading", level=1, name="Genomförandeplan")).to_be_visible()
    table = page.get_by_role("table", name="Insatser")
    expect(table.get_by_role("row")).to_have_count(4)
    expect(page.get_by_text("Utkast")).to_be_visible()

    page.get_by_role("button", name="Markera som överenskommen").click()
    expect(page.get_by_text(f"Överenskommen {TODAY}")).to_be_visible()
    page.get_by_label("Datum för uppföljningen").fill(TODAY)
    page.get_by_role("button", name="Registrera uppföljning").click()  # no summary yet
    expect(page.get_by_role("heading", level=1, name="Registrera uppföljning")).to_be_visible()
    expect(page.get_by_label("Datum för uppföljningen")).to_have_value(TODAY)
    check_page(page, f"resa-uppfoljning-fel-{backend}")
    page.get_by_label("Sammanfattning").fill("Bra start, alla insatser igång.")
    page.get_by_role("button", name="Registrera uppföljning").click()
    expect(page.get_by_text("Bra start, alla insatser igång.")).to_be_visible()
    check_page(page, f"resa-plan-{backend}")

    page.get_by_role("link", name="Versioner").click()
    expect(page.get_by_role("heading", level=1, name="Planens versioner")).to_be_visible()
    page.get_by_role("link", name="Version 2").click()
    expect(page.get_by_text("Överenskommen", exact=False).first).to_be_visible()
    check_page(page, f"resa-plan-version-{backend}")

    page.goto(case_url)
    page.get_by_role("link", name="Vem kan se ärendet").click()
    table = page.get_by_role("table")
    expect(table.get_by_role("rowheader", name=POLICE)).to_be_visible()
    expect(table.get_by_role("rowheader", name=SCHOOL)).to_be_visible()
    rows = table.get_by_role("row")
    expect(rows).to_have_count(4)  # the header, the owner, the police, the school
