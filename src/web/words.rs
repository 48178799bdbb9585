//! The Swedish words of the pages (UI.md §4, DOMAIN.md's glossary), and the small formatting
//! they need: times in Europe/Stockholm as `2026-12-03 14:05`.

use chrono::DateTime;

use crate::auth::Role;
use crate::error::UseCaseError;

/// A case's status in words.
pub fn case_status(status: &str) -> &'static str {
    match status {
        "open" => "Öppet",
        "active" => "Aktivt",
        "closed" => "Avslutat",
        _ => "Okänt",
    }
}

/// A consent's state in words.
pub fn consent_state(state: &str) -> &'static str {
    match state {
        "active" => "Aktivt",
        "scheduled" => "Planerat",
        "refused" => "Nekat",
        "expired" => "Utgånget",
        "revoked" => "Återkallat",
        "superseded" => "Ersatt",
        _ => "Inget samtycke",
    }
}

/// A measure's status in words (UI.md §4 "Insats").
pub fn measure_status(status: &str) -> &'static str {
    match status {
        "planned" => "Planerad",
        "ongoing" => "Pågår",
        "done" => "Klar",
        "cancelled" => "Avbruten",
        _ => "Okänd",
    }
}

/// The statuses a measure can have, with their words, in the order a form offers them.
pub const MEASURE_STATUSES: [(&str, &str); 4] = [
    ("planned", "Planerad"),
    ("ongoing", "Pågår"),
    ("done", "Klar"),
    ("cancelled", "Avbruten"),
];

/// A plan's status in words: "Utkast", or "Överenskommen {date}".
pub fn plan_status(status: &str, agreed_on: Option<&str>) -> String {
    match (status, agreed_on) {
        ("agreed", Some(on)) => format!("Överenskommen {on}"),
        ("agreed", None) => "Överenskommen".to_owned(),
        _ => "Utkast".to_owned(),
    }
}

/// Every audited action with its words (API.md §10), in the order the log's filter offers them.
pub const ACTIONS: [(&str, &str); 36] = [
    ("case.read", "Läste ärende"),
    ("case.list", "Listade ärenden"),
    ("case.create", "Skapade ärende"),
    ("case.update", "Ändrade ärende"),
    ("consent.create", "Registrerade samtycke"),
    ("consent.list", "Läste samtycken"),
    ("consent.revoke", "Återkallade samtycke"),
    ("plan.read", "Läste genomförandeplan"),
    ("plan.update", "Ändrade genomförandeplan"),
    ("plan.agree", "Markerade planen som överenskommen"),
    ("plan.measure.update", "Uppdaterade insats"),
    ("plan.follow_up.create", "Registrerade uppföljning"),
    ("plan.versions.read", "Läste planens versioner"),
    ("note.create", "Skrev anteckning"),
    ("note.list", "Läste anteckningar"),
    ("access.read", "Läste vem som kan se ärendet"),
    ("access_log.read", "Läste loggutdrag"),
    ("audit.search", "Sökte i loggen"),
    ("audit.export", "Exporterade loggen"),
    ("audit.verify", "Kontrollerade loggen"),
    ("audit.anomalies", "Läste avvikelser"),
    ("audit.checkpoints", "Läste kontrollpunkter"),
    ("audit.review.create", "Registrerade logguppföljning"),
    ("audit.review.list", "Läste logguppföljningar"),
    ("audit.proof.inclusion", "Hämtade bevis för en händelse"),
    (
        "audit.proof.consistency",
        "Hämtade bevis för att loggen bara vuxit",
    ),
    ("stats.read", "Läste statistik"),
    ("agency.create", "Registrerade verksamhet"),
    ("session.login", "Loggade in"),
    ("session.logout", "Loggade ut"),
    ("session.expired", "Sessionen gick ut"),
    ("auth.failed", "Misslyckad inloggning"),
    ("auth.throttled", "Spärrade misslyckade inloggningar"),
    ("request.unmatched", "Okänd adress"),
    ("case.erase", "Gallrade ärende"),
    ("case.archive", "Arkiverade ärende"),
];

/// An audited action in words; an unknown one as it is stored.
pub fn action(action: &str) -> String {
    ACTIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or_else(|| action.to_owned(), |(_, words)| (*words).to_owned())
}

/// An event's outcome in words.
pub fn outcome(outcome: &str) -> &'static str {
    match outcome {
        "allowed" => "Tillåten",
        "denied" => "Nekad",
        _ => "Fel",
    }
}

/// The outcomes the log's filter offers.
pub const OUTCOMES: [(&str, &str); 3] = [
    ("allowed", "Tillåten"),
    ("denied", "Nekad"),
    ("error", "Fel"),
];

/// The roles in words (the development login's checkboxes, UI.md §4).
pub const ROLE_WORDS: [(Role, &str); 5] = [
    (Role::SocialSecretary, "Socialsekreterare"),
    (Role::PoliceOfficer, "Polis"),
    (Role::Partner, "Partner"),
    (Role::Auditor, "Granskare"),
    (Role::Admin, "Administratör"),
];

/// A role as the token names it (`police_officer`), in words.
pub fn role(role: &str) -> &'static str {
    ROLE_WORDS
        .iter()
        .find(|(r, _)| r.as_str() == role)
        .map_or("Okänd roll", |(_, words)| words)
}

/// A consent category in words.
pub fn category(category: &str) -> &'static str {
    match category {
        "identity" => "Identitetsuppgifter",
        "plan" => "Genomförandeplan",
        "social_notes" => "Socialtjänstens anteckningar",
        "police_notes" => "Polisens anteckningar",
        "school_notes" => "Skolans anteckningar",
        "partner_notes" => "Partners anteckningar",
        _ => "Okänd kategori",
    }
}

/// An RFC 3339 time as Stockholm's `YYYY-MM-DD HH:MM`; the text itself when it is not one.
pub fn local_time(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|at| {
            at.with_timezone(&chrono_tz::Europe::Stockholm)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// The heading and the advice of an error page.
pub fn error_text(error: &UseCaseError) -> (&'static str, &'static str) {
    match error {
        UseCaseError::ConsentRequired(_) => (
            "Du har inte behörighet",
            "Det finns inget aktivt samtycke som ger din verksamhet tillgång till ärendet.",
        ),
        UseCaseError::Forbidden(message) if message.contains("case is closed") => (
            "Ärendet är avslutat",
            "Ett avslutat ärende ser bara den ägande socialtjänsten, även om samtycket fortfarande gäller. Kontakta ärendets socialsekreterare om du har frågor.",
        ),
        UseCaseError::Forbidden(_) | UseCaseError::UnknownAgency => (
            "Du har inte behörighet",
            "Din roll eller verksamhet får inte se det här. Kontakta ärendets socialsekreterare om du behöver tillgång.",
        ),
        UseCaseError::NotFound(_) | UseCaseError::BadRequest(_) => (
            "Sidan finns inte",
            "Kontrollera adressen, eller gå tillbaka till ärendelistan.",
        ),
        UseCaseError::Conflict(message) if message.contains("active consent") => (
            "Det gick inte att spara",
            "Det behövs ett aktivt samtycke först. Registrera samtycket, och försök sedan igen.",
        ),
        UseCaseError::Conflict(_) | UseCaseError::PreconditionFailed => (
            "Det gick inte att spara",
            "Någon annan har ändrat uppgifterna, eller ärendet tar inte emot ändringar. Ladda om sidan och försök igen.",
        ),
        UseCaseError::RateLimited { .. } => (
            "För många förfrågningar",
            "Vänta en stund och försök igen.",
        ),
        _ => (
            "Tjänsten är tillfälligt otillgänglig",
            "Ingenting visades eller ändrades. Försök igen om en stund.",
        ),
    }
}

/// A rule broken in a form, in Swedish: what to do about the field (the API's English message
/// tells which rule; the page says what to fix).
pub fn field_error(field: &str, message: &str) -> &'static str {
    let name = field.rsplit('.').next().unwrap_or(field);
    match name {
        "personal_number" if message.contains("years old") => "Den unge måste vara 12–25 år.",
        "personal_number" => {
            "Ange ett giltigt personnummer eller samordningsnummer (ÅÅÅÅMMDD-NNNN)."
        }
        "given_name" => "Ange förnamn (högst 100 tecken).",
        "family_name" => "Ange efternamn (högst 100 tecken).",
        "phone" | "address" => "Får vara högst 300 tecken.",
        "area" => "Välj ett område.",
        "guardians" => "Den som är under 18 år behöver minst en vårdnadshavare som har vårdnad.",
        "source_agency" => "Välj en hänvisande verksamhet.",
        "reason" => "Får vara högst 2 000 tecken.",
        _ => "Kontrollera uppgiften.",
    }
}

/// The id of a form field for an API field path: `guardians[1].phone` → `f-guardians-1-phone`.
pub fn field_id(field: &str) -> String {
    let mut id = String::from("f-");
    for c in field.chars() {
        match c {
            '.' | '[' => id.push('-'),
            ']' => {}
            c => id.push(c),
        }
    }
    id
}

/// A personal number as people write it: `YYYYMMDD-NNNN`.
pub fn personal_number(number: &str) -> String {
    match number.len() {
        12 if number.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}-{}", &number[..8], &number[8..])
        }
        _ => number.to_owned(),
    }
}

/// A count with a space between thousands, as Swedish writes it: `20 000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

/// An API field path about the i-th item sent (`guardians[i]…`) as the form's own numbering:
/// the form leaves its empty entries out, and `positions[i]` is where the i-th sent one stands.
pub fn renumber(field: &str, positions: &[usize]) -> String {
    let Some(rest) = field.strip_prefix("guardians[") else {
        return field.to_owned();
    };
    let Some((index, tail)) = rest.split_once(']') else {
        return field.to_owned();
    };
    match index.parse::<usize>().ok().and_then(|i| positions.get(i)) {
        Some(position) => format!("guardians[{position}]{tail}"),
        None => field.to_owned(),
    }
}

/// A date as the forms take it: `ÅÅÅÅ-MM-DD`, blanks around it ignored.
pub fn date(text: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Percent-encodes a path for a query string.
pub fn url_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_stockholm() {
        assert_eq!(local_time("2026-12-03T13:05:00Z"), "2026-12-03 14:05");
        assert_eq!(
            local_time("2026-07-03T13:05:00.123456Z"),
            "2026-07-03 15:05"
        );
    }

    #[test]
    fn personal_numbers_are_shown_with_their_dash() {
        assert_eq!(personal_number("201011041017"), "20101104-1017");
        assert_eq!(personal_number("20101104-1017"), "20101104-1017");
    }

    #[test]
    fn field_paths_become_ids() {
        assert_eq!(field_id("youth.personal_number"), "f-youth-personal_number");
        assert_eq!(field_id("guardians[1].phone"), "f-guardians-1-phone");
        assert_eq!(
            field_error("guardians[0].given_name", "must be 1–100 characters"),
            "Ange förnamn (högst 100 tecken)."
        );
    }

    /// Every action the service records has its words in the log's pages.
    #[test]
    fn every_action_has_its_words() {
        use crate::audit::{Action, ROUTE_ACTIONS};
        let mut all: Vec<Action> = ROUTE_ACTIONS.iter().map(|(_, _, a)| *a).collect();
        all.extend([
            Action::AuthFailed,
            Action::AuthThrottled,
            Action::RequestUnmatched,
            Action::CaseErase,
            Action::CaseArchive,
            Action::SessionLogin,
            Action::SessionLogout,
            Action::SessionExpired,
        ]);
        for recorded in all {
            let name = recorded.as_str();
            assert_ne!(action(name), name, "{name} has no words");
        }
    }

    #[test]
    fn every_consent_state_has_its_word() {
        for (state, word) in [
            ("active", "Aktivt"),
            ("scheduled", "Planerat"),
            ("refused", "Nekat"),
            ("expired", "Utgånget"),
            ("revoked", "Återkallat"),
            ("superseded", "Ersatt"),
            ("none", "Inget samtycke"),
        ] {
            assert_eq!(consent_state(state), word);
        }
    }
}
