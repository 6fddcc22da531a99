//! A county at province scale, for measurements: `dibao demo --households N` (up to a million).
//!
//! The county, its accounts and its scheme go through the same code as the demo and the API.
//! Households come from the demo's family model, cases walk the lifecycle table, assessments
//! come from the scoring engine; all of it is written with multi-row inserts, one transaction
//! per village. A million service calls, each with its own audit entry, would take hours, so
//! one audit entry records the whole load instead.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::data::{self, DemoHousehold, ScaledCounty};
use super::{Login, database_is_empty, demo_user, insert_jurisdiction, member_input};
use crate::audit::{self, Actor, Event};
use crate::auth::{Role, Scope};
use crate::cases::lifecycle::{self, Action, Kind, State, Who};
use crate::cases::recheck::RecheckIntervals;
use crate::cases::service::{Redo, RejectReason, deadline};
use crate::cases::store::{self as case_store, CaseRow, EventRow, NoticeRow};
use crate::cases::workdays::{Calendar, china_date, china_day_start};
use crate::db::{Db, DbConn, write_transaction};
use crate::error::{ApiError, ApiResult};
use crate::households::check_member_set;
use crate::households::store::{self as household_store, HouseholdRow, MemberRow};
use crate::jurisdictions;
use crate::scoring::service::{AssessmentOf, assessment_row, evaluate, household_facts};
use crate::scoring::store::{AssessmentRow, SchemeCache, VersionRow};
use crate::scoring::{self, HouseholdFacts, Scheme};
use crate::visits::checks::FlagKind;

pub const MAX_HOUSEHOLDS: usize = 1_000_000;
const SEED: u64 = 20_261_202;
const COUNTY: &str = "421083000000";
/// The demo's family model allows six; the generated county keeps households at 1–5.
const MAX_MEMBERS: usize = 5;
/// Households were registered before the oldest case history (two years back at most).
const REGISTERED_DAYS_AGO: i64 = 760;
/// A review lease, as the claim endpoint grants it.
const CLAIM_MINUTES: i64 = 30;

/// Townships and villages per township for `households`: about 3,000 households a village
/// and 15 villages a township, from the demo's 3 townships up to 洪湖市's 20.
pub fn shape(households: usize) -> (usize, usize) {
    let most = data::MAX_SCALED_VILLAGES_PER_TOWNSHIP;
    let villages = (households / 3_000).clamp(9, data::MAX_SCALED_TOWNSHIPS * most);
    let townships = (villages / most).clamp(3, data::MAX_SCALED_TOWNSHIPS);
    (townships, (villages / townships).min(most))
}

/// What was generated.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Generated {
    pub townships: usize,
    pub villages: usize,
    pub households: usize,
    pub members: usize,
    pub open_cases: usize,
    /// Open cases in `visited` or `township_review`.
    pub township_queue: usize,
    pub closed_cases: usize,
    /// A few accounts to print; the others follow their pattern.
    #[serde(skip)]
    pub logins: Vec<Login>,
}

/// Generates the county when the database has no jurisdictions yet.
pub fn generate_if_empty(
    db: &Db,
    households: usize,
    progress: &dyn Fn(u64),
) -> anyhow::Result<Option<Generated>> {
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    if !database_is_empty(&mut conn)? {
        return Ok(None);
    }
    generate(&mut conn, households, progress)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("generating the county failed: {e}"))
}

/// Generates a county of `households` households into an empty database; `progress` hears
/// how many households each village added.
pub fn generate(
    conn: &mut DbConn,
    households: usize,
    progress: &dyn Fn(u64),
) -> ApiResult<Generated> {
    if !(1..=MAX_HOUSEHOLDS).contains(&households) {
        return Err(ApiError::unprocessable(
            "households_out_of_range",
            format!("A generated county has 1 to {MAX_HOUSEHOLDS} households"),
            format!("生成的区县应有 1 到 {MAX_HOUSEHOLDS} 户"),
        ));
    }
    let (townships, villages_per_township) = shape(households);
    let mut county = ScaledCounty::new(SEED, townships, villages_per_township);
    // Microseconds, as the service stores times (and PostgreSQL keeps them).
    let now = Utc::now().trunc_subsecs(6);
    let setup = write_transaction(conn, |conn| set_up(conn, &county, now))?;
    let mut generated = Generated {
        townships,
        villages: townships * villages_per_township,
        ..Generated::default()
    };
    bulk_load_mode(conn, true)?;
    let loaded = load_villages(
        conn,
        &mut county,
        &setup,
        households,
        now,
        &mut generated,
        progress,
    );
    bulk_load_mode(conn, false)?;
    loaded?;
    write_transaction(conn, |conn| {
        audit::store::append(
            conn,
            &Actor::system("demo"),
            Event {
                action: "demo.generate",
                target_type: "jurisdiction",
                target_id: COUNTY,
                summary: json!(generated),
            },
        )
    })?;
    // Planner statistics for the new rows: SQLite never gathers them on its own, and
    // PostgreSQL's autovacuum would only get to them later.
    conn.batch_execute("ANALYZE")?;
    generated.logins = setup
        .logins
        .into_iter()
        .filter(|l| ["admin", "county", "reviewer", "coord001"].contains(&l.username.as_str()))
        .collect();
    Ok(generated)
}

fn load_villages(
    conn: &mut DbConn,
    county: &mut ScaledCounty,
    setup: &Setup,
    households: usize,
    now: DateTime<Utc>,
    generated: &mut Generated,
    progress: &dyn Fn(u64),
) -> ApiResult<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 1);
    let villages = generated.villages;
    for index in 0..villages {
        let count = households / villages + usize::from(index < households % villages);
        let mut batch = Batch::default();
        for drawn in county.households_of(index, count) {
            batch.add_household(&mut rng, setup, drawn, now)?;
        }
        generated.households += batch.households.len();
        generated.members += batch.members.len();
        for case in &batch.cases {
            match case.closed_at {
                Some(_) => generated.closed_cases += 1,
                None => generated.open_cases += 1,
            }
            generated.township_queue +=
                usize::from(case.queue.as_deref() == Some(lifecycle::TOWNSHIP_QUEUE));
        }
        write_transaction(conn, |conn| batch.insert(conn))?;
        progress(count as u64);
    }
    Ok(())
}

/// While loading, a crash may lose the load (re-run it on an empty database) but never
/// corrupts the database: SQLite skips the fsyncs and caches more pages, PostgreSQL stops
/// waiting for the WAL flush at each commit.
fn bulk_load_mode(conn: &mut DbConn, on: bool) -> ApiResult<()> {
    let sql = match (&*conn, on) {
        (DbConn::Sqlite(_), true) => "PRAGMA synchronous = OFF; PRAGMA cache_size = -524288;",
        (DbConn::Sqlite(_), false) => "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -2000;",
        (DbConn::Postgres(_), true) => "SET synchronous_commit = off",
        (DbConn::Postgres(_), false) => "RESET synchronous_commit",
    };
    Ok(conn.batch_execute(sql)?)
}

/// An account that acts in the generated history.
#[derive(Debug, Clone)]
struct Person {
    id: String,
    username: String,
}

impl Person {
    fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.id.clone()),
            name: self.username.clone(),
            request_id: None,
        }
    }
}

/// The county's accounts, scheme and notices, made through the service code.
struct Setup {
    logins: Vec<Login>,
    county_officer: Person,
    /// By township code.
    reviewers: HashMap<String, Person>,
    /// By village code.
    coordinators: HashMap<String, Person>,
    /// Village code → township code.
    township_of: HashMap<String, String>,
    version: VersionRow,
    scheme: Arc<Scheme>,
    /// By township code: the notice now posted, and the one before it (already over).
    notice_now: HashMap<String, String>,
    notice_before: HashMap<String, String>,
    calendar: Calendar,
}

fn set_up(conn: &mut DbConn, county: &ScaledCounty, now: DateTime<Utc>) -> ApiResult<Setup> {
    let actor = Actor::system("demo");
    for j in &county.jurisdictions {
        insert_jurisdiction(conn, &actor, j)?;
    }
    let mut logins = Vec::new();
    let mut account = |conn: &mut DbConn, username: String, name: &str, role, code: &str| {
        let (id, login) = demo_user(conn, &actor, username.clone(), name, role, code)?;
        logins.push(login);
        Ok::<_, ApiError>(Person { id, username })
    };
    account(conn, "admin".into(), "系统管理员", Role::Admin, COUNTY)?;
    let county_officer = account(
        conn,
        "county".into(),
        "洪湖市民政局 王科长",
        Role::CountyOfficer,
        COUNTY,
    )?;
    let mut reviewers = HashMap::new();
    let townships = county.jurisdictions.iter().filter(|j| j.kind == "township");
    for (i, township) in townships.enumerate() {
        // The first township's reviewer keeps the demo's name.
        let username = match i {
            0 => "reviewer".to_owned(),
            _ => format!("reviewer{:02}", i + 1),
        };
        let name = format!("{}民政办审核员", township.name);
        let person = account(
            conn,
            username,
            &name,
            Role::TownshipReviewer,
            &township.code,
        )?;
        reviewers.insert(township.code.clone(), person);
    }
    let mut coordinators = HashMap::new();
    let mut township_of = HashMap::new();
    let villages = county.jurisdictions.iter().filter(|j| j.kind == "village");
    for (i, village) in villages.enumerate() {
        let username = format!("coord{:03}", i + 1);
        let name = format!("{}协理员", village.name);
        let person = account(conn, username, &name, Role::Coordinator, &village.code)?;
        coordinators.insert(village.code.clone(), person);
        let township = village.parent_code.clone().unwrap_or_default();
        township_of.insert(village.code.clone(), township);
    }
    let county_row = jurisdictions::store::find(conn, &Scope::everything(), COUNTY)?
        .ok_or_else(|| ApiError::internal("generated county missing"))?;
    let (version, _) =
        scoring::service::publish(conn, &actor, &county_row, scoring::DEFAULT_SCHEME, true)?;
    let scheme = SchemeCache::default().get(&version)?;

    // Cases on notice name the one posted now; those past it, the one before.
    let today = china_date(now);
    let mut notice_now = HashMap::new();
    let mut notice_before = HashMap::new();
    for (township, reviewer) in &reviewers {
        for (starts_days_ago, notices) in [(3, &mut notice_now), (24, &mut notice_before)] {
            let starts_on = today - Duration::days(starts_days_ago);
            let row = NoticeRow {
                id: uuid::Uuid::now_v7().to_string(),
                township_code: township.clone(),
                starts_on,
                ends_on: starts_on + Duration::days(6),
                published_by: reviewer.id.clone(),
                published_at: china_day_start(starts_on).naive_utc(),
            };
            case_store::insert_notice(conn, &row)?;
            notices.insert(township.clone(), row.id);
        }
    }
    Ok(Setup {
        logins,
        county_officer,
        reviewers,
        coordinators,
        township_of,
        version,
        scheme,
        notice_now,
        notice_before,
        calendar: Calendar::china_default(),
    })
}

/// One village's rows, written in one transaction.
#[derive(Default)]
struct Batch {
    households: Vec<HouseholdRow>,
    members: Vec<MemberRow>,
    assessments: Vec<AssessmentRow>,
    cases: Vec<CaseRow>,
    events: Vec<EventRow>,
}

/// Rows per statement for a table of `columns` columns: SQLite binds at most 32,766
/// parameters a statement (PostgreSQL 65,535).
fn rows_per_statement(columns: usize) -> usize {
    32_000 / columns
}

/// What a household has been through. Of all households about 10% have an open case (a
/// third of those a re-check), 11.5% were approved and 3.5% rejected before.
enum Story {
    Untouched,
    Applying,
    ApprovedInForce,
    /// Approved long enough ago that its re-check is open now.
    RecheckOpen,
    Rejected {
        reapplying: bool,
    },
}

impl Story {
    fn draw(rng: &mut ChaCha8Rng) -> Story {
        match rng.gen_range(0..1000) {
            0..85 => Story::ApprovedInForce,
            85..115 => Story::RecheckOpen,
            115..150 => Story::Rejected {
                reapplying: rng.gen_bool(0.3),
            },
            150..210 => Story::Applying,
            _ => Story::Untouched,
        }
    }
}

/// Where open cases stand (weights): about a third wait in the township queue.
const OPEN_STATES: [(State, u32); 9] = [
    (State::Applied, 8),
    (State::Accepted, 5),
    (State::VisitAssigned, 18),
    (State::Returned, 4),
    (State::Visited, 24),
    (State::TownshipReview, 12),
    (State::Recommended, 6),
    (State::PublicNotice, 8),
    (State::CountyReview, 15),
];

fn open_state(rng: &mut ChaCha8Rng, kind: Kind) -> State {
    // A re-check starts on the phone, past the window.
    let states: Vec<(State, u32)> = OPEN_STATES
        .into_iter()
        .filter(|(state, _)| {
            kind != Kind::Recheck || !matches!(state, State::Applied | State::Accepted)
        })
        .collect();
    states
        .choose_weighted(rng, |(_, weight)| *weight)
        .map_or(State::VisitAssigned, |(state, _)| *state)
}

/// When an open case took its last step: within the last three weeks, so part of the queue
/// is past its ten working days.
fn recent(rng: &mut ChaCha8Rng, now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::minutes(rng.gen_range(10..21 * 24 * 60))
}

fn days_ago(rng: &mut ChaCha8Rng, now: DateTime<Utc>, days: std::ops::Range<i64>) -> DateTime<Utc> {
    now - Duration::days(rng.gen_range(days)) - Duration::minutes(rng.gen_range(0..24 * 60))
}

/// How long an approval of this class made on `day` runs until its re-check (the generated
/// county keeps the default intervals).
fn recheck_interval(class: &str, day: NaiveDate) -> Duration {
    RecheckIntervals::default()
        .next_after(class, day)
        .map_or(Duration::zero(), |recheck| recheck - day)
}

impl Batch {
    fn add_household(
        &mut self,
        rng: &mut ChaCha8Rng,
        setup: &Setup,
        drawn: DemoHousehold,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        let registered = (now - Duration::days(REGISTERED_DAYS_AGO)).naive_utc();
        let members = drawn
            .members
            .iter()
            .take(MAX_MEMBERS)
            .map(|m| member_input(m).validate())
            .collect::<ApiResult<Vec<_>>>()?;
        check_member_set(&members)?;
        let coordinator = setup
            .coordinators
            .get(&drawn.village_code)
            .ok_or_else(|| ApiError::internal("village without a coordinator"))?;
        let household = HouseholdRow {
            id: uuid::Uuid::now_v7().to_string(),
            village_code: drawn.village_code,
            reference: Some(drawn.reference),
            head_name: drawn.head_name,
            address: drawn.address,
            urban: drawn.urban,
            lat: Some(drawn.lat),
            lon: Some(drawn.lon),
            phone: Some(drawn.phone),
            responsible_worker_id: Some(coordinator.id.clone()),
            active: true,
            created_at: registered,
            updated_at: registered,
        };
        let rows: Vec<MemberRow> = members
            .iter()
            .map(|m| {
                let id = uuid::Uuid::now_v7().to_string();
                household_store::member_row(&id, &household.id, m, registered)
            })
            .collect();
        let facts = household_facts(&household, &rows, china_date(now));
        let mut history = History {
            setup,
            household: &household,
            facts: &facts,
            latest_assessment: None,
        };
        match Story::draw(rng) {
            Story::Untouched => {}
            Story::Applying => {
                let state = open_state(rng, Kind::Application);
                let end = recent(rng, now);
                history.case(self, rng, Kind::Application, state, end)?;
            }
            Story::ApprovedInForce => {
                // The re-check is still ahead: approved less than its interval ago.
                let (class, assessment) = history.assess_needy(rng)?;
                let within = recheck_interval(&class, china_date(now)).num_days() - 5;
                let end = days_ago(rng, now, 1..within.max(2));
                history.case_assessed(
                    self,
                    rng,
                    Kind::Application,
                    State::Approved,
                    end,
                    Some(assessment),
                )?;
            }
            Story::RecheckOpen => {
                let (class, approval) = history.assess_needy(rng)?;
                let state = open_state(rng, Kind::Recheck);
                let end = recent(rng, now);
                let recheck = history.draft(rng, Kind::Recheck, state, end)?;
                // Approved one interval before the re-check opened, and a few days more (months
                // differ in length), so the re-check was due when it opened.
                let opened_on = china_date(recheck.opened);
                let approved_on =
                    opened_on - recheck_interval(&class, opened_on) - Duration::days(3);
                let end = china_day_start(approved_on) + Duration::hours(rng.gen_range(2..9));
                history.case_assessed(
                    self,
                    rng,
                    Kind::Application,
                    State::Approved,
                    end,
                    Some(approval),
                )?;
                history.commit(self, rng, recheck)?;
            }
            Story::Rejected { reapplying } => {
                let assessment = history.assess(rng, false)?;
                let end = days_ago(rng, now, 60..700);
                history.case_assessed(
                    self,
                    rng,
                    Kind::Application,
                    State::Rejected,
                    end,
                    Some(assessment),
                )?;
                if reapplying {
                    let state = open_state(rng, Kind::Application);
                    let end = recent(rng, now);
                    history.case(self, rng, Kind::Application, state, end)?;
                }
            }
        }
        self.households.push(household);
        self.members.extend(rows);
        Ok(())
    }

    fn insert(&self, conn: &mut DbConn) -> ApiResult<()> {
        for chunk in self.households.chunks(rows_per_statement(13)) {
            household_store::insert_households(conn, chunk)?;
        }
        for chunk in self.members.chunks(rows_per_statement(14)) {
            household_store::insert_members(conn, chunk)?;
        }
        for chunk in self.assessments.chunks(rows_per_statement(15)) {
            crate::scoring::store::insert_assessments(conn, chunk)?;
        }
        for chunk in self.cases.chunks(rows_per_statement(29)) {
            case_store::insert_many(conn, chunk)?;
        }
        for chunk in self.events.chunks(rows_per_statement(9)) {
            case_store::add_events(conn, chunk)?;
        }
        Ok(())
    }
}

/// One household's cases, oldest first; each new assessment supersedes the one before.
struct History<'a> {
    setup: &'a Setup,
    household: &'a HouseholdRow,
    facts: &'a HouseholdFacts,
    latest_assessment: Option<String>,
}

/// A case walked to its state but not yet added, for when its times decide an earlier one's.
struct Draft {
    kind: Kind,
    steps: Vec<(Action, DateTime<Utc>)>,
    opened: DateTime<Utc>,
    assessment: Option<AssessmentRow>,
}

impl History<'_> {
    /// An assessment of the visit's answers; `needy` households mostly pass the income test.
    fn assess(&mut self, rng: &mut ChaCha8Rng, needy: bool) -> ApiResult<AssessmentRow> {
        let answers = answers(rng, self.facts.members.len(), needy);
        let result = evaluate(&self.setup.scheme, self.facts, &answers)?;
        let actor = self.coordinator()?.actor();
        let row = assessment_row(
            AssessmentOf {
                household_id: &self.household.id,
                version: &self.setup.version,
                facts: self.facts,
                answers: &answers,
                supersedes: self.latest_assessment.take(),
            },
            &result,
            &actor,
            self.household.created_at,
        )?;
        self.latest_assessment = Some(row.id.clone());
        Ok(row)
    }

    /// An assessment for an approval, with its class.
    fn assess_needy(&mut self, rng: &mut ChaCha8Rng) -> ApiResult<(String, AssessmentRow)> {
        let row = self.assess(rng, true)?;
        Ok((row.review_class.clone(), row))
    }

    fn coordinator(&self) -> ApiResult<&Person> {
        self.setup
            .coordinators
            .get(&self.household.village_code)
            .ok_or_else(|| ApiError::internal("village without a coordinator"))
    }

    /// A case of `kind` that reached `state` at `end`, assessed at its visit if it had one.
    fn case(
        &mut self,
        batch: &mut Batch,
        rng: &mut ChaCha8Rng,
        kind: Kind,
        state: State,
        end: DateTime<Utc>,
    ) -> ApiResult<()> {
        let draft = self.draft(rng, kind, state, end)?;
        self.commit(batch, rng, draft)
    }

    fn case_assessed(
        &mut self,
        batch: &mut Batch,
        rng: &mut ChaCha8Rng,
        kind: Kind,
        state: State,
        end: DateTime<Utc>,
        assessment: Option<AssessmentRow>,
    ) -> ApiResult<()> {
        let mut draft = self.plan(rng, kind, state, end)?;
        draft.assessment = assessment;
        self.commit(batch, rng, draft)
    }

    fn draft(
        &mut self,
        rng: &mut ChaCha8Rng,
        kind: Kind,
        state: State,
        end: DateTime<Utc>,
    ) -> ApiResult<Draft> {
        let mut draft = self.plan(rng, kind, state, end)?;
        if draft
            .steps
            .iter()
            .any(|(action, _)| *action == Action::SubmitVisit)
        {
            let needy = rng.gen_bool(0.6);
            draft.assessment = Some(self.assess(rng, needy)?);
        }
        Ok(draft)
    }

    /// The steps to `state`, a few hours to four days apart, the last at `end`.
    fn plan(
        &self,
        rng: &mut ChaCha8Rng,
        kind: Kind,
        state: State,
        end: DateTime<Utc>,
    ) -> ApiResult<Draft> {
        let actions = path(kind, state)?;
        let gaps: Vec<Duration> = actions
            .iter()
            .map(|_| Duration::minutes(rng.gen_range(120..4 * 24 * 60)))
            .collect();
        let opened = end - gaps.iter().copied().sum::<Duration>();
        let mut at = opened;
        let steps = actions
            .into_iter()
            .zip(gaps)
            .map(|(action, gap)| {
                at += gap;
                (action, at)
            })
            .collect();
        Ok(Draft {
            kind,
            steps,
            opened,
            assessment: None,
        })
    }

    /// Walks the draft through the lifecycle table, as the service would have moved it, and
    /// adds the case, its history and its assessment to the batch.
    fn commit(&mut self, batch: &mut Batch, rng: &mut ChaCha8Rng, draft: Draft) -> ApiResult<()> {
        let setup = self.setup;
        let calendar = &setup.calendar;
        let township = setup
            .township_of
            .get(&self.household.village_code)
            .cloned()
            .unwrap_or_default();
        let reviewer = setup
            .reviewers
            .get(&township)
            .ok_or_else(|| ApiError::internal("township without a reviewer"))?;
        let coordinator = self.coordinator()?;
        let kind = draft.kind;
        let (start, opened_by, first_event, first_actor) = match kind {
            Kind::Recheck => (
                State::VisitAssigned,
                None,
                "schedule_recheck",
                Actor::system("schedule"),
            ),
            _ => (
                State::Applied,
                Some(reviewer.id.clone()),
                "apply",
                reviewer.actor(),
            ),
        };
        let opened = draft.opened.naive_utc();
        let mut row = CaseRow {
            id: uuid::Uuid::new_v4().to_string(),
            household_id: self.household.id.clone(),
            kind: kind.as_str().to_owned(),
            state: start.as_str().to_owned(),
            queue: lifecycle::queue(kind, start).map(str::to_owned),
            county_code: COUNTY.to_owned(),
            township_code: township.clone(),
            village_code: self.household.village_code.clone(),
            coordinator_id: self.household.responsible_worker_id.clone(),
            visit_id: None,
            assessment_id: None,
            max_severity: 0,
            flag_kinds: String::new(),
            band: None,
            queue_priority: 0,
            county_visit: false,
            entered_at: opened,
            due_at: deadline(calendar, draft.opened, start),
            claimed_by: None,
            claim_expires_at: None,
            redo: None,
            notice_id: None,
            review_class: None,
            monthly_amount_fen: None,
            next_recheck_on: None,
            opened_at: opened,
            opened_by,
            closed_at: None,
            version: 1,
        };
        let event = |row: &CaseRow,
                     at: DateTime<Utc>,
                     action: &str,
                     from: Option<String>,
                     actor: &Actor,
                     details: Value| EventRow {
            id: uuid::Uuid::new_v4().to_string(),
            case_id: row.id.clone(),
            at: at.naive_utc(),
            action: action.to_owned(),
            from_state: from,
            to_state: row.state.clone(),
            actor_id: actor.user_id.clone(),
            actor_name: actor.name.clone(),
            details: details.to_string(),
        };
        batch.events.push(event(
            &row,
            draft.opened,
            first_event,
            None,
            &first_actor,
            json!({ "household_id": row.household_id, "kind": row.kind }),
        ));
        let mut assessment = draft.assessment;
        let last_action = draft.steps.last().map(|(action, _)| *action);
        for (action, at) in draft.steps {
            let from = State::parse(&row.state)
                .ok_or_else(|| ApiError::internal("generated case in an unknown state"))?;
            let transition = lifecycle::TABLE
                .iter()
                .find(|t| t.kinds.contains(&kind) && t.from.contains(&from) && t.action == action)
                .ok_or_else(|| ApiError::internal("generated path leaves the lifecycle table"))?;
            let actor = match transition.who.first() {
                Some(Who::Coordinator) => coordinator.actor(),
                Some(Who::County) => setup.county_officer.actor(),
                Some(Who::System) | None => Actor::system("notice"),
                Some(Who::Township | Who::DelegatedTownship) => reviewer.actor(),
            };
            let to = transition.to;
            let from_state = Some(row.state.clone());
            row.state = to.as_str().to_owned();
            row.queue = lifecycle::queue(kind, to).map(str::to_owned);
            if action.restarts_clock() {
                row.entered_at = at.naive_utc();
                row.due_at = deadline(calendar, at, to);
                row.claimed_by = None;
                row.claim_expires_at = None;
            }
            if to.is_closed() {
                row.closed_at = Some(at.naive_utc());
            }
            row.version += 1;
            let flags = row.flags();
            let decision = json!({
                "assessment_id": row.assessment_id, "acknowledged_flags": flags,
                "reason_code": null, "overturn_reason": null, "reason": null, "redo": null,
            });
            let details = match action {
                Action::Assign => {
                    row.coordinator_id = Some(coordinator.id.clone());
                    json!({ "coordinator_id": coordinator.id })
                }
                Action::SubmitVisit => {
                    let assessed = assessment
                        .as_mut()
                        .ok_or_else(|| ApiError::internal("visited case without an assessment"))?;
                    assessed.created_at = at.naive_utc();
                    let flags = draw_flags(rng);
                    let severity = flags
                        .iter()
                        .map(|f| i32::from(f.severity()))
                        .max()
                        .unwrap_or(0);
                    let kinds: Vec<String> = flags.iter().map(|f| f.as_str().to_owned()).collect();
                    row.assessment_id = Some(assessed.id.clone());
                    row.band = Some(assessed.band.clone());
                    row.county_visit = assessed.county_visit;
                    row.max_severity = severity;
                    row.queue_priority =
                        case_store::queue_priority(severity, Some(assessed.band.as_str()));
                    row.flag_kinds = case_store::flag_column(&kinds);
                    row.redo = None;
                    json!({ "visit_id": null, "assessment_id": assessed.id, "flags": kinds })
                }
                Action::StartReview => {
                    // The claim that opened the review; a lease long run out unless just taken.
                    row.claimed_by = Some(reviewer.id.clone());
                    row.claim_expires_at =
                        Some((at + Duration::minutes(CLAIM_MINUTES)).naive_utc());
                    json!({})
                }
                Action::Return => {
                    let redo = Redo {
                        items: vec!["housing_condition".into()],
                        photo_kinds: vec![scoring::PhotoKind::HouseExterior],
                    };
                    let reason = "房屋外观照片不清楚，请补拍";
                    row.redo = Some(json!({ "redo": redo, "reason": reason }).to_string());
                    let mut details = decision;
                    details["reason"] = json!(reason);
                    details["redo"] = json!(redo);
                    details
                }
                Action::Reject => {
                    let mut details = decision;
                    details["reason_code"] = json!(RejectReason::IncomeAboveStandard);
                    details["reason"] = json!("家庭人均收入高于当地低保标准");
                    details
                }
                Action::Recommend => decision,
                Action::PublishNotice => {
                    // The notice posted now for a case still on notice, the one before for a
                    // case past it; older notices (of approvals long made) are not generated.
                    row.notice_id = match last_action {
                        Some(Action::PublishNotice) => setup.notice_now.get(&township).cloned(),
                        Some(Action::EndNotice) => setup.notice_before.get(&township).cloned(),
                        _ => None,
                    };
                    json!({ "notice_id": row.notice_id })
                }
                Action::Confirm => {
                    let assessed = assessment
                        .as_ref()
                        .ok_or_else(|| ApiError::internal("approved case without an assessment"))?;
                    row.review_class = Some(assessed.review_class.clone());
                    row.next_recheck_on = RecheckIntervals::default()
                        .next_after(&assessed.review_class, china_date(at));
                    row.monthly_amount_fen = assessed.payment_fen;
                    json!({ "assessment_id": assessed.id })
                }
                _ => json!({}),
            };
            batch.events.push(event(
                &row,
                at,
                action.as_str(),
                from_state,
                &actor,
                details,
            ));
        }
        batch.assessments.extend(assessment);
        batch.cases.push(row);
        Ok(())
    }
}

/// The actions that take a new case of `kind` to `state` (the happy path, or a rejection or
/// return at review). Every step is checked against the lifecycle table as it is walked.
fn path(kind: Kind, state: State) -> ApiResult<Vec<Action>> {
    use Action::*;
    let to_review = [SubmitVisit, StartReview];
    let tail: Vec<Action> = match state {
        State::Applied | State::Accepted | State::VisitAssigned => Vec::new(),
        State::Visited => vec![SubmitVisit],
        State::TownshipReview => to_review.to_vec(),
        State::Returned => [&to_review[..], &[Return]].concat(),
        State::Rejected => [&to_review[..], &[Reject]].concat(),
        State::Recommended => [&to_review[..], &[Recommend]].concat(),
        State::PublicNotice => [&to_review[..], &[Recommend, PublishNotice]].concat(),
        State::CountyReview => [&to_review[..], &[Recommend, PublishNotice, EndNotice]].concat(),
        State::Approved => [
            &to_review[..],
            &[Recommend, PublishNotice, EndNotice, Confirm],
        ]
        .concat(),
        _ => return Err(ApiError::internal("no generated path to this state")),
    };
    let head: &[Action] = match (kind, state) {
        (Kind::Recheck, _) => &[],
        (_, State::Applied) => &[],
        (_, State::Accepted) => &[Accept],
        _ => &[Accept, Assign],
    };
    Ok([head, &tail].concat())
}

/// Evidence flags of a visit: most raise none; the fraud signals are the rarest.
fn draw_flags(rng: &mut ChaCha8Rng) -> Vec<FlagKind> {
    const WEIGHTS: [(FlagKind, u32); 9] = [
        (FlagKind::NoGps, 20),
        (FlagKind::SingleStaff, 20),
        (FlagKind::CaptureTimeOutsideVisit, 15),
        (FlagKind::MissingRequiredPhoto, 15),
        (FlagKind::FarFromHousehold, 12),
        (FlagKind::OutsideVillage, 6),
        (FlagKind::SuspectLocation, 6),
        (FlagKind::SimilarPhoto, 4),
        (FlagKind::DuplicatePhoto, 2),
    ];
    if rng.gen_bool(0.6) {
        return Vec::new();
    }
    let count = if rng.gen_bool(0.8) { 1 } else { 2 };
    let mut flags: Vec<FlagKind> = (0..count)
        .filter_map(|_| {
            WEIGHTS
                .choose_weighted(rng, |(_, w)| *w)
                .ok()
                .map(|(f, _)| *f)
        })
        .collect();
    flags.sort();
    flags.dedup();
    flags
}

/// Checklist answers (money in fen a year): a `needy` household mostly has little income;
/// the others mostly too much, and a few hit a hard rule.
fn answers(rng: &mut ChaCha8Rng, members: usize, needy: bool) -> Value {
    let people = members.max(1) as i64;
    let mut money = |chance: f64, per_person: std::ops::Range<i64>| {
        if rng.gen_bool(chance) {
            rng.gen_range(per_person) * people
        } else {
            0
        }
    };
    let (wage, assets, agricultural, medical) = if needy {
        (
            money(0.3, 50_000..300_000),
            money(0.4, 10_000..300_000),
            money(0.5, 20_000..150_000),
            money(0.6, 50_000..500_000),
        )
    } else {
        (
            money(0.9, 300_000..1_500_000),
            money(0.7, 100_000..1_600_000),
            money(0.6, 50_000..300_000),
            money(0.3, 10_000..200_000),
        )
    };
    let pension = money(0.3, 50_000..200_000);
    let transfer = money(0.2, 10_000..100_000);
    let education = money(0.2, 20_000..100_000);
    let subsidy = money(0.3, 30_000..90_000);
    let housing: &[(&str, u32)] = if needy {
        &[
            ("dangerous_c", 30),
            ("dangerous_d", 10),
            ("poor", 40),
            ("adequate", 18),
            ("good", 2),
        ]
    } else {
        &[
            ("dangerous_c", 5),
            ("poor", 25),
            ("adequate", 50),
            ("good", 20),
        ]
    };
    let housing = housing
        .choose_weighted(rng, |(_, w)| *w)
        .map_or("adequate", |(h, _)| *h);
    json!({
        "financial_assets": assets, "cars_not_needed": 0, "vehicle_highest_value": 0, "homes": 1,
        "commercial_property": false, "business_with_employees": false,
        "refused_investigation": false, "relative_official": rng.gen_bool(0.02),
        "wage_income": wage, "agricultural_income": agricultural, "business_income": 0,
        "property_income": 0, "transfer_income": transfer, "pension_income": pension,
        "awards_scholarships": 0, "public_assistance": 0, "basic_pension_subsidy": subsidy,
        "medical_costs": medical, "education_costs": education, "housing_condition": housing,
        "rent_costs": 0, "food_insufficient": rng.gen_bool(if needy { 0.6 } else { 0.1 }),
        "clothing_inadequate": rng.gen_bool(if needy { 0.5 } else { 0.05 }),
        "large_livestock": rng.gen_range(0..=1), "non_essential_appliances": rng.gen_range(0..=2),
        "livelihood_vehicles": rng.gen_range(0..=1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_county_grows_to_twenty_townships_of_fifteen_villages() {
        assert_eq!(shape(300), (3, 3));
        assert_eq!(shape(100_000), (3, 11));
        assert_eq!(shape(MAX_HOUSEHOLDS), (20, 15));
    }

    #[test]
    fn every_generated_path_follows_the_lifecycle_table() {
        let states = OPEN_STATES
            .iter()
            .map(|(s, _)| *s)
            .chain([State::Approved, State::Rejected]);
        for kind in [Kind::Application, Kind::Recheck] {
            for target in states.clone() {
                if kind == Kind::Recheck && matches!(target, State::Applied | State::Accepted) {
                    continue;
                }
                let mut state = match kind {
                    Kind::Recheck => State::VisitAssigned,
                    _ => State::Applied,
                };
                for action in path(kind, target).unwrap() {
                    state = lifecycle::TABLE
                        .iter()
                        .find(|t| {
                            t.kinds.contains(&kind) && t.from.contains(&state) && t.action == action
                        })
                        .unwrap_or_else(|| panic!("{kind:?} {state:?} {action:?}"))
                        .to;
                }
                assert_eq!(state, target, "{kind:?}");
            }
        }
    }
}
