//! What a run measured: latency per operation, counts, evidence flags and errors by kind.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The timed requests a phone makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Login,
    Assignments,
    UploadCreate,
    UploadPatch,
    UploadHead,
    VisitSubmit,
    /// The same visit sent again, as a phone does when the answer was lost.
    VisitResubmit,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Login => "login",
            Op::Assignments => "assignments",
            Op::UploadCreate => "upload create",
            Op::UploadPatch => "upload patch",
            Op::UploadHead => "upload head",
            Op::VisitSubmit => "visit submit",
            Op::VisitResubmit => "visit resubmit",
        }
    }
}

/// One phone's tally; phones merge theirs at the end.
#[derive(Debug, Default)]
pub struct Stats {
    latencies: BTreeMap<Op, Vec<Duration>>,
    /// Photos fully uploaded and their bytes.
    pub photos: u64,
    pub bytes: u64,
    /// Ids of the visits the server stored.
    pub visits: Vec<String>,
    pub resubmits: u64,
    /// Uploads cut off part way and resumed from the server's offset.
    pub interrupted: u64,
    /// Resume attempts the server asked to repeat (the cut-off request still finishing).
    pub resume_retries: u64,
    /// Completed photos uploaded again whole (must be a no-op).
    pub reuploads: u64,
    /// Requests repeated after a dropped connection or a 503 (`--retry-secs`).
    pub retries: u64,
    /// Visits an earlier run left unacknowledged, sent again (`--journal`).
    pub resumed: u64,
    /// Evidence flags the server raised, by kind (not errors: a reviewer's business).
    pub flags: BTreeMap<String, u64>,
    /// Unexpected outcomes by kind; any of them fails the run.
    pub errors: BTreeMap<String, u64>,
}

impl Stats {
    pub fn record(&mut self, op: Op, took: Duration) {
        self.latencies.entry(op).or_default().push(took);
    }

    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: Stats) {
        for (op, mut took) in other.latencies {
            self.latencies.entry(op).or_default().append(&mut took);
        }
        self.photos += other.photos;
        self.bytes += other.bytes;
        self.visits.extend(other.visits);
        self.resubmits += other.resubmits;
        self.interrupted += other.interrupted;
        self.resume_retries += other.resume_retries;
        self.reuploads += other.reuploads;
        self.retries += other.retries;
        self.resumed += other.resumed;
        for (kind, n) in other.flags {
            *self.flags.entry(kind).or_default() += n;
        }
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
    }

    pub fn percentiles(&self, op: Op) -> Option<Percentiles> {
        let mut took = self.latencies.get(&op)?.clone();
        took.sort_unstable();
        // Nearest rank: the smallest sample with at least q of all samples at or below it.
        let rank =
            |q: f64| took[((q * took.len() as f64).ceil() as usize).clamp(1, took.len()) - 1];
        Some(Percentiles {
            count: took.len(),
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: took[took.len() - 1],
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub count: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// A finished run.
#[derive(Debug)]
pub struct Report {
    pub phones: usize,
    pub visits_asked: usize,
    /// Visits the phones found work for (fewer than asked when assignments ran short).
    pub visits_possible: usize,
    pub elapsed: Duration,
    pub stats: Stats,
}

impl Report {
    pub fn unexpected_errors(&self) -> u64 {
        self.stats.errors.values().sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "{} phones, {:.1} s; visits asked {}, possible {}, stored {}",
            self.phones,
            secs,
            self.visits_asked,
            self.visits_possible,
            s.visits.len()
        )?;
        writeln!(
            f,
            "throughput: {:.1} photos/s, {:.2} visits/s, {:.1} MB/s ({} photos, {:.0} MB)",
            s.photos as f64 / secs,
            s.visits.len() as f64 / secs,
            s.bytes as f64 / 1e6 / secs,
            s.photos,
            s.bytes as f64 / 1e6
        )?;
        writeln!(
            f,
            "exercised: {} uploads interrupted and resumed ({} resume retries), {} re-uploads of stored photos, {} visits sent twice",
            s.interrupted, s.resume_retries, s.reuploads, s.resubmits
        )?;
        if s.resumed > 0 || s.retries > 0 {
            writeln!(
                f,
                "recovery: {} unacknowledged visits of an earlier run sent again, {} requests repeated after a dropped connection or a 503",
                s.resumed, s.retries
            )?;
        }
        writeln!(
            f,
            "{:<15} {:>6} {:>9} {:>9} {:>9} {:>9}",
            "latency (ms)", "count", "p50", "p90", "p99", "max"
        )?;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        for op in [
            Op::Login,
            Op::Assignments,
            Op::UploadCreate,
            Op::UploadPatch,
            Op::UploadHead,
            Op::VisitSubmit,
            Op::VisitResubmit,
        ] {
            if let Some(p) = s.percentiles(op) {
                writeln!(
                    f,
                    "{:<15} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                    op.name(),
                    p.count,
                    ms(p.p50),
                    ms(p.p90),
                    ms(p.p99),
                    ms(p.max)
                )?;
            }
        }
        if !s.flags.is_empty() {
            let flags: Vec<String> = s.flags.iter().map(|(k, n)| format!("{k} {n}")).collect();
            writeln!(f, "evidence flags raised: {}", flags.join(", "))?;
        }
        if s.errors.is_empty() {
            write!(f, "unexpected errors: none")
        } else {
            writeln!(f, "unexpected errors: {}", self.unexpected_errors())?;
            for (kind, n) in &s.errors {
                writeln!(f, "  {n:>6}  {kind}")?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut stats = Stats::default();
        for ms in (1..=100).rev() {
            stats.record(Op::UploadPatch, Duration::from_millis(ms));
        }
        let p = stats.percentiles(Op::UploadPatch).unwrap();
        assert_eq!(
            (p.count, p.p50, p.p90, p.p99, p.max),
            (
                100,
                Duration::from_millis(50),
                Duration::from_millis(90),
                Duration::from_millis(99),
                Duration::from_millis(100)
            )
        );
        assert_eq!(stats.percentiles(Op::Login), None);
    }

    #[test]
    fn merged_tallies_add_up() {
        let mut a = Stats::default();
        a.error("visit submit HTTP 500");
        a.record(Op::Login, Duration::from_millis(3));
        let mut b = Stats::default();
        b.error("visit submit HTTP 500");
        b.record(Op::Login, Duration::from_millis(5));
        b.photos = 4;
        a.merge(b);
        assert_eq!(a.errors["visit submit HTTP 500"], 2);
        assert_eq!(a.percentiles(Op::Login).unwrap().count, 2);
        assert_eq!(a.photos, 4);
    }
}
