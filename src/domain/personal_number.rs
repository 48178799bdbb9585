//! Swedish personal identity numbers (*personnummer*) and coordination numbers
//! (*samordningsnummer*), DOMAIN.md "Identity numbers".
//!
//! Accepted forms: `YYMMDDNNNC`, `YYMMDD-NNNC`, `YYMMDD+NNNC` (the `+` from the year the person
//! turns 100), `YYYYMMDDNNNC`, `YYYYMMDD-NNNC`. The check digit `C` is the Luhn digit over the
//! nine digits before it. A coordination number has 60 added to the day (61–91). Stored
//! normalised to twelve digits with the century. Gender is never derived from the number.

use chrono::{Datelike, NaiveDate};

/// A valid number, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalNumber {
    /// Twelve digits, `YYYYMMDDNNNC`.
    pub normalised: String,
    pub birth_date: NaiveDate,
    pub coordination: bool,
}

/// Why a number was refused (the message never repeats the number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("must be 10 or 12 digits (YYMMDD-NNNC or YYYYMMDD-NNNC)")]
    Format,
    #[error("does not hold a valid date of birth")]
    Date,
    #[error("fails the check digit (Luhn) test")]
    CheckDigit,
    #[error("lies in the future")]
    Future,
}

/// The Luhn check digit over `digits` (weights 2, 1, 2, 1, … from the left).
pub fn luhn_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let product = u32::from(*d) * if i % 2 == 0 { 2 } else { 1 };
            product / 10 + product % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Parses and validates `text` as of `today` (needed to place a ten-digit number in its century).
pub fn parse(text: &str, today: NaiveDate) -> Result<PersonalNumber, NumberError> {
    let text = text.trim();
    let (body, separator) = match text.char_indices().find(|(_, c)| *c == '-' || *c == '+') {
        Some((at, sep)) => {
            let (head, tail) = (&text[..at], &text[at + 1..]);
            if tail.len() != 4 || !(head.len() == 6 || head.len() == 8) {
                return Err(NumberError::Format);
            }
            (format!("{head}{tail}"), Some(sep))
        }
        None => (text.to_owned(), None),
    };
    if !(body.len() == 10 || body.len() == 12) || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::Format);
    }
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    let ten = &digits[digits.len() - 10..];
    if luhn_digit(&ten[..9]) != ten[9] {
        return Err(NumberError::CheckDigit);
    }
    let two = |d: &[u8]| i32::from(d[0]) * 10 + i32::from(d[1]);
    let month = two(&ten[2..4]) as u32;
    let mut day = two(&ten[4..6]) as u32;
    let coordination = day > 60;
    if coordination {
        day -= 60;
    }
    let year = if digits.len() == 12 {
        two(&digits[0..2]) * 100 + two(&digits[2..4])
    } else {
        // The latest year ending in YY whose date is not after today; `+` adds a century.
        let yy = two(&ten[0..2]);
        let mut year = today.year() - (today.year() - yy).rem_euclid(100);
        let birthday = NaiveDate::from_ymd_opt(year, month, day).ok_or(NumberError::Date)?;
        if birthday > today {
            year -= 100;
        }
        if separator == Some('+') {
            year -= 100;
        }
        year
    };
    let birth_date = NaiveDate::from_ymd_opt(year, month, day).ok_or(NumberError::Date)?;
    if birth_date > today {
        return Err(NumberError::Future);
    }
    let normalised = format!(
        "{year:04}{}",
        ten[2..]
            .iter()
            .map(|d| char::from(b'0' + d))
            .collect::<String>()
    );
    Ok(PersonalNumber {
        normalised,
        birth_date,
        coordination,
    })
}

/// Whole years from `birth` to `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    /// A valid 12-digit number for a birth date and serial.
    fn make(date: &str, serial: &str) -> String {
        let nine: Vec<u8> = format!("{}{serial}", &date[2..])
            .bytes()
            .map(|b| b - b'0')
            .collect();
        format!("{date}{serial}{}", luhn_digit(&nine))
    }

    #[test]
    fn luhn_matches_the_known_example() {
        // 811218-9876 is the Swedish Tax Agency's textbook example.
        assert_eq!(luhn_digit(&[8, 1, 1, 2, 1, 8, 9, 8, 7]), 6);
        assert!(parse("811218-9876", today()).is_ok());
        assert_eq!(parse("811218-9875", today()), Err(NumberError::CheckDigit));
    }

    #[test]
    fn every_written_form_normalises_to_twelve_digits() {
        let number = make("20100315", "238");
        let short = &number[2..];
        for form in [
            number.clone(),
            format!("{}-{}", &number[..8], &number[8..]),
            short.to_owned(),
            format!("{}-{}", &short[..6], &short[6..]),
        ] {
            let parsed = parse(&form, today()).unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_eq!(parsed.normalised, number, "{form}");
            assert_eq!(
                parsed.birth_date,
                NaiveDate::from_ymd_opt(2010, 3, 15).unwrap()
            );
            assert!(!parsed.coordination);
        }
    }

    #[test]
    fn ten_digits_take_the_latest_century_not_in_the_future_and_plus_adds_one() {
        let number = make("19300101", "123");
        let short = &number[2..];
        assert_eq!(parse(short, today()).unwrap().birth_date.year(), 1930);
        let young = make("20251231", "123");
        assert_eq!(parse(&young[2..], today()).unwrap().birth_date.year(), 2025);
        let hundred = make("19201231", "123");
        let plus = format!("{}+{}", &hundred[2..8], &hundred[8..]);
        assert_eq!(parse(&plus, today()).unwrap().normalised, hundred);
        // Tomorrow's date in a ten-digit number is last century's.
        let tomorrow = make("20261124", "123");
        assert_eq!(
            parse(&tomorrow[2..], today()).unwrap().birth_date.year(),
            1926
        );
    }

    #[test]
    fn coordination_numbers_add_sixty_to_the_day() {
        let number = make("20090375", "412"); // born 15 March 2009
        let parsed = parse(&number, today()).unwrap();
        assert!(parsed.coordination);
        assert_eq!(
            parsed.birth_date,
            NaiveDate::from_ymd_opt(2009, 3, 15).unwrap()
        );
        assert_eq!(parsed.normalised, number, "stored as given, day + 60 kept");
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for text in [
            "",
            "12345",
            "2010031523",
            "abcdefghij",
            "201003-15238",
            "2010-03-15-2382",
            "20100315 2382",
        ] {
            assert!(parse(text, today()).is_err(), "{text}");
        }
        assert_eq!(
            parse(&make("20101315", "238"), today()),
            Err(NumberError::Date),
            "month 13"
        );
        assert_eq!(
            parse(&make("20100230", "238"), today()),
            Err(NumberError::Date),
            "30 February"
        );
        assert_eq!(
            parse(&make("20100392", "238"), today()),
            Err(NumberError::Date),
            "day 92"
        );
        assert_eq!(
            parse(&make("20300101", "238"), today()),
            Err(NumberError::Future)
        );
    }

    #[test]
    fn age_counts_whole_years() {
        let birth = NaiveDate::from_ymd_opt(2008, 11, 24).unwrap();
        assert_eq!(
            age_on(birth, today()),
            17,
            "the day before the 18th birthday"
        );
        assert_eq!(
            age_on(birth, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()),
            18
        );
        let leap = NaiveDate::from_ymd_opt(2008, 2, 29).unwrap();
        assert_eq!(
            age_on(leap, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()),
            17
        );
        assert_eq!(
            age_on(leap, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()),
            18
        );
    }
}
