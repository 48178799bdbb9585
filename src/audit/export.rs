//! Export formats: NDJSON (one event per line, as the API shows it) and CSV (a header row of
//! the event's fields, `seq` first; nested values as JSON).

use super::AuditEvent;
use crate::clock::rfc3339_naive;
use crate::crypto::keys::hex;

pub const CSV_COLUMNS: [&str; 16] = [
    "seq",
    "id",
    "at",
    "actor",
    "action",
    "outcome",
    "status",
    "case_ids",
    "categories",
    "consent_id",
    "reason",
    "request_id",
    "method",
    "path",
    "prev_hash",
    "hash",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    pub fn parse(text: Option<&str>) -> Option<Self> {
        match text.unwrap_or("ndjson") {
            "ndjson" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    /// What comes before the first event.
    pub fn header(self) -> Vec<u8> {
        match self {
            Format::Ndjson => Vec::new(),
            Format::Csv => csv_record(CSV_COLUMNS.iter().map(|c| c.to_string()).collect()),
        }
    }

    /// One event, with its line ending.
    pub fn event(self, event: &AuditEvent) -> Vec<u8> {
        match self {
            Format::Ndjson => {
                let mut line = serde_json::to_vec(event).unwrap_or_default();
                line.push(b'\n');
                line
            }
            Format::Csv => csv_record(csv_fields(event)),
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn csv_fields(stored: &AuditEvent) -> Vec<String> {
    let e = &stored.event;
    vec![
        stored.seq.to_string(),
        e.id.clone(),
        rfc3339_naive(&e.at),
        json(&e.actor),
        e.action.clone(),
        e.outcome.clone(),
        e.status.to_string(),
        json(&e.case_ids),
        json(&e.categories),
        e.consent_id.clone().unwrap_or_default(),
        e.reason.clone(),
        e.request_id.clone().unwrap_or_default(),
        e.method.clone().unwrap_or_default(),
        e.path.clone().unwrap_or_default(),
        hex(&stored.prev_hash),
        hex(&stored.hash),
    ]
}

fn csv_record(fields: Vec<String>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(&fields);
    writer.into_inner().unwrap_or_default()
}
