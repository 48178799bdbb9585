//! "Statistik" (UI.md §4, §5.4): any signed-in user reads the per-area charts; a count from 1
//! to 4 appears nowhere in the page — not as text, not in the drawing.

use crate::audit::events;
use crate::on_both_backends;
use crate::support::fixtures::*;
use crate::support::{Backend, TestApp};
use crate::web::{assert_page_headers, login, page};

/// Every run of digits in `text` that stands alone (not part of a longer number, a date or a
/// time), as numbers.
fn lone_numbers(text: &str) -> Vec<u64> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let joined = |b: Option<&u8>| {
                b.is_some_and(|b| b.is_ascii_alphanumeric() || b"-:._".contains(b))
            };
            if !joined(start.checked_sub(1).map(|p| &bytes[p])) && !joined(bytes.get(i)) {
                found.push(text[start..i].parse().unwrap_or(u64::MAX));
            }
        } else {
            i += 1;
        }
    }
    found
}

async fn no_count_from_one_to_four_is_on_the_statistics_page(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for _ in 0..3 {
        create_case(&app, 16).await; // three open cases in Vivalla
    }
    let (cookie, _) = login(&app, "po-per", "Per", POLICE_AGENCY, "police_officer").await;
    let shown = page(&app, "/statistik", &cookie).await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert_page_headers(&shown);
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(event.event.action, "stats.read");
    let html = shown.text();
    let main = &html[html.find("<main").expect("main")..html.find("</main>").expect("/main")];
    assert!(
        main.contains("Vivalla") && main.contains("färre än 5"),
        "{main}"
    );
    assert!(main.contains("<title id=\"vivalla-cases-title\">"));
    let small: Vec<u64> = lone_numbers(main)
        .into_iter()
        .filter(|n| (1..=4).contains(n))
        .collect();
    assert!(small.is_empty(), "{small:?} in {main}");
    // The same figure is withheld by the API.
    let api = app.get("/api/v1/stats", Some(&police(&app))).await.json();
    let vivalla = api["areas"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["area"] == "vivalla"))
        .expect("vivalla")
        .clone();
    assert!(vivalla["cases"]["open"].is_null());
}

#[test]
fn lone_numbers_skip_dates_times_and_words() {
    assert_eq!(
        lone_numbers("a 3 b 2026-12-04 09:36 h2 x-1 12 5"),
        [3, 12, 5]
    );
}

on_both_backends!(no_count_from_one_to_four_is_on_the_statistics_page);
