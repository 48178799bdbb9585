"""Editing the plan in the browser (issue 20), on SQLite and PostgreSQL: two people edit the same
plan at once — the second sees the conflict page with everything they typed intact, then saves;
the version page shows what that save changed; the row buttons work without JavaScript (each a
round trip to the service); and the whole plan is drafted with the keyboard alone (with the
script, rows change without a reload)."""

import datetime
import re

from playwright.sync_api import expect

from conftest import check_page, login, register_today
from test_pages import POLICE, SCHOOL, SOCIAL
from test_police import seed

TODAY = register_today().isoformat()


def edit_page(browser, server, sub, name, javascript=True):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE",
                                  java_script_enabled=javascript)
    page = context.new_page()
    login(page, server.base, sub, name, SOCIAL, "Socialsekreterare")
    return context, page


def test_two_edit_at_once_and_nothing_typed_is_lost(any_server, browser):
    server = any_server
    case, _, _, _ = seed(server, "Kim", ["polisen-orebro"])
    edit = f"{server.base}/arenden/{case['id']}/plan/redigera"
    first_context, first = edit_page(browser, server, "ss-anna", "Anna Lindqvist")
    second_context, second = edit_page(browser, server, "ss-bo", "Bo Berg")
    first.goto(edit)
    second.goto(edit)

    # The first saves a changed goal.
    first.get_by_label("Mål 1").fill("Fullföljd skolgång med godkända betyg")
    first.get_by_role("button", name="Spara plan").click()
    expect(first.get_by_role("heading", level=1, name="Genomförandeplan")).to_be_visible()

    # The second, drawn from the older version, changes a measure, adds one and removes one.
    second.get_by_label("Mål 2").fill("Ingen ny brottslighet under året")
    second.get_by_role("group", name="Insats 2").get_by_label("Insats", exact=True).fill(
        "Kontaktperson hos polisen, varje vecka")
    second.get_by_role("group", name="Insats 1").get_by_role("button", name=re.compile("^Ta bort")).click()
    second.get_by_role("button", name="Lägg till insats").click()
    added = second.get_by_role("group", name="Insats 3")
    added.get_by_label("Verksamhet").select_option(label=SCHOOL)
    added.get_by_label("Ansvarig").fill("Sara Skola")
    added.get_by_label("Insats", exact=True).fill("Läxhjälp två dagar i veckan")
    second.get_by_role("button", name="Spara plan").click()

    alert = second.get_by_role("alert")
    expect(alert.get_by_role("heading", name="Planen har ändrats sedan du öppnade den")).to_be_visible()
    expect(second.get_by_text("Fullföljd skolgång med godkända betyg").first).to_be_visible()
    expect(second.get_by_label("Mål 2")).to_have_value("Ingen ny brottslighet under året")
    expect(second.get_by_role("group", name="Insats 1").get_by_label("Insats", exact=True)).to_have_value(
        "Kontaktperson hos polisen, varje vecka")
    expect(second.get_by_role("group", name="Insats 3").get_by_label("Insats", exact=True)).to_have_value(
        "Läxhjälp två dagar i veckan")
    check_page(second, "plan-konflikt")

    # Saving again keeps the other's goal only if the user keeps it: here they take it over.
    second.get_by_label("Mål 1").fill("Fullföljd skolgång med godkända betyg")
    second.get_by_role("button", name="Spara plan").click()
    expect(second.get_by_role("heading", level=1, name="Genomförandeplan")).to_be_visible()
    expect(second.get_by_text("Ingen ny brottslighet under året")).to_be_visible()
    expect(second.get_by_role("cell", name="Läxhjälp två dagar i veckan", exact=True)).to_be_visible()

    second.get_by_role("link", name="Versioner").click()
    second.get_by_role("link", name="Version 3").click()
    changes = second.get_by_role("region", name=re.compile("^Ändringar från version 2"))
    expect(changes).to_contain_text("Tillagda insatser")
    expect(changes).to_contain_text("Läxhjälp två dagar i veckan")
    expect(changes).to_contain_text("Borttagna insatser")
    expect(changes).to_contain_text("Stödsamtal varannan vecka")
    expect(changes).to_contain_text("Ändrade insatser")
    expect(changes).to_contain_text("Kontaktperson hos polisen, varje vecka")
    check_page(second, "plan-version")
    first_context.close()
    second_context.close()


def test_the_row_buttons_work_without_javascript(any_server, browser):
    server = any_server
    case, _, _, _ = seed(server, "Nils", ["polisen-orebro"])
    # No axe here: page.evaluate needs script. The markup is the one the other tests check.
    context, page = edit_page(browser, server, "ss-anna", "Anna Lindqvist", javascript=False)
    page.goto(f"{server.base}/arenden/{case['id']}/plan/redigera")
    page.get_by_label("Mål 1").fill("Skola först")
    page.get_by_role("button", name="Lägg till mål").click()
    expect(page.get_by_label("Mål 3")).to_be_focused()
    page.get_by_label("Mål 3").fill("Fritid sedan")
    page.get_by_role("button", name="Flytta upp mål 3").click()
    expect(page.get_by_label("Mål 2")).to_have_value("Fritid sedan")
    page.get_by_role("group", name="Insats 1").get_by_role("button", name=re.compile("^Ta bort")).click()
    expect(page.get_by_role("group", name="Insats 3")).to_have_count(0)
    expect(page.get_by_label("Mål 1")).to_have_value("Skola först")
    page.get_by_role("button", name="Spara plan").click()
    expect(page.get_by_role("heading", level=1, name="Genomförandeplan")).to_be_visible()
    goals = page.get_by_role("region", name="Mål").get_by_role("listitem")
    expect(goals).to_have_text(["Skola först", "Fritid sedan", "Ingen ny brottslighet"])
    expect(page.get_by_role("table", name="Insatser").get_by_role("row")).to_have_count(3)
    context.close()


def focused(locator):
    return locator.evaluate("e => e === document.activeElement")


def tab_to(page, locator, limit=120):
    """Presses Tab until `locator` has the focus, as a keyboard user moves through the page."""
    for _ in range(limit):
        if focused(locator):
            return
        page.keyboard.press("Tab")
    raise AssertionError("never reached by Tab")


def test_the_plan_is_drafted_with_the_keyboard_alone(any_server, browser):
    server = any_server
    owner = server.token("ss-anna", "Anna Lindqvist", "socialtjanst-orebro", "social_secretary")
    case, _, _, _ = seed(server, "Tove", ["polisen-orebro"])
    server.api("PUT", f"/api/v1/cases/{case['id']}/plan", owner,
               {"goals": [], "measures": []}, if_match=1)
    context, page = edit_page(browser, server, "ss-anna", "Anna Lindqvist")
    page.goto(f"{server.base}/arenden/{case['id']}/plan")
    tab_to(page, page.get_by_role("button", name="Redigera plan"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Redigera plan")).to_be_visible()

    tab_to(page, page.get_by_label("Mål 1"))
    page.keyboard.type("Går i skolan varje dag")
    loads = []
    page.on("load", lambda _: loads.append(1))
    tab_to(page, page.get_by_role("button", name="Lägg till mål"))
    page.keyboard.press("Enter")
    # The new row has the focus: the user types on; the script did it without a reload.
    expect(page.get_by_label("Mål 2")).to_be_focused()
    assert loads == []
    page.keyboard.type("Ingen ny brottslighet")

    measure = page.get_by_role("group", name="Insats 1")
    tab_to(page, measure.get_by_label("Verksamhet"))
    page.keyboard.type("Polisen")
    page.keyboard.press("Tab")
    page.keyboard.type("Per Polis")
    page.keyboard.press("Tab")
    page.keyboard.type("Kontaktperson hos polisen")
    page.keyboard.press("Tab")
    page.keyboard.type(TODAY)
    # Move the second goal up, with Space on its button.
    tab_to(page, page.get_by_role("button", name="Flytta upp mål 2"))
    page.keyboard.press(" ")
    expect(page.get_by_label("Mål 1")).to_be_focused()
    expect(page.get_by_label("Mål 1")).to_have_value("Ingen ny brottslighet")
    expect(page.get_by_role("button", name="Flytta ned mål 1")).to_be_visible()
    assert page.get_by_role("button", name="Flytta upp mål 1").count() == 0
    assert loads == []
    tab_to(page, page.get_by_role("button", name="Spara plan"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Genomförandeplan")).to_be_visible()
    goals = page.get_by_role("region", name="Mål").get_by_role("listitem")
    expect(goals).to_have_text(["Ingen ny brottslighet", "Går i skolan varje dag"])
    row = page.get_by_role("row", name=re.compile("Kontaktperson hos polisen"))
    expect(row).to_contain_text(POLICE)
    context.close()
