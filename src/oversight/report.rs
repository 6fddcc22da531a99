//! The county's monthly accuracy and timeliness report (质量与时效月报), per township and per
//! coordinator. Pure: no database, no clock; the caller loads the [`Facts`] of a [`Period`] and
//! serves the [`Report`] as JSON or, through [`to_csv`], as a spreadsheet.
//!
//! # Policy
//! Timeliness comes from each case's state history:
//! - A step runs from one entry to the next, or is open if it is the last. Entering `visited`
//!   then `township_review` is one step: claiming the case opens the review but keeps the
//!   visit's clock, so the step is timed from the visit. A step starting in `visited` is
//!   reported as `township_review` even when no review was opened (decided straight from the
//!   queue, or still waiting): it is the same queue and the same 10-day SLA. Closed states
//!   start no step.
//! - A step's SLA is the `sla_workdays` of the state it starts in, its deadline
//!   [`Calendar::deadline`] from its start, and it is late when it ends after the deadline. Its
//!   duration is the working days between the China dates of its start and end.
//! - A step counts in the period it ends in: its duration goes into the median and p90, and it
//!   is a breach if late. A step still open when the facts were loaded is a breach in the period
//!   its deadline falls in (it became overdue then), once that deadline has passed, and has no
//!   duration; once it ends, a re-run counts it in the period it ended in instead.
//! - Median: the middle value, or the mean of the two middle ones for an even count. p90: the
//!   nearest rank, the ⌈0.9·n⌉-th smallest.
//! - Processed: cases whose last entry closes them inside the period.
//!
//! Accuracy:
//! - Overturn rate: overturned spot checks / spot checks, counted against the owner of the
//!   checked case; the reasons of the overturned ones are counted too.
//! - Flag share, for each [`FlagKind`]: visits with the flag at least once / visits. Strings
//!   that name no kind are ignored.
//! - Borderline share: borderline approvals / approvals.
//!
//! A ratio with nothing to divide by is `None`, not 0: "no spot checks" is not "none
//! overturned".
//!
//! # Lines
//! One line for the county, one per township (by code, named as in the first fact seen) and one
//! per coordinator within a township; facts without a coordinator go to that township's
//! unassigned coordinator line. Lines are sorted by township code, then coordinator id with
//! unassigned first. Every line lists every step and flag kind, zeros included, so the CSV
//! columns never change.

use std::collections::BTreeMap;
use std::iter;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::cases::lifecycle::State;
use crate::cases::workdays::{Calendar, china_date};
use crate::visits::checks::FlagKind;

/// Who a fact counts against: the township and coordinator responsible for the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub township_code: String,
    pub township_name: String,
    pub coordinator_id: Option<String>,
    pub coordinator_name: Option<String>,
}

/// One case's history: the state entered at each instant, oldest first (the first entry is the
/// case's opening state).
#[derive(Debug, Clone)]
pub struct CaseHistory {
    pub owner: Owner,
    pub entries: Vec<(DateTime<Utc>, State)>,
}

/// A finished spot check of an approved case, counted against the owner of the case it checked.
#[derive(Debug, Clone)]
pub struct SpotCheckResult {
    pub owner: Owner,
    pub overturned: bool,
    /// E.g. "should_not_receive", "amount_wrong"; `None` when the check agreed.
    pub reason: Option<String>,
}

/// A visit submitted in the period, with the kinds of its evidence flags
/// ([`FlagKind::as_str`]), repeats allowed.
#[derive(Debug, Clone)]
pub struct VisitFlags {
    pub owner: Owner,
    pub flags: Vec<String>,
}

/// A case approved in the period.
#[derive(Debug, Clone)]
pub struct Approval {
    pub owner: Owner,
    pub borderline: bool,
}

/// Everything the report counts. Histories may reach outside the period: the policy picks the
/// steps that count in it.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub histories: Vec<CaseHistory>,
    pub spot_checks: Vec<SpotCheckResult>,
    pub visits: Vec<VisitFlags>,
    pub approvals: Vec<Approval>,
}

/// The report period as UTC instants `[from, to)`, plus the China dates it covers (both
/// inclusive) for display, and the instant the facts were loaded: a period still running has
/// open steps whose deadline is ahead, which are not overdue yet.
#[derive(Debug, Clone)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub as_of: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = OversightReport)]
pub struct Report {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub total: Line,
    pub townships: Vec<Line>,
    pub coordinators: Vec<Line>,
}

/// What a line covers; tells a township line from its unassigned coordinator line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ReportLevel)]
pub enum Level {
    County,
    Township,
    Coordinator,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::County => "county",
            Level::Township => "township",
            Level::Coordinator => "coordinator",
        }
    }
}

/// One line of the report. The township fields are `None` only on the county line; the
/// coordinator fields are `None` on county and township lines and on unassigned lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReportLine)]
pub struct Line {
    pub level: Level,
    pub township_code: Option<String>,
    pub township_name: Option<String>,
    pub coordinator_id: Option<String>,
    pub coordinator_name: Option<String>,
    /// Cases whose last entry closed them in the period.
    pub processed: u64,
    /// The sum of the steps' breaches.
    pub sla_breaches: u64,
    /// Every step, in lifecycle order.
    pub steps: Vec<StepStats>,
    pub spot_checks: u64,
    pub overturned: u64,
    pub overturn_rate: Option<f64>,
    pub overturn_reasons: BTreeMap<String, u64>,
    pub visits: u64,
    /// Every flag kind, in [`FlagKind::ALL`] order.
    pub flags: Vec<FlagShare>,
    pub approvals: u64,
    pub borderline: u64,
    pub borderline_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReportStep)]
pub struct StepStats {
    /// The state the step starts in.
    pub step: String,
    /// `None` for the public notice, whose dates are its own.
    pub sla_workdays: Option<u32>,
    /// Steps that ended in the period.
    pub completed: u64,
    pub median_workdays: Option<f64>,
    pub p90_workdays: Option<f64>,
    /// Steps that ended late in the period, plus open ones that became overdue in it.
    pub sla_breaches: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReportFlagShare)]
pub struct FlagShare {
    pub kind: String,
    /// Visits with the flag at least once.
    pub visits: u64,
    pub share: Option<f64>,
}

/// The reported steps in lifecycle order, named by the state they start in; `visited` counts
/// as `township_review`.
const STEPS: [State; 9] = [
    State::Applied,
    State::Accepted,
    State::VisitAssigned,
    State::Returned,
    State::Reinvestigation,
    State::TownshipReview,
    State::Recommended,
    State::PublicNotice,
    State::CountyReview,
];

/// The report for the period; the module docs give the policy.
pub fn build(facts: &Facts, period: &Period, calendar: &Calendar) -> Report {
    let within = |at: DateTime<Utc>| period.from <= at && at < period.to;
    let mut tally = Tally::new();
    for history in &facts.histories {
        let owner = &history.owner;
        let last = history.entries.last();
        if last.is_some_and(|&(at, state)| state.is_closed() && within(at)) {
            tally.add(owner, |acc| acc.line.processed += 1);
        }
        for step in steps(&history.entries) {
            let deadline = step
                .state
                .sla_workdays()
                .map(|n| calendar.deadline(step.start, n));
            match step.end {
                Some(end) if within(end) => {
                    let days = calendar.workdays_between(china_date(step.start), china_date(end));
                    let late = deadline.is_some_and(|deadline| end > deadline);
                    tally.add(owner, |acc| acc.step(step.index, Some(days), late));
                }
                None if deadline.is_some_and(|d| within(d) && d <= period.as_of) => {
                    tally.add(owner, |acc| acc.step(step.index, None, true));
                }
                _ => {}
            }
        }
    }
    for check in &facts.spot_checks {
        tally.add(&check.owner, |acc| {
            let line = &mut acc.line;
            line.spot_checks += 1;
            if check.overturned {
                line.overturned += 1;
                if let Some(reason) = &check.reason {
                    *line.overturn_reasons.entry(reason.clone()).or_default() += 1;
                }
            }
        });
    }
    for visit in &facts.visits {
        tally.add(&visit.owner, |acc| {
            acc.line.visits += 1;
            for share in &mut acc.line.flags {
                share.visits += u64::from(visit.flags.contains(&share.kind));
            }
        });
    }
    for approval in &facts.approvals {
        tally.add(&approval.owner, |acc| {
            acc.line.approvals += 1;
            acc.line.borderline += u64::from(approval.borderline);
        });
    }
    Report {
        first_day: period.first_day,
        last_day: period.last_day,
        total: tally.county.finish(),
        townships: tally.townships.into_values().map(Acc::finish).collect(),
        coordinators: tally.coordinators.into_values().map(Acc::finish).collect(),
    }
}

/// A step of one history: which of [`STEPS`] it is, when it started and when it ended (`None`
/// while open).
struct Step {
    index: usize,
    state: State,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
}

fn steps(entries: &[(DateTime<Utc>, State)]) -> Vec<Step> {
    // Opening the review continues the visit's step rather than starting one.
    let starts: Vec<(DateTime<Utc>, State)> = entries
        .iter()
        .enumerate()
        .filter(|&(i, &(_, state))| {
            !(state == State::TownshipReview && i > 0 && entries[i - 1].1 == State::Visited)
        })
        .map(|(_, &entry)| entry)
        .collect();
    starts
        .iter()
        .enumerate()
        .filter(|(_, (_, state))| !state.is_closed())
        .map(|(i, &(start, state))| {
            let state = match state {
                State::Visited => State::TownshipReview,
                other => other,
            };
            Step {
                index: STEPS
                    .iter()
                    .position(|&s| s == state)
                    .expect("every open state but visited is a reported step"),
                state,
                start,
                end: starts.get(i + 1).map(|&(end, _)| end),
            }
        })
        .collect()
}

/// The county line and the lines per township and per (township, coordinator), keyed so they
/// come out sorted.
struct Tally {
    county: Acc,
    townships: BTreeMap<String, Acc>,
    coordinators: BTreeMap<(String, Option<String>), Acc>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            county: Acc::new(Level::County, None),
            townships: BTreeMap::new(),
            coordinators: BTreeMap::new(),
        }
    }

    /// Counts one fact on the county line and on the owner's township and coordinator lines.
    fn add(&mut self, owner: &Owner, count: impl Fn(&mut Acc)) {
        count(&mut self.county);
        let township = owner.township_code.clone();
        count(
            self.townships
                .entry(township.clone())
                .or_insert_with(|| Acc::new(Level::Township, Some(owner))),
        );
        count(
            self.coordinators
                .entry((township, owner.coordinator_id.clone()))
                .or_insert_with(|| Acc::new(Level::Coordinator, Some(owner))),
        );
    }
}

/// A line being counted: the counts go straight into it; durations wait for the median and p90
/// and ratios for the last count.
struct Acc {
    line: Line,
    durations: [Vec<i64>; STEPS.len()],
}

impl Acc {
    fn new(level: Level, owner: Option<&Owner>) -> Acc {
        let coordinator = owner.filter(|_| level == Level::Coordinator);
        let steps = STEPS.map(|state| StepStats {
            step: state.as_str().to_owned(),
            sla_workdays: state.sla_workdays(),
            completed: 0,
            median_workdays: None,
            p90_workdays: None,
            sla_breaches: 0,
        });
        let flags = FlagKind::ALL.map(|kind| FlagShare {
            kind: kind.as_str().to_owned(),
            visits: 0,
            share: None,
        });
        Acc {
            line: Line {
                level,
                township_code: owner.map(|o| o.township_code.clone()),
                township_name: owner.map(|o| o.township_name.clone()),
                coordinator_id: coordinator.and_then(|o| o.coordinator_id.clone()),
                coordinator_name: coordinator.and_then(|o| o.coordinator_name.clone()),
                processed: 0,
                sla_breaches: 0,
                steps: steps.into(),
                spot_checks: 0,
                overturned: 0,
                overturn_rate: None,
                overturn_reasons: BTreeMap::new(),
                visits: 0,
                flags: flags.into(),
                approvals: 0,
                borderline: 0,
                borderline_share: None,
            },
            durations: Default::default(),
        }
    }

    /// A step that counts: completed with its duration, or open (`None`) and overdue.
    fn step(&mut self, index: usize, workdays: Option<i64>, late: bool) {
        self.durations[index].extend(workdays);
        self.line.steps[index].sla_breaches += u64::from(late);
    }

    fn finish(self) -> Line {
        let mut line = self.line;
        for (step, mut durations) in line.steps.iter_mut().zip(self.durations) {
            durations.sort_unstable();
            step.completed = durations.len() as u64;
            step.median_workdays = median(&durations);
            step.p90_workdays = p90(&durations);
        }
        line.sla_breaches = line.steps.iter().map(|s| s.sla_breaches).sum();
        line.overturn_rate = ratio(line.overturned, line.spot_checks);
        for share in &mut line.flags {
            share.share = ratio(share.visits, line.visits);
        }
        line.borderline_share = ratio(line.borderline, line.approvals);
        line
    }
}

fn median(sorted: &[i64]) -> Option<f64> {
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid] as f64),
        _ => Some((sorted[mid - 1] + sorted[mid]) as f64 / 2.0),
    }
}

/// Nearest rank, in integers so that e.g. n = 10 gives exactly the 9th value.
fn p90(sorted: &[i64]) -> Option<f64> {
    let rank = (9 * sorted.len()).div_ceil(10);
    rank.checked_sub(1).map(|i| sorted[i] as f64)
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

const COLUMNS: [&str; 14] = [
    "level",
    "township_code",
    "township_name",
    "coordinator_id",
    "coordinator_name",
    "processed",
    "sla_breaches",
    "spot_checks",
    "overturned",
    "overturn_rate",
    "approvals",
    "borderline",
    "borderline_share",
    "visits",
];

/// The report as CSV: a header, then the county line, the township lines and the coordinator
/// lines. Ratios have 4 decimals, days 1; an empty cell means `None`.
pub fn to_csv(report: &Report) -> String {
    let mut header: Vec<String> = COLUMNS.map(str::to_owned).into();
    for state in STEPS {
        for column in ["completed", "median_days", "p90_days", "breaches"] {
            header.push(format!("{}_{column}", state.as_str()));
        }
    }
    header.extend(FlagKind::ALL.map(|kind| format!("flag_{}_share", kind.as_str())));

    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let share = |value: Option<f64>| value.map(|r| format!("{r:.4}")).unwrap_or_default();
    let days = |value: Option<f64>| value.map(|d| format!("{d:.1}")).unwrap_or_default();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).expect("writing to memory");
    let lines = iter::once(&report.total)
        .chain(&report.townships)
        .chain(&report.coordinators);
    for line in lines {
        let mut row = vec![
            line.level.as_str().to_owned(),
            text(&line.township_code),
            text(&line.township_name),
            text(&line.coordinator_id),
            text(&line.coordinator_name),
            line.processed.to_string(),
            line.sla_breaches.to_string(),
            line.spot_checks.to_string(),
            line.overturned.to_string(),
            share(line.overturn_rate),
            line.approvals.to_string(),
            line.borderline.to_string(),
            share(line.borderline_share),
            line.visits.to_string(),
        ];
        for step in &line.steps {
            row.extend([
                step.completed.to_string(),
                days(step.median_workdays),
                days(step.p90_workdays),
                step.sla_breaches.to_string(),
            ]);
        }
        row.extend(line.flags.iter().map(|flag| share(flag.share)));
        writer.write_record(&row).expect("writing to memory");
    }
    let bytes = writer.into_inner().expect("writing to memory");
    // Excel reads a CSV without a byte order mark in the system code page (GBK on Chinese
    // Windows) and garbles the UTF-8 names; the BOM tells it the file is UTF-8.
    let mut csv = String::from('\u{feff}');
    csv.push_str(std::str::from_utf8(&bytes).expect("CSV of UTF-8 strings is UTF-8"));
    csv
}

#[cfg(test)]
mod tests {
    use State::*;

    use super::*;

    /// An instant in 2026 given in China time, e.g. `cn("03-02 10:00")`.
    fn cn(month_day_time: &str) -> DateTime<Utc> {
        let text = format!("2026-{}:00+08:00", month_day_time.replace(' ', "T"));
        text.parse().unwrap()
    }

    /// March 2026: no holidays, and Sunday the 1st, so the 2nd, 9th, 16th, 23rd and 30th are
    /// Mondays. Saturday 28 February before it is a make-up working day.
    fn march() -> Period {
        Period {
            from: cn("03-01 00:00"),
            to: cn("04-01 00:00"),
            first_day: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            last_day: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            as_of: cn("04-02 09:00"),
        }
    }

    fn owner(township_code: &str, coordinator_id: Option<&str>) -> Owner {
        let township_name = match township_code {
            "101" => "峰口镇",
            "102" => "新堤街道",
            other => panic!("no test township {other}"),
        };
        Owner {
            township_code: township_code.to_owned(),
            township_name: township_name.to_owned(),
            coordinator_id: coordinator_id.map(str::to_owned),
            coordinator_name: coordinator_id.map(|id| format!("协理员{id}")),
        }
    }

    fn case(entries: &[(&str, State)]) -> CaseHistory {
        CaseHistory {
            owner: owner("101", Some("c1")),
            entries: entries.iter().map(|&(at, state)| (cn(at), state)).collect(),
        }
    }

    fn report(facts: &Facts) -> Report {
        build(facts, &march(), &Calendar::china_default())
    }

    fn county_steps(histories: Vec<CaseHistory>) -> Line {
        report(&Facts {
            histories,
            ..Facts::default()
        })
        .total
    }

    fn step<'a>(line: &'a Line, name: &str) -> &'a StepStats {
        line.steps.iter().find(|s| s.step == name).unwrap()
    }

    /// (completed, median, p90, breaches)
    fn stats(line: &Line, name: &str) -> (u64, Option<f64>, Option<f64>, u64) {
        let s = step(line, name);
        (
            s.completed,
            s.median_workdays,
            s.p90_workdays,
            s.sla_breaches,
        )
    }

    fn township<'a>(report: &'a Report, code: &str) -> &'a Line {
        let found = report
            .townships
            .iter()
            .find(|l| l.township_code.as_deref() == Some(code));
        found.unwrap()
    }

    fn coordinator<'a>(report: &'a Report, code: &str, id: Option<&str>) -> &'a Line {
        let found = report.coordinators.iter().find(|l| {
            l.township_code.as_deref() == Some(code) && l.coordinator_id.as_deref() == id
        });
        found.unwrap()
    }

    #[test]
    fn opening_the_review_keeps_the_visits_clock() {
        let line = county_steps(vec![case(&[
            ("03-02 10:00", Visited),
            ("03-12 09:00", TownshipReview),
            ("03-17 10:00", Recommended),
            ("03-18 10:00", PublicNotice),
        ])]);
        // Mon 2 → Tue 17 is 11 working days and the 10th ends with Mon 16: late. Timed from
        // the review's start on Thu 12 it would be 3 days and on time.
        assert_eq!(
            stats(&line, "township_review"),
            (1, Some(11.0), Some(11.0), 1)
        );
        assert_eq!(stats(&line, "recommended"), (1, Some(1.0), Some(1.0), 0));
        // The open notice has no SLA: nothing else counts.
        let completed: u64 = line.steps.iter().map(|s| s.completed).sum();
        assert_eq!((completed, line.sla_breaches), (2, 1));
    }

    #[test]
    fn a_visit_decided_without_opening_the_review_is_a_township_review_step() {
        let line = county_steps(vec![case(&[
            ("03-02 10:00", Visited),
            ("03-04 10:00", Recommended),
            ("03-05 10:00", PublicNotice),
        ])]);
        assert_eq!(
            stats(&line, "township_review"),
            (1, Some(2.0), Some(2.0), 0)
        );
        let names: Vec<&str> = line.steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(
            names,
            [
                "applied",
                "accepted",
                "visit_assigned",
                "returned",
                "reinvestigation",
                "township_review",
                "recommended",
                "public_notice",
                "county_review"
            ]
        );
    }

    #[test]
    fn a_step_is_late_only_after_the_day_its_deadline_ends() {
        // Applied has 5 working days: from Mon 2 the 5th is Mon 9, so the deadline is 00:00
        // on Tue 10. Ending at that instant is on time, though it counts as 6 days.
        let line = county_steps(vec![
            case(&[("03-02 10:00", Applied), ("03-09 23:59", Rejected)]),
            case(&[("03-02 10:00", Applied), ("03-10 00:00", Rejected)]),
            case(&[("03-02 10:00", Applied), ("03-10 00:01", Rejected)]),
        ]);
        assert_eq!(stats(&line, "applied"), (3, Some(6.0), Some(6.0), 1));
        assert_eq!((line.sla_breaches, line.processed), (1, 3));
    }

    #[test]
    fn a_step_counts_in_the_period_it_ends_in() {
        let line = county_steps(vec![
            // Thu 26 Feb → Tue 3 Mar: Fri 27, the make-up Sat 28, Mon 2 and Tue 3.
            case(&[("02-26 10:00", Applied), ("03-03 10:00", Rejected)]),
            case(&[("02-24 10:00", Applied), ("02-27 10:00", Rejected)]),
            // Ends at the first instant of April.
            case(&[("03-30 10:00", Applied), ("04-01 00:00", Rejected)]),
        ]);
        assert_eq!(stats(&line, "applied"), (1, Some(4.0), Some(4.0), 0));
        assert_eq!(line.processed, 1);
    }

    #[test]
    fn an_open_step_is_a_breach_in_the_period_it_becomes_overdue() {
        // Accepted has 2 working days.
        let line = county_steps(vec![
            // Due 00:00 Thu 5 March.
            case(&[("03-02 10:00", Accepted)]),
            // Fri 27 and the make-up Sat 28: due at the period's first instant.
            case(&[("02-26 10:00", Accepted)]),
            // Due 00:00 Fri 27 February: overdue in the period before.
            case(&[("02-24 10:00", Accepted)]),
            // Due 00:00 Thu 2 April.
            case(&[("03-30 10:00", Accepted)]),
            // The notice has no SLA of its own.
            case(&[("02-02 10:00", PublicNotice)]),
        ]);
        assert_eq!(stats(&line, "accepted"), (0, None, None, 2));
        assert_eq!(line.sla_breaches, 2);
    }

    #[test]
    fn an_open_step_whose_deadline_is_still_ahead_is_no_breach_yet() {
        // Read on Wednesday 11 March: due 00:00 Thu 5 March is overdue, accepted Wed 11th and
        // (due 00:00 Sat 14 March) is not yet, though both deadlines fall in March.
        let facts = Facts {
            histories: vec![
                case(&[("03-02 10:00", Accepted)]),
                case(&[("03-11 08:00", Accepted)]),
            ],
            ..Facts::default()
        };
        let period = Period {
            as_of: cn("03-11 09:00"),
            ..march()
        };
        let line = build(&facts, &period, &Calendar::china_default()).total;
        assert_eq!(stats(&line, "accepted"), (0, None, None, 1));
    }

    #[test]
    fn median_and_p90_of_completed_steps() {
        let ends = [
            "03-03 10:00",
            "03-04 10:00",
            "03-05 10:00",
            "03-06 10:00",
            "03-16 10:00",
        ];
        let histories = ends
            .iter()
            .map(|&end| case(&[("03-02 10:00", Applied), (end, Rejected)]))
            .collect();
        // 1, 2, 3, 4 and 10 working days; only the last misses 00:00 Tue 10.
        let line = county_steps(histories);
        assert_eq!(stats(&line, "applied"), (5, Some(3.0), Some(10.0), 1));

        assert_eq!(
            (median(&[1, 2, 3, 4]), p90(&[1, 2, 3, 4])),
            (Some(2.5), Some(4.0))
        );
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!((median(&ten), p90(&ten)), (Some(5.5), Some(9.0)));
        assert_eq!((median(&[]), p90(&[])), (None, None));
    }

    fn spot_check(township: &str, coordinator: &str, reason: Option<&str>) -> SpotCheckResult {
        SpotCheckResult {
            owner: owner(township, Some(coordinator)),
            overturned: reason.is_some(),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn overturns_count_against_the_owner_of_the_checked_case() {
        let facts = Facts {
            spot_checks: vec![
                spot_check("101", "c1", Some("should_not_receive")),
                spot_check("101", "c1", None),
                spot_check("101", "c2", Some("amount_wrong")),
                spot_check("102", "c3", Some("should_not_receive")),
                spot_check("102", "c3", None),
                spot_check("102", "c3", None),
                spot_check("102", "c3", None),
            ],
            ..Facts::default()
        };
        let report = report(&facts);
        let overturns = |line: &Line| (line.spot_checks, line.overturned, line.overturn_rate);
        assert_eq!(overturns(&report.total), (7, 3, Some(3.0 / 7.0)));
        assert_eq!(overturns(township(&report, "101")), (3, 2, Some(2.0 / 3.0)));
        assert_eq!(overturns(township(&report, "102")), (4, 1, Some(0.25)));
        assert_eq!(
            overturns(coordinator(&report, "101", Some("c1"))),
            (2, 1, Some(0.5))
        );
        assert_eq!(
            overturns(coordinator(&report, "101", Some("c2"))),
            (1, 1, Some(1.0))
        );
        assert_eq!(
            overturns(coordinator(&report, "102", Some("c3"))),
            (4, 1, Some(0.25))
        );

        let reasons = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|&(r, n)| (r.to_owned(), n)).collect()
        };
        assert_eq!(
            report.total.overturn_reasons,
            reasons(&[("amount_wrong", 1), ("should_not_receive", 2)])
        );
        assert_eq!(
            township(&report, "101").overturn_reasons,
            reasons(&[("amount_wrong", 1), ("should_not_receive", 1)])
        );
        assert_eq!(
            coordinator(&report, "101", Some("c2")).overturn_reasons,
            reasons(&[("amount_wrong", 1)])
        );
    }

    #[test]
    fn a_flag_counts_once_per_visit_and_unknown_flags_are_ignored() {
        let visit = |township: &str, flags: &[&str]| VisitFlags {
            owner: owner(township, Some("c1")),
            flags: flags.iter().map(|&f| f.to_owned()).collect(),
        };
        let facts = Facts {
            visits: vec![
                visit("101", &["no_gps", "no_gps", "single_staff"]),
                visit("101", &["no_gps"]),
                visit("101", &[]),
                visit("101", &["not_a_flag"]),
                visit("102", &["duplicate_photo"]),
            ],
            approvals: vec![Approval {
                owner: owner("102", None),
                borderline: false,
            }],
            ..Facts::default()
        };
        let report = report(&facts);
        let share = |line: &Line, kind: &str| {
            let flag = line.flags.iter().find(|f| f.kind == kind).unwrap();
            (flag.visits, flag.share)
        };
        let fengkou = township(&report, "101");
        assert_eq!(fengkou.visits, 4);
        assert_eq!(share(fengkou, "no_gps"), (2, Some(0.5)));
        assert_eq!(share(fengkou, "single_staff"), (1, Some(0.25)));
        assert_eq!(share(fengkou, "duplicate_photo"), (0, Some(0.0)));
        assert_eq!(share(&report.total, "no_gps"), (2, Some(0.4)));
        assert_eq!(share(&report.total, "duplicate_photo"), (1, Some(0.2)));

        let kinds: Vec<&str> = fengkou.flags.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(kinds, FlagKind::ALL.map(FlagKind::as_str));
        // A line without visits has no shares rather than zero ones.
        let no_visits = coordinator(&report, "102", None);
        assert_eq!(no_visits.visits, 0);
        assert!(no_visits.flags.iter().all(|f| f.share.is_none()));
    }

    #[test]
    fn borderline_share_of_approvals() {
        let approval = |township: &str, borderline| Approval {
            owner: owner(township, Some("c1")),
            borderline,
        };
        let facts = Facts {
            approvals: vec![
                approval("101", true),
                approval("101", false),
                approval("101", false),
                approval("102", false),
            ],
            spot_checks: vec![spot_check("102", "c9", None)],
            ..Facts::default()
        };
        let report = report(&facts);
        let shares = |line: &Line| (line.approvals, line.borderline, line.borderline_share);
        assert_eq!(shares(&report.total), (4, 1, Some(0.25)));
        assert_eq!(shares(township(&report, "101")), (3, 1, Some(1.0 / 3.0)));
        assert_eq!(shares(township(&report, "102")), (1, 0, Some(0.0)));
        assert_eq!(
            shares(coordinator(&report, "102", Some("c9"))),
            (0, 0, None)
        );
    }

    #[test]
    fn lines_are_sorted_and_facts_without_a_coordinator_go_to_an_unassigned_line() {
        let approvals = [
            ("102", Some("c3")),
            ("101", Some("c2")),
            ("101", None),
            ("101", Some("c1")),
        ]
        .into_iter()
        .map(|(township, coordinator)| Approval {
            owner: owner(township, coordinator),
            borderline: false,
        })
        .collect();
        let report = report(&Facts {
            approvals,
            ..Facts::default()
        });
        let keys = |lines: &[Line]| -> Vec<(Level, Option<String>, Option<String>)> {
            let key = |l: &Line| (l.level, l.township_code.clone(), l.coordinator_id.clone());
            lines.iter().map(key).collect()
        };
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            keys(std::slice::from_ref(&report.total)),
            [(Level::County, None, None)]
        );
        assert_eq!(
            keys(&report.townships),
            [
                (Level::Township, some("101"), None),
                (Level::Township, some("102"), None)
            ]
        );
        assert_eq!(
            keys(&report.coordinators),
            [
                (Level::Coordinator, some("101"), None),
                (Level::Coordinator, some("101"), some("c1")),
                (Level::Coordinator, some("101"), some("c2")),
                (Level::Coordinator, some("102"), some("c3")),
            ]
        );
        let unassigned = &report.coordinators[0];
        assert_eq!(unassigned.township_name.as_deref(), Some("峰口镇"));
        assert_eq!(
            (unassigned.coordinator_name.as_deref(), unassigned.approvals),
            (None, 1)
        );
        assert_eq!(
            report.coordinators[1].coordinator_name.as_deref(),
            Some("协理员c1")
        );
        assert_eq!(township(&report, "101").coordinator_name, None);
        assert_eq!(report.total.township_name, None);
    }

    #[test]
    fn csv_has_a_header_and_a_row_per_line_and_keeps_chinese_names() {
        let facts = Facts {
            histories: vec![case(&[
                ("03-02 10:00", Visited),
                ("03-12 09:00", TownshipReview),
                ("03-17 10:00", Rejected),
            ])],
            spot_checks: vec![
                spot_check("101", "c1", Some("amount_wrong")),
                spot_check("101", "c1", None),
                spot_check("101", "c2", None),
            ],
            ..Facts::default()
        };
        let csv = to_csv(&report(&facts));
        let body = csv.strip_prefix('\u{feff}').expect("starts with a BOM");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header = reader.headers().unwrap().clone();
        assert_eq!(header.len(), 14 + 9 * 4 + 9);
        assert_eq!(&header[0], "level");
        assert_eq!(&header[14], "applied_completed");
        assert_eq!(&header[header.len() - 1], "flag_single_staff_share");

        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let levels: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
        assert_eq!(levels, ["county", "township", "coordinator", "coordinator"]);
        let cell = |row: usize, column: &str| {
            let i = header.iter().position(|h| h == column).unwrap();
            rows[row][i].to_owned()
        };
        assert_eq!(cell(0, "township_name"), "");
        assert_eq!(cell(1, "township_name"), "峰口镇");
        assert_eq!(cell(2, "coordinator_name"), "协理员c1");
        assert_eq!(cell(0, "processed"), "1");
        assert_eq!(cell(0, "overturn_rate"), "0.3333");
        assert_eq!(cell(2, "overturn_rate"), "0.5000");
        assert_eq!(cell(3, "township_review_completed"), "0");
        assert_eq!(cell(0, "township_review_median_days"), "11.0");
        assert_eq!(cell(0, "township_review_breaches"), "1");
        assert_eq!(cell(0, "applied_median_days"), "");
        assert_eq!(cell(0, "borderline_share"), "");
        assert_eq!(cell(0, "flag_no_gps_share"), "");
    }
}
