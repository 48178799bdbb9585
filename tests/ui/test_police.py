"""UI.md §5.2, the police officer's journey, end to end in Chromium on SQLite and on PostgreSQL:
log in → "Ärenden" lists exactly the consented case → the case page shows identity and plan, no
social notes → the police measure to "Pågår" with a lägesbeskrivning → a police note. After the
young person's revocation the very next page is the 403 page and the case is gone from the list.
And the partner side: a partner reports on their own measure only; another agency's measure by
URL is the 403 page, and a forged POST changes nothing."""

import datetime
import re

from playwright.sync_api import expect

from conftest import check_page, login, register_today
from test_pages import POLICE, personal_number

PARTNER = "Kultur och fritid, Örebro kommun"
TODAY = register_today()


def seed(server, given, agencies):
    """A case with consent for `agencies` (identity and plan), a plan with one measure for each
    of social services, the police and leisure, and a social services note."""
    owner = server.token("ss-anna", "Anna Lindqvist", "socialtjanst-orebro", "social_secretary")
    case = server.api("POST", "/api/v1/cases", owner, {
        "area": "vivalla",
        "youth": {"personal_number": personal_number(16), "given_name": given,
                  "family_name": "Exempelsson"},
        "guardians": [{"given_name": "Maria", "family_name": "Exempelsson", "has_custody": True}],
    })
    decided = {"decision": "given", "method": "written", "decided_on": TODAY.isoformat()}
    consent = server.api("POST", f"/api/v1/cases/{case['id']}/consents", owner, {
        "youth": decided,
        "guardians": [dict(decided, guardian_id=case["guardians"][0]["id"])],
        "agencies": agencies,
        "categories": ["identity", "plan"],
        "purpose": "SIG",
        "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + datetime.timedelta(days=300)).isoformat(),
        "evidence_ref": "form-1",
    })
    measures = [("socialtjanst-orebro", "Stödsamtal varannan vecka"),
                ("polisen-orebro", "Kontaktperson hos polisen"),
                ("fritid-orebro", "Plats i boxningsklubben")]
    plan = server.api("PUT", f"/api/v1/cases/{case['id']}/plan", owner, {
        "goals": ["Fullföljd skolgång", "Ingen ny brottslighet"],
        "measures": [{"agency": a, "responsible_name": "Ansvarig", "description": d,
                      "starts_on": TODAY.isoformat()} for a, d in measures],
    }, if_match=0)
    server.api("POST", f"/api/v1/cases/{case['id']}/notes", owner,
               {"text": "Socialtjänstens egen anteckning"})
    return case, consent, plan, owner


def test_the_police_officers_journey(any_server, browser):
    server = any_server
    case, consent, plan, owner = seed(server, "Polly", ["polisen-orebro"])
    seed(server, "Fritiof", ["fritid-orebro"])  # a case the police may not see
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    backend = server.env["SIG_DATABASE_URL"].split(":")[0]
    login(page, server.base, "po-per", "Per Polis", POLICE, "Polis")
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(2)  # the header and the one consented case
    page.get_by_role("link", name="Polly Exempelsson").click()
    expect(page.get_by_text("Du ser ärendet med stöd av samtycke som gäller till")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Den unge")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Genomförandeplan")).to_be_visible()
    assert page.get_by_role("button", name="Redigera plan").count() == 0
    check_page(page, f"polis-arende-{backend}")

    page.get_by_role("link", name="Visa genomförandeplanen").click()
    table = page.get_by_role("table", name="Insatser")
    expect(table.get_by_role("row")).to_have_count(4)
    updates = page.get_by_role("link", name=re.compile("^Uppdatera"))
    expect(updates).to_have_count(1)  # the police's own measure only
    check_page(page, f"polis-plan-{backend}")
    updates.click()
    expect(page.get_by_role("heading", level=1, name="Insats")).to_be_visible()
    page.get_by_role("radio", name="Pågår").check()
    page.get_by_label("Lägesbeskrivning").fill("Första träffen hölls på stationen.")
    check_page(page, f"polis-insats-{backend}")
    page.get_by_role("button", name="Spara").click()
    row = page.get_by_role("row", name=re.compile("Kontaktperson hos polisen"))
    expect(row).to_contain_text("Pågår")
    expect(row).to_contain_text("Första träffen hölls på stationen.")

    page.get_by_role("link", name="Till ärendet").click()
    page.get_by_role("button", name="Skriv anteckning").click()
    page.get_by_label("Ny anteckning").fill("Polly kom till träffen i tid.")
    page.get_by_role("button", name="Spara anteckning").click()
    expect(page.get_by_text("Polly kom till träffen i tid.")).to_be_visible()
    assert "Socialtjänstens egen anteckning" not in page.content(), "no social notes"
    check_page(page, f"polis-anteckningar-{backend}")

    # The young person revokes (recorded by the social secretary): the very next page is 403.
    server.api("POST", f"/api/v1/cases/{case['id']}/consents/{consent['id']}/revoke", owner,
               {"party": "youth", "reason": "Vill inte längre"})
    response = page.reload()
    assert response.status == 403
    expect(page.get_by_role("heading", level=1, name="Du har inte behörighet")).to_be_visible()
    expect(page.get_by_text("Det finns inget aktivt samtycke som ger din verksamhet tillgång till ärendet.")).to_be_visible()
    assert "Polly" not in page.content()
    page.goto(f"{server.base}/arenden")
    expect(page.get_by_role("heading", level=1, name="Ärenden")).to_be_visible()
    assert page.get_by_role("link", name="Polly Exempelsson").count() == 0
    context.close()


def test_a_partner_reports_on_their_own_measure_only(any_server, browser):
    server = any_server
    case, _, plan, owner = seed(server, "Parisa", ["fritid-orebro"])
    police_measure = plan["measures"][1]["id"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    login(page, server.base, "fr-frida", "Frida Fritid", PARTNER, "Partner")
    page.goto(f"{server.base}/arenden/{case['id']}/plan")
    expect(page.get_by_role("link", name=re.compile("^Uppdatera"))).to_have_count(1)
    token = page.locator("input[name=csrf]").first.get_attribute("value")

    response = page.goto(f"{server.base}/arenden/{case['id']}/plan/insatser/{police_measure}")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1, name="Du har inte behörighet")).to_be_visible()
    forged = page.request.post(
        f"{server.base}/arenden/{case['id']}/plan/insatser/{police_measure}",
        form={"csrf": token, "version": "1", "status": "done", "progress_note": "Klart"},
        headers={"Origin": server.base},
    )
    assert forged.status == 403
    now = server.api("GET", f"/api/v1/cases/{case['id']}/plan", owner)
    assert now["version"] == 1 and now["measures"][1]["status"] == "planned"
    context.close()


def test_a_closed_case_stays_with_its_owner(any_server, browser):
    """Closed means closed: the partner's next page is the 403 page saying the case is closed;
    the owner's case page and "Vem kan se ärendet" say who lost access and why."""
    server = any_server
    case, _, _, owner = seed(server, "Cornelia", ["fritid-orebro"])
    backend = server.env["SIG_DATABASE_URL"].split(":")[0]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    login(page, server.base, "fr-frida", "Frida Fritid", PARTNER, "Partner")
    page.goto(f"{server.base}/arenden/{case['id']}")
    expect(page.get_by_role("heading", level=2, name="Den unge")).to_be_visible()
    view = server.api("GET", f"/api/v1/cases/{case['id']}", owner)
    server.api("PATCH", f"/api/v1/cases/{case['id']}", owner,
               {"status": "closed", "closure_reason": "Målen uppnådda"}, if_match=view["version"])
    response = page.reload()
    assert response.status == 403
    expect(page.get_by_role("heading", level=1, name="Ärendet är avslutat")).to_be_visible()
    assert "Cornelia" not in page.content()
    check_page(page, f"avslutat-partner-{backend}")
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    login(page, server.base, "ss-anna", "Anna Lindqvist", "Socialtjänsten Örebro kommun",
          "Socialsekreterare")
    page.goto(f"{server.base}/arenden/{case['id']}")
    expect(page.get_by_text("Ärendet är avslutat. Bara den ägande socialtjänsten")).to_be_visible()
    assert page.get_by_role("button", name="Skriv anteckning").count() == 0
    check_page(page, f"avslutat-agare-{backend}")
    page.get_by_role("link", name="Vem kan se ärendet").first.click()
    expect(page.get_by_role("heading", level=2, name="Har inte längre tillgång")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="Kultur och fritid")).to_be_visible()
    check_page(page, f"avslutat-atkomst-{backend}")
    context.close()
