//! "Statistik" (UI.md §4 and §5.4): per area, bar charts drawn by the service as SVG — cases by
//! status, consents by state, measures by agency and status — each with a title and a data table
//! beside it as its text alternative (`stats.read`, as `GET /api/v1/stats`). A withheld count
//! (1–4) is drawn as no bar and written "färre än 5": the page holds no such count, not even in
//! the drawing's coordinates.

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use askama::Template;

use super::pages::agency_name;
use super::session::Session;
use super::{call, html, words, Layout, PageError};
use crate::audit::Action;
use crate::usecase::reference::AgencyView;
use crate::usecase::stats::{self, AreaStats};
use crate::work;

/// The drawing's scale (user units; the SVG scales to the page): each row has its label above
/// a bar at most [`BAR_SPACE`] long; a bar of a count that is not zero is at least [`MIN_BAR`]
/// long, so no length, and no coordinate, is a small number a reader could take for a count.
const WIDTH: i64 = 1000;
const BAR_SPACE: i64 = 760;
const MIN_BAR: i64 = 10;
const ROW: i64 = 90;

/// One bar.
struct Bar {
    label: String,
    /// "12", "0" or "färre än 5".
    shown: String,
    /// Where the bar's row starts, and its length (0: no bar).
    y: i64,
    length: i64,
}

impl Bar {
    fn text_y(&self) -> i64 {
        self.y + 30
    }

    fn bar_y(&self) -> i64 {
        self.y + 42
    }

    fn value_y(&self) -> i64 {
        self.y + 70
    }

    fn value_x(&self) -> i64 {
        self.length + 12
    }
}

/// One chart and its table.
struct Chart {
    id: String,
    title: String,
    bars: Vec<Bar>,
}

impl Chart {
    fn new(id: String, title: String, counts: Vec<(String, Option<i64>)>) -> Self {
        let max = counts
            .iter()
            .filter_map(|(_, c)| *c)
            .max()
            .unwrap_or(0)
            .max(1);
        let bars = counts
            .into_iter()
            .enumerate()
            .map(|(n, (label, count))| Bar {
                label,
                shown: count.map_or_else(
                    || "färre än 5".to_owned(),
                    |c| words::thousands(usize::try_from(c).unwrap_or(0)),
                ),
                y: 10 + ROW * n as i64,
                length: match count {
                    Some(c) if c > 0 => (c * BAR_SPACE / max).max(MIN_BAR),
                    _ => 0,
                },
            })
            .collect();
        Self { id, title, bars }
    }

    fn height(&self) -> i64 {
        20 + ROW * self.bars.len() as i64
    }

    fn width(&self) -> i64 {
        WIDTH
    }
}

/// One area's charts.
struct AreaCharts {
    slug: String,
    name: String,
    suppressed: bool,
    charts: Vec<Chart>,
}

fn area_charts(area: &AreaStats, name: String, agencies: &[AgencyView]) -> AreaCharts {
    let n = &area.area;
    let cases = &area.cases;
    let consents = &area.consents;
    let pairs = |items: &[(&str, Option<i64>)]| -> Vec<(String, Option<i64>)> {
        items.iter().map(|(l, c)| ((*l).to_owned(), *c)).collect()
    };
    let mut measures: Vec<(String, Option<i64>)> = area
        .measures
        .iter()
        .map(|m| {
            (
                format!(
                    "{} – {}",
                    agency_name(agencies, &m.agency),
                    words::measure_status(&m.status)
                ),
                m.count,
            )
        })
        .collect();
    measures.sort_by(|a, b| a.0.cmp(&b.0));
    let mut charts = vec![
        Chart::new(
            format!("{n}-cases"),
            format!("Ärenden efter status, {name}"),
            pairs(&[
                ("Öppna", cases.open),
                ("Aktiva", cases.active),
                ("Avslutade", cases.closed),
            ]),
        ),
        Chart::new(
            format!("{n}-consents"),
            format!("Samtycken efter läge, {name}"),
            pairs(&[
                ("Aktiva", consents.active),
                ("Planerade", consents.scheduled),
                ("Nekade", consents.refused),
                ("Utgångna", consents.expired),
                ("Återkallade", consents.revoked),
                ("Ersatta", consents.superseded),
            ]),
        ),
    ];
    if !measures.is_empty() {
        charts.push(Chart::new(
            format!("{n}-measures"),
            format!("Insatser efter verksamhet och status, {name}"),
            measures,
        ));
    }
    AreaCharts {
        slug: area.area.clone(),
        name,
        suppressed: area.suppressed,
        charts,
    }
}

#[derive(Template)]
#[template(path = "statistics.html")]
struct StatisticsPage {
    layout: Layout,
    generated: String,
    areas: Vec<AreaCharts>,
}

/// `GET /statistik`: for everyone signed in.
pub async fn show(
    req: HttpRequest,
    session: Session,
) -> Result<actix_web::HttpResponse, PageError> {
    let found = work::read(call(&req, &session, Action::StatsRead)?, 200, stats::read).await?;
    let lists = super::reference_lists(&req).await?;
    let areas = found
        .areas
        .iter()
        .map(|area| {
            let name = lists
                .0
                .iter()
                .find(|a| a.slug == area.area)
                .map_or_else(|| area.area.clone(), |a| a.name.clone());
            area_charts(area, name, &lists.1)
        })
        .collect();
    let page = StatisticsPage {
        layout: Layout::of(&req, Some(&session))?,
        generated: words::local_time(&found.generated_at),
        areas,
    };
    Ok(html(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_withheld_count_has_no_bar_and_no_small_length() {
        let chart = Chart::new(
            "c".into(),
            "t".into(),
            vec![
                ("a".into(), Some(2000)),
                ("b".into(), None),
                ("c".into(), Some(5)),
                ("d".into(), Some(0)),
            ],
        );
        let lengths: Vec<i64> = chart.bars.iter().map(|b| b.length).collect();
        assert_eq!(lengths, [BAR_SPACE, 0, MIN_BAR, 0]);
        assert_eq!(chart.bars[1].shown, "färre än 5");
        assert_eq!(chart.bars[0].shown, "2\u{a0}000");
        for bar in &chart.bars {
            for v in [
                bar.y,
                bar.bar_y(),
                bar.text_y(),
                bar.value_y(),
                bar.value_x(),
                bar.length,
            ] {
                assert!(!(1..=4).contains(&v), "{v}");
            }
        }
    }
}
