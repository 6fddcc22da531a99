//! What the phones planned and what the server acknowledged, one JSON line each, so that a
//! run killed part way (or a server killed under it) can be checked and finished: every
//! acknowledged visit must be stored, and a later run with the same journal first sends
//! again every planned visit the server never acknowledged (same photos, same visit id).
//!
//! Each line is written with one `write` call straight to the file (no user-space buffer),
//! so whatever the server acknowledged is on disk before the phone goes on, whichever side
//! is killed. A torn last line (the load generator itself killed mid-write) is ignored.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    /// Written before the visit's first upload: all it takes to send it again.
    Planned(Plan),
    /// The server has the photo: its upload finished (or it was stored already).
    Photo { digest: String },
    /// The server answered the visit's submission 200 or 201.
    Visit { id: String, status: u16 },
}

/// A visit as the phone will send it, and how to take its photos again byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub coordinator: String,
    /// The submission body; `photos[i].digest` is the SHA-256 of photo `i` below.
    pub visit: Value,
    pub photos: Vec<PlannedPhoto>,
}

impl Plan {
    pub fn visit_id(&self) -> &str {
        self.visit["visit_id"].as_str().unwrap_or_default()
    }

    pub fn household_id(&self) -> &str {
        self.visit["household_id"].as_str().unwrap_or_default()
    }
}

/// A cached scene with the EXIF the phone gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedPhoto {
    pub scene: PathBuf,
    pub lat: f64,
    pub lon: f64,
    /// Capture time on the phone's clock (China time).
    pub taken: NaiveDateTime,
}

pub struct Journal {
    file: Mutex<std::fs::File>,
}

impl Journal {
    /// Opens `path` for appending and returns what earlier runs wrote to it.
    pub fn open(path: &Path) -> anyhow::Result<(Journal, Vec<Entry>)> {
        let earlier = match std::fs::read_to_string(path) {
            Ok(text) => parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("journal {}", path.display())),
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("journal {}", path.display()))?;
        Ok((
            Journal {
                file: Mutex::new(file),
            },
            earlier,
        ))
    }

    pub fn record(&self, entry: &Entry) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| anyhow::anyhow!("journal lock poisoned"))?;
        file.write_all(&line)?;
        Ok(())
    }
}

/// The lines that parse; a torn or foreign line is skipped.
fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// What earlier runs left: the planned visits never acknowledged, by coordinator, and every
/// household they planned a visit for (none of which a new visit may take).
#[derive(Debug, Default)]
pub struct Unfinished {
    pub by_coordinator: HashMap<String, Vec<Plan>>,
    pub households: HashSet<String>,
}

impl Unfinished {
    pub fn from_entries(entries: Vec<Entry>) -> Unfinished {
        let acknowledged: HashSet<String> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Visit { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        let mut unfinished = Unfinished::default();
        let mut seen = HashSet::new();
        for entry in entries {
            let Entry::Planned(plan) = entry else {
                continue;
            };
            unfinished.households.insert(plan.household_id().to_owned());
            if acknowledged.contains(plan.visit_id()) || !seen.insert(plan.visit_id().to_owned()) {
                continue;
            }
            unfinished
                .by_coordinator
                .entry(plan.coordinator.clone())
                .or_default()
                .push(plan);
        }
        unfinished
    }

    pub fn len(&self) -> usize {
        self.by_coordinator.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(visit: &str, household: &str) -> Entry {
        Entry::Planned(Plan {
            coordinator: "coord01".into(),
            visit: json!({ "visit_id": visit, "household_id": household, "photos": [] }),
            photos: vec![PlannedPhoto {
                scene: "/tmp/scene1.jpg".into(),
                lat: 29.9,
                lon: 113.4,
                taken: chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
                    .unwrap()
                    .and_hms_opt(9, 30, 0)
                    .unwrap(),
            }],
        })
    }

    #[test]
    fn a_journal_reopened_holds_what_was_recorded_and_skips_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let (journal, earlier) = Journal::open(&path).unwrap();
        assert!(earlier.is_empty());
        let entries = [
            plan("v1", "h1"),
            Entry::Photo {
                digest: "ab".repeat(32),
            },
            Entry::Visit {
                id: "v1".into(),
                status: 201,
            },
        ];
        for e in &entries {
            journal.record(e).unwrap();
        }
        drop(journal);
        // As a kill mid-write leaves it.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(br#"{"event":"visit","id":"v2"#)
            .unwrap();
        let (_, again) = Journal::open(&path).unwrap();
        assert_eq!(again, entries);
    }

    #[test]
    fn only_planned_visits_never_acknowledged_are_unfinished() {
        let unfinished = Unfinished::from_entries(vec![
            plan("v1", "h1"),
            plan("v2", "h2"),
            Entry::Visit {
                id: "v1".into(),
                status: 201,
            },
            // Planned again by a resumed run: still one visit to finish.
            plan("v2", "h2"),
        ]);
        assert_eq!(unfinished.len(), 1);
        assert_eq!(unfinished.by_coordinator["coord01"][0].visit_id(), "v2");
        assert_eq!(
            unfinished.households,
            HashSet::from(["h1".to_owned(), "h2".to_owned()])
        );
    }
}
