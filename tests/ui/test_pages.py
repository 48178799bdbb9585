"""The first pages of the web interface in a real browser (UI.md §5, the steps built so far):
development login, the case list, the case page, the 403 page, logout; axe-core on every page,
security headers on every HTML response, no personal number in any URL."""

import datetime
import itertools
import re

from playwright.sync_api import expect

from conftest import check_page, login, register_today

SOCIAL = "Socialtjänsten Örebro kommun"
POLICE = "Polisen, lokalpolisområde Örebro"
SCHOOL = "Förskola och skola, Örebro kommun"
_serial = itertools.count(1)


def personal_number(age):
    """A valid personal number of someone `age` years old today."""
    born = register_today().replace(day=14) - datetime.timedelta(days=365 * age + age // 4 + 40)
    digits = born.strftime("%y%m%d") + f"{next(_serial) % 900 + 100:03d}"
    total = 0
    for i, c in enumerate(digits):
        v = int(c) * (2 if i % 2 == 0 else 1)
        total += v // 10 + v % 10
    return born.strftime("%Y") + digits[2:] + str((10 - total % 10) % 10)


def seed_case(server, given):
    """A case opened by the social secretary, with consent for the police (identity, plan)."""
    owner = server.token("ss-anna", "Anna Lindqvist", "socialtjanst-orebro", "social_secretary")
    number = personal_number(16)
    case = server.api("POST", "/api/v1/cases", owner, {
        "area": "vivalla",
        "youth": {"personal_number": number, "given_name": given, "family_name": "Exempelsson",
                  "phone": "070-123 45 67"},
        "guardians": [{"given_name": "Maria", "family_name": "Exempelsson", "has_custody": True}],
        "referral": {"source_agency": "polisen-orebro", "reason": "Orosanmälan"},
    })
    today = register_today()
    decided = {"decision": "given", "method": "written", "decided_on": today.isoformat()}
    server.api("POST", f"/api/v1/cases/{case['id']}/consents", owner, {
        "youth": decided,
        "guardians": [dict(decided, guardian_id=case["guardians"][0]["id"])],
        "agencies": ["polisen-orebro"],
        "categories": ["identity", "plan"],
        "purpose": "SIG",
        "valid_from": today.isoformat(),
        "valid_until": (today + datetime.timedelta(days=300)).isoformat(),
        "evidence_ref": "form-1",
    })
    return case, number


def watch_html(page, seen):
    """Collects the headers of every HTML response the page receives."""
    def on_response(response):
        if response.headers.get("content-type", "").startswith("text/html"):
            seen.append((response.url, response.headers))
    page.on("response", on_response)


def assert_html_headers(seen):
    assert seen, "some HTML was received"
    for url, headers in seen:
        assert headers.get("cache-control") == "no-store", url
        csp = headers.get("content-security-policy", "")
        assert csp.startswith("default-src 'none'; script-src 'self'; style-src 'self'"), url
        assert "form-action 'self'" in csp and "frame-ancestors 'none'" in csp, url


def test_the_social_secretary_logs_in_finds_and_reads_a_case(server, context):
    case, number = seed_case(server, "Elin")
    page = context.new_page()
    seen = []
    watch_html(page, seen)
    page.goto(f"{server.base}/")
    expect(page.get_by_role("heading", name="Logga in")).to_be_visible()
    check_page(page, "logga-in")
    login(page, server.base, "ss-anna", "Anna Lindqvist", SOCIAL, "Socialsekreterare")
    expect(page.get_by_role("heading", name="Ärenden", level=1)).to_be_visible()
    check_page(page, "arenden")
    # The personal-number search is a POST: the number never appears in a URL.
    search = page.get_by_role("search", name="Sök på personnummer")
    search.get_by_label("Personnummer").fill(number)
    search.get_by_role("button", name="Sök").click()
    expect(page.get_by_role("link", name="Elin Exempelsson")).to_be_visible()
    check_page(page, "arenden-sok")
    page.get_by_role("link", name="Elin Exempelsson").click()
    expect(page.get_by_role("heading", name=re.compile("^Ärende"))).to_be_visible()
    expect(page.get_by_role("heading", name="Den unge")).to_be_visible()
    expect(page.get_by_role("heading", name="Samtycke")).to_be_visible()
    assert page.get_by_text("Orosanmälan").count() == 0, "the referral is the owner's, on a later page"
    check_page(page, "arende-agare")
    assert all(number not in url and number[2:] not in url for url, _ in seen)
    assert_html_headers(seen)
    # After logout, going back shows nothing of the case.
    page.get_by_role("button", name="Logga ut").click()
    expect(page.get_by_role("heading", name="Logga in")).to_be_visible()
    page.go_back()
    assert "Exempelsson" not in page.content()


def test_the_police_see_the_consented_case_and_the_school_gets_the_403_page(server, browser):
    case, _ = seed_case(server, "Olle")
    police = browser.new_context(viewport={"width": 1280, "height": 900})
    page = police.new_page()
    login(page, server.base, "po-per", "Per Polis", POLICE, "Polis")
    expect(page.get_by_role("link", name="Olle Exempelsson")).to_be_visible()
    page.get_by_role("link", name="Olle Exempelsson").click()
    expect(page.get_by_text("Du ser ärendet med stöd av samtycke som gäller till")).to_be_visible()
    check_page(page, "arende-polis")
    police.close()

    school = browser.new_context(viewport={"width": 1280, "height": 900})
    page = school.new_page()
    login(page, server.base, "sk-sara", "Sara Skola", SCHOOL, "Partner")
    expect(page.get_by_role("heading", name="Ärenden", level=1)).to_be_visible()
    assert page.get_by_role("link", name="Olle Exempelsson").count() == 0
    response = page.goto(f"{server.base}/arenden/{case['id']}")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Du har inte behörighet")).to_be_visible()
    assert "Olle" not in page.content()
    check_page(page, "403")
    school.close()


def test_a_login_with_errors_says_so_beside_each_field(server, context):
    page = context.new_page()
    page.goto(f"{server.base}/logga-in")
    page.get_by_label("Namn").fill("Per")
    page.get_by_role("button", name="Logga in i utvecklingsläge").click()
    alert = page.get_by_role("alert")
    expect(alert.get_by_role("heading", name="Formuläret innehåller fel")).to_be_visible()
    assert page.get_by_label("Användar-id").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Namn").input_value() == "Per", "what was typed is kept"
    check_page(page, "logga-in-fel")


def test_login_works_with_the_keyboard_alone(server, context):
    page = context.new_page()
    page.goto(f"{server.base}/logga-in")
    focused = lambda: page.evaluate("document.activeElement.id || document.activeElement.textContent")
    page.keyboard.press("Tab")
    assert focused() == "Hoppa till innehållet"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused() == "f-sub"
    page.keyboard.type("po-kim")
    page.keyboard.press("Tab")
    page.keyboard.type("Kim Polis")
    page.keyboard.press("Tab")
    assert focused() == "f-agency"
    page.keyboard.type("Polisen")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused() == "r-police_officer"
    page.keyboard.press("Space")
    for _ in range(4):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Logga in i utvecklingsläge"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Ärenden", level=1)).to_be_visible()


def test_the_accessibility_statement_is_there_for_everyone(server, context):
    page = context.new_page()
    page.goto(f"{server.base}/tillganglighet")
    expect(page.get_by_role("heading", name="Tillgänglighetsredogörelse")).to_be_visible()
    check_page(page, "tillganglighet")
    response = page.goto(f"{server.base}/finns-inte")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Sidan finns inte")).to_be_visible()
    check_page(page, "404")


def test_the_social_secretary_opens_a_case_for_a_sixteen_year_old_with_two_guardians(server, context):
    page = context.new_page()
    login(page, server.base, "ss-nora", "Nora Nilsson", SOCIAL, "Socialsekreterare")
    page.get_by_role("link", name="Nytt ärende").click()
    expect(page.get_by_role("heading", name="Nytt ärende")).to_be_visible()
    check_page(page, "arenden-nytt")
    youth = page.get_by_role("group", name="Den unge")
    youth.get_by_label("Personnummer").fill(personal_number(16))
    youth.get_by_label("Förnamn").fill("Tove")
    youth.get_by_label("Efternamn").fill("Testsson")
    first = page.get_by_role("group", name="Vårdnadshavare 1")
    first.get_by_label("Förnamn").fill("Lena")
    first.get_by_label("Efternamn").fill("Testsson")
    first.get_by_label("Har vårdnad").check()
    page.get_by_role("button", name="Lägg till vårdnadshavare").click()
    second = page.get_by_role("group", name="Vårdnadshavare 2")
    expect(second).to_be_visible()
    expect(page.get_by_role("group", name="Den unge").get_by_label("Förnamn")).to_have_value("Tove")
    second.get_by_label("Förnamn").fill("Jonas")
    second.get_by_label("Efternamn").fill("Testsson")
    second.get_by_label("Har vårdnad").check()
    # First without an area: the error is said beside the field and in the summary.
    page.get_by_role("button", name="Skapa ärende").click()
    expect(page.get_by_role("alert").get_by_role("heading", name="Formuläret innehåller fel")).to_be_visible()
    expect(page.get_by_label("Område")).to_have_attribute("aria-invalid", "true")
    check_page(page, "arenden-nytt-fel")
    page.get_by_label("Område").select_option(label="Vivalla")
    page.get_by_role("button", name="Skapa ärende").click()
    expect(page.get_by_role("heading", name=re.compile("^Ärende"))).to_be_visible()
    expect(page.get_by_text("Tove Testsson")).to_be_visible()
    expect(page.get_by_text("Jonas Testsson")).to_be_visible()
    check_page(page, "arende-nytt")


def test_a_post_without_the_form_token_or_from_elsewhere_changes_nothing(server, context):
    page = context.new_page()
    login(page, server.base, "ss-csrf", "Cecilia Csrf", SOCIAL, "Socialsekreterare")
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    case = {"guardian_count": "0", "youth_personal_number": personal_number(19),
            "youth_given_name": "Forfalskad", "youth_family_name": "Postsson", "area": "vivalla"}
    # The session's cookie, but no form token: the 403 page, nothing created.
    refused = context.request.post(f"{server.base}/arenden/nytt", form=case)
    assert refused.status == 403
    assert "Du har inte behörighet" in refused.text()
    # The token, but from another origin: refused too.
    foreign = context.request.post(f"{server.base}/arenden/nytt", form=dict(case, csrf=token),
                                   headers={"Origin": "https://elsewhere.example"})
    assert foreign.status == 403
    page.goto(f"{server.base}/arenden")
    expect(page.get_by_role("link", name="Forfalskad Postsson")).to_have_count(0)
    # The same form from the page itself goes through.
    accepted = context.request.post(f"{server.base}/arenden/nytt", form=dict(case, csrf=token),
                                    headers={"Origin": server.base})
    assert accepted.status == 201
    page.goto(f"{server.base}/arenden")
    expect(page.get_by_role("link", name="Forfalskad Postsson")).to_have_count(1)
