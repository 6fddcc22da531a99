//! The 18-character resident ID number (居民身份证号码, GB 11643-1999).
//!
//! Layout: 6-digit region code, 8-digit birth date `YYYYMMDD`, 3-digit
//! sequence (odd last digit = male), and an ISO 7064 MOD 11-2 check
//! character that may be `X`.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Weights of the first 17 digits: 2^(17 - i) mod 11.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character indexed by the weighted sum mod 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// A validated resident ID number, stored with an uppercase `X`.
///
/// `Display` and `Debug` print the masked form so that an accidental `{}`
/// in a log line never leaks the full number; `Serialize` writes the full
/// number because masking for API responses is decided per role elsewhere.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct IdNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("ID number must be exactly 18 characters long")]
    Length,
    #[error("ID number must be 17 digits followed by a digit or X")]
    Characters,
    #[error("ID number contains an invalid birth date")]
    BirthDate,
    #[error("ID number check character is wrong; it should be {expected}")]
    Checksum { expected: char },
}

impl IdNumberError {
    /// Stable machine-readable code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Length => "id_number_length",
            Self::Characters => "id_number_characters",
            Self::BirthDate => "id_number_birth_date",
            Self::Checksum { .. } => "id_number_checksum",
        }
    }

    pub fn message_en(&self) -> String {
        self.to_string()
    }

    pub fn message_zh(&self) -> String {
        match self {
            Self::Length => "身份证号码应为 18 位".to_owned(),
            Self::Characters => "身份证号码前 17 位应为数字，最后一位应为数字或 X".to_owned(),
            Self::BirthDate => "身份证号码中的出生日期无效".to_owned(),
            Self::Checksum { expected } => format!("身份证号码校验位错误，应为 {expected}"),
        }
    }
}

/// ISO 7064 MOD 11-2 check character for the first 17 digits.
///
/// # Panics
/// If `first17` is not exactly 17 ASCII digits; callers build it themselves.
pub fn check_character(first17: &str) -> char {
    assert!(
        first17.len() == 17 && first17.bytes().all(|b| b.is_ascii_digit()),
        "check_character needs exactly 17 digits"
    );
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl IdNumber {
    pub fn parse(raw: &str) -> Result<IdNumber, IdNumberError> {
        Self::parse_as_of(raw, chrono::Local::now().date_naive())
    }

    /// `today` is explicit so tests can pin the upper bound of the birth date.
    fn parse_as_of(raw: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
        let s = raw.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(IdNumberError::Length);
        }
        // 18 chars that are all ASCII is also 18 bytes, so byte slicing below is safe.
        let bytes = s.as_bytes();
        if !bytes.iter().all(u8::is_ascii)
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(IdNumberError::Characters);
        }
        let birth = parse_birth_date(&s[6..14]).ok_or(IdNumberError::BirthDate)?;
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid constant date");
        if birth < earliest || birth > today {
            return Err(IdNumberError::BirthDate);
        }
        let expected = check_character(&s[..17]);
        if char::from(bytes[17]) != expected {
            return Err(IdNumberError::Checksum { expected });
        }
        Ok(IdNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        parse_birth_date(&self.0[6..14]).expect("birth date validated by parse")
    }

    /// The 17th character (last sequence digit) is odd for men.
    pub fn is_male(&self) -> bool {
        (self.0.as_bytes()[16] - b'0') % 2 == 1
    }

    /// Completed years on `date`; 0 if `date` is before the birth date.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        date.years_since(self.birth_date()).unwrap_or(0)
    }

    /// First 6 and last 4 characters, e.g. `421083********123X`.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// The 6-digit administrative division code of the issuing region.
    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }
}

fn parse_birth_date(yyyymmdd: &str) -> Option<NaiveDate> {
    let year = yyyymmdd.get(0..4)?.parse().ok()?;
    let month = yyyymmdd.get(4..6)?.parse().ok()?;
    let day = yyyymmdd.get(6..8)?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

impl TryFrom<String> for IdNumber {
    type Error = IdNumberError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        IdNumber::parse(&value)
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a valid number from region, birth date and sequence.
    fn make(region: &str, birth: NaiveDate, seq: u32) -> String {
        let first17 = format!("{region}{}{seq:03}", birth.format("%Y%m%d"));
        format!("{first17}{}", check_character(&first17))
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn known_numbers_have_expected_check_characters() {
        // The worked example from GB 11643-1999.
        assert_eq!(check_character("11010519491231002"), 'X');
        assert_eq!(check_character("44052418800101001"), '4');
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("440524188001010014").is_err()); // born before 1900
    }

    #[test]
    fn parses_trimmed_lowercase_x() {
        let id = IdNumber::parse("  11010519491231002x\n").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn accessors() {
        let id = IdNumber::parse(&make("421083", date(1980, 2, 29), 123)).unwrap();
        assert_eq!(id.region_code(), "421083");
        assert_eq!(id.birth_date(), date(1980, 2, 29));
        assert!(id.is_male()); // sequence 123: the 17th character 3 is odd
    }

    #[test]
    fn sex_follows_17th_character() {
        let male = IdNumber::parse(&make("421083", date(1970, 5, 1), 11)).unwrap();
        let female = IdNumber::parse(&make("421083", date(1970, 5, 1), 12)).unwrap();
        assert!(male.is_male());
        assert!(!female.is_male());
    }

    #[test]
    fn age_counts_completed_years() {
        let id = IdNumber::parse(&make("421083", date(1980, 2, 29), 1)).unwrap();
        assert_eq!(id.age_on(date(1980, 2, 29)), 0);
        assert_eq!(id.age_on(date(2020, 2, 28)), 39);
        assert_eq!(id.age_on(date(2020, 2, 29)), 40);
        assert_eq!(id.age_on(date(1970, 1, 1)), 0);
    }

    #[test]
    fn masked_keeps_region_and_last_four() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(id.to_string(), "110105********002X");
        assert_eq!(format!("{id:?}"), "IdNumber(110105********002X)");
        assert!(!format!("{id} {id:?}").contains("19491231"));
    }

    #[test]
    fn errors_in_check_order() {
        assert_eq!(IdNumber::parse(""), Err(IdNumberError::Length));
        assert_eq!(
            IdNumber::parse("11010519491231002"),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002XX"),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            IdNumber::parse("1101051949123100AX"),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002Y"),
            Err(IdNumberError::Characters)
        );
        // 18 characters but not 18 bytes.
        assert_eq!(
            IdNumber::parse("1101051949123100２X"),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            IdNumber::parse(&make("421083", date(1999, 1, 1), 1).replace("19990101", "19990230")),
            Err(IdNumberError::BirthDate)
        );
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(IdNumberError::Checksum { expected: 'X' })
        );
    }

    #[test]
    fn birth_date_must_not_be_in_the_future() {
        let number = make("421083", date(2030, 6, 1), 5);
        assert_eq!(
            IdNumber::parse_as_of(&number, date(2030, 5, 31)),
            Err(IdNumberError::BirthDate)
        );
        assert!(IdNumber::parse_as_of(&number, date(2030, 6, 1)).is_ok());
    }

    #[test]
    fn error_codes_and_messages() {
        let err = IdNumberError::Checksum { expected: 'X' };
        assert_eq!(err.code(), "id_number_checksum");
        assert_eq!(err.message_zh(), "身份证号码校验位错误，应为 X");
        assert!(err.message_en().contains("should be X"));
        assert_eq!(IdNumberError::Length.code(), "id_number_length");
        assert_eq!(IdNumberError::Characters.code(), "id_number_characters");
        assert_eq!(IdNumberError::BirthDate.code(), "id_number_birth_date");
    }

    #[test]
    fn serde_writes_full_number_and_validates_on_read() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"11010519491231002X\""
        );
        let back: IdNumber = serde_json::from_str("\"11010519491231002x\"").unwrap();
        assert_eq!(back, id);
        let err = serde_json::from_str::<IdNumber>("\"110105194912310021\"").unwrap_err();
        assert!(err.to_string().contains("check character"));
    }

    fn valid_first17() -> impl Strategy<Value = String> {
        let earliest = date(1900, 1, 1);
        let span = (chrono::Local::now().date_naive() - earliest).num_days();
        ("[0-9]{6}", 0..=span, 0u32..1000).prop_map(move |(region, offset, seq)| {
            let birth = earliest + chrono::Duration::days(offset);
            format!("{region}{}{seq:03}", birth.format("%Y%m%d"))
        })
    }

    proptest! {
        #[test]
        fn valid_numbers_parse(first17 in valid_first17()) {
            let number = format!("{first17}{}", check_character(&first17));
            let id = IdNumber::parse(&number).unwrap();
            prop_assert_eq!(id.as_str(), number.as_str());
        }

        #[test]
        fn any_single_change_is_rejected(
            first17 in valid_first17(),
            index in 0usize..18,
            replacement in prop::sample::select("0123456789X".chars().collect::<Vec<_>>()),
        ) {
            let mut chars: Vec<char> = first17.chars().collect();
            chars.push(check_character(&first17));
            // Only the last position may hold X.
            prop_assume!(index == 17 || replacement != 'X');
            prop_assume!(chars[index] != replacement);
            chars[index] = replacement;
            let changed: String = chars.into_iter().collect();
            let err = IdNumber::parse(&changed).unwrap_err();
            let rejected = matches!(err, IdNumberError::Checksum { .. } | IdNumberError::BirthDate);
            prop_assert!(rejected, "unexpected error {:?}", err);
        }

        #[test]
        fn serde_round_trip(first17 in valid_first17()) {
            let id = IdNumber::parse(&format!("{first17}{}", check_character(&first17))).unwrap();
            let json = serde_json::to_string(&id).unwrap();
            let back: IdNumber = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, id);
        }
    }
}
