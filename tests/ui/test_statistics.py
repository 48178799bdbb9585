"""UI.md §5.4, the steering group: any signed-in user opens "Statistik" and reads the per-area
charts (SVG drawn by the service, each with a title and a data table beside it); no figure from
1 to 4 appears in the page or in its source. On SQLite and PostgreSQL."""

import re

from playwright.sync_api import expect

from conftest import check_page, login
from test_pages import personal_number

PARTNER = "Kultur och fritid, Örebro kommun"


def open_cases(server, area, count):
    owner = server.token("ss-anna", "Anna Lindqvist", "socialtjanst-orebro", "social_secretary")
    for n in range(count):
        server.api("POST", "/api/v1/cases", owner, {
            "area": area,
            "youth": {"personal_number": personal_number(19), "given_name": f"Stat{n}",
                      "family_name": "Exempelsson"},
            "guardians": [],
        })


def lone_small_numbers(text):
    """Standalone numbers 1–4 (not part of a longer number, a date, a time or a word)."""
    return re.findall(r"(?<![\w\-:.])[1-4](?![\w\-:.])", text)


def test_the_steering_group_reads_the_charts(any_server, context):
    server = any_server
    open_cases(server, "varberga", 3)   # withheld: "färre än 5"
    open_cases(server, "oxhagen", 6)    # shown
    page = context.new_page()
    login(page, server.base, "fr-frida", "Frida Fritid", PARTNER, "Partner")
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Statistik").click()
    expect(page.get_by_role("heading", level=1, name="Statistik")).to_be_visible()

    oxhagen = page.get_by_role("region", name="Oxhagen")
    expect(oxhagen.get_by_role("img", name=re.compile("^Ärenden efter status, Oxhagen"))).to_be_visible()
    cases = oxhagen.get_by_role("table", name="Ärenden efter status, Oxhagen")
    expect(cases.get_by_role("row", name="Öppna")).to_contain_text("6")

    varberga = page.get_by_role("region", name="Varberga")
    table = varberga.get_by_role("table", name="Ärenden efter status, Varberga")
    expect(table.get_by_role("row", name="Öppna")).to_contain_text("färre än 5")
    expect(varberga.get_by_text("Några antal i området är färre än 5")).to_be_visible()

    main = page.locator("main")
    assert lone_small_numbers(main.inner_text()) == []
    source = page.content()
    body = source[source.index("<main"):source.index("</main>")]
    assert lone_small_numbers(body) == [], "no figure 1–4 in the source either"
    check_page(page, "statistik")
