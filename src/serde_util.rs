//! Small serde helpers for request bodies.

use serde::{Deserialize, Deserializer};

/// Tells "field absent" (outer `None`, via `#[serde(default)]`) from "field is null"
/// (`Some(None)`), so a PATCH can clear a value.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Instants kept as UTC `NaiveDateTime` (how the database stores them), written as RFC 3339
/// with `Z` so that a client never has to guess the zone and the OpenAPI `date-time` format
/// holds; reads that form or the bare one. Use as `#[serde(with = "crate::serde_util::utc")]`.
pub mod utc {
    use chrono::{DateTime, NaiveDateTime, SecondsFormat};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(at: &NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&at.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| D::Error::custom(format!("not a date-time: {text}")))
    }

    pub(super) fn parse(text: &str) -> Option<NaiveDateTime> {
        DateTime::parse_from_rfc3339(text)
            .map(|at| at.naive_utc())
            .ok()
            .or_else(|| text.parse().ok())
    }
}

/// [`utc`] for optional instants.
pub mod utc_opt {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(
        at: &Option<NaiveDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::utc::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => super::utc::parse(&text)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("not a date-time: {text}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct At {
        #[serde(with = "super::utc")]
        at: chrono::NaiveDateTime,
        #[serde(with = "super::utc_opt")]
        due: Option<chrono::NaiveDateTime>,
    }

    #[test]
    fn utc_instants_are_written_with_z_and_read_in_either_form() {
        let at = NaiveDate::from_ymd_opt(2026, 12, 17)
            .unwrap()
            .and_hms_micro_opt(16, 0, 0, 250_000)
            .unwrap();
        let value = At { at, due: None };
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, r#"{"at":"2026-12-17T16:00:00.250Z","due":null}"#);
        assert_eq!(serde_json::from_str::<At>(&json).unwrap(), value);
        let bare = r#"{"at":"2026-12-17T16:00:00.250","due":"2026-12-18T00:00:00+08:00"}"#;
        let read: At = serde_json::from_str(bare).unwrap();
        assert_eq!(read.at, at);
        assert_eq!(read.due.unwrap().to_string(), "2026-12-17 16:00:00");
    }
}
