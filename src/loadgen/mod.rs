//! `dibao loadgen`: a fleet of phones played against a running service. Each phone logs in as
//! a coordinator, downloads its assignments and, per visit, uploads distinct phone photos with
//! tus (some cut off part way and resumed from the server's offset, some sent again after
//! they were stored) and submits the visit (some twice, which must get the same answer).
//! Stops after `--visits` or `--duration-secs`, whichever comes first, and reports throughput,
//! latency percentiles per operation and unexpected errors by kind. With `--journal` it
//! records what it planned and what the server acknowledged, and first finishes what an
//! earlier run left unacknowledged (the crash test, `.ci/crash.sh`).

mod api;
mod journal;
mod photos;
mod prepare;
mod report;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};

use crate::photos::fixtures::FixtureGps;
use crate::photos::sha256_hex;
use api::Session;
use journal::{Entry, Journal, Plan, PlannedPhoto, Unfinished};
use photos::PhotoPool;
pub use report::{Op, Percentiles, Report, Stats};

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Base URL of the running service.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Phones working at once.
    #[arg(long, default_value_t = 8)]
    pub phones: usize,
    /// Visits to submit in all.
    #[arg(long, default_value_t = 100)]
    pub visits: usize,
    /// Phones start no visit after this long.
    #[arg(long, default_value_t = 60)]
    pub duration_secs: u64,
    #[arg(long, default_value_t = 4)]
    pub photos_per_visit: usize,
    /// Photo size (4:3); 12 MP at quality 90 is about 4.5 MB.
    #[arg(long, default_value_t = 12.0)]
    pub photo_megapixels: f64,
    #[arg(long, default_value_t = 90)]
    pub photo_quality: u8,
    /// Where encoded photos are kept between runs (default: dibao-loadgen-photos in the
    /// system temp directory).
    #[arg(long)]
    pub photo_cache: Option<PathBuf>,
    /// Distinct scenes to encode (default: one per photo of --visits). With fewer, scenes are
    /// reused with each visit's own EXIF: the bytes differ, but the server flags look-alikes.
    #[arg(long)]
    pub distinct_photos: Option<usize>,
    /// Scene number of the first photo. Photos already sent to a database are look-alikes
    /// of themselves: against one that earlier runs used, start past their scenes.
    #[arg(long, default_value_t = 0)]
    pub first_scene: u64,
    /// Coordinator accounts the phones log in as, in turn.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "coord01,coord02,coord03,coord04"
    )]
    pub coordinators: Vec<String>,
    /// The township reviewer of the coordinators' villages, for --prepare.
    #[arg(long, default_value = "reviewer")]
    pub reviewer: String,
    #[arg(long, env = "DIBAO_LOADGEN_PASSWORD", default_value = crate::demo::DEMO_PASSWORD, hide_env_values = true)]
    pub password: String,
    /// Before the timed phase, have the reviewer register applicants and assign their cases
    /// until every phone has work for its share of --visits (a visited case takes no more).
    #[arg(long)]
    pub prepare: bool,
    /// Phones logging in (and downloading) at once. A login costs the server an argon2 hash
    /// (tens of milliseconds of a core; the server runs one per core at a time), so a whole
    /// fleet at once measures the login storm rather than the uploads.
    #[arg(long, default_value_t = 8)]
    pub login_concurrency: usize,
    /// Share of uploads cut off part way and resumed (percent).
    #[arg(long, default_value_t = 10)]
    pub interrupt_percent: u8,
    /// Share of stored photos uploaded again whole (percent).
    #[arg(long, default_value_t = 10)]
    pub reupload_percent: u8,
    /// Share of visits submitted twice (percent).
    #[arg(long, default_value_t = 20)]
    pub resubmit_percent: u8,
    /// Append every planned visit and every photo and visit the server acknowledged to this
    /// file (JSON lines, each written through at once). Visits an earlier run planned there
    /// but never got acknowledged are sent again first, with the same photos (resuming their
    /// uploads) and the same visit ids; their households take no new visit.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Repeat a request that met a dropped connection or a 503 for up to this many seconds
    /// (a server or database restarting under the load), as a phone does; each repeat is
    /// counted, and only a request still failing after that is an error. 0: never repeat.
    #[arg(long, default_value_t = 0)]
    pub retry_secs: u64,
}

/// Runs the load and prints the report; fails on any unexpected error.
pub fn main(options: Options) -> anyhow::Result<()> {
    let report = tokio::runtime::Runtime::new()?.block_on(run(&options))?;
    println!("{report}");
    let errors = report.unexpected_errors();
    anyhow::ensure!(errors == 0, "{errors} unexpected error(s)");
    Ok(())
}

/// What every phone shares.
struct Fleet {
    options: Options,
    pool: PhotoPool,
    /// The next unused photo slot: no two visits send the same scene.
    next_slot: AtomicUsize,
    logins: tokio::sync::Semaphore,
    all_downloaded: tokio::sync::Barrier,
    deadline: Instant,
    journal: Option<Journal>,
    /// Visits earlier runs left unacknowledged, by coordinator: the phones finish these first.
    unfinished: Mutex<std::collections::HashMap<String, Vec<Plan>>>,
    /// Households earlier runs planned visits for: no new visit takes them.
    planned_households: HashSet<String>,
}

impl Fleet {
    fn record(&self, stats: &mut Stats, entry: &Entry) {
        if let Some(journal) = &self.journal
            && let Err(err) = journal.record(entry)
        {
            stats.error(format!("journal: {err:#}"));
        }
    }

    fn next_unfinished(&self, coordinator: &str) -> Option<Plan> {
        self.unfinished.lock().ok()?.get_mut(coordinator)?.pop()
    }
}

pub async fn run(options: &Options) -> anyhow::Result<Report> {
    anyhow::ensure!(
        options.phones > 0 && options.photos_per_visit > 0 && !options.coordinators.is_empty(),
        "need at least one phone, one photo per visit and one coordinator"
    );
    let (journal, unfinished) = match &options.journal {
        Some(path) => {
            let (journal, earlier) = Journal::open(path)?;
            (Some(journal), Unfinished::from_entries(earlier))
        }
        None => (None, Unfinished::default()),
    };
    if unfinished.len() > 0 {
        println!(
            "Sending again first: {} visits an earlier run left unacknowledged",
            unfinished.len()
        );
    }
    let quotas: Vec<usize> = (0..options.phones)
        .map(|i| options.visits / options.phones + usize::from(i < options.visits % options.phones))
        .collect();
    if options.prepare {
        let needs: Vec<(String, usize)> = options
            .coordinators
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let (share, phones) = coordinator_phones(options, c);
                let busiest = phones.iter().map(|&i| quotas[i]).max().unwrap_or(0);
                (name.clone(), share * busiest)
            })
            .collect();
        prepare::ensure_assignments(&options.url, &options.reviewer, &options.password, &needs)
            .await?;
    }
    let pool = {
        let dir = options
            .photo_cache
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("dibao-loadgen-photos"));
        let (megapixels, quality, first) = (
            options.photo_megapixels,
            options.photo_quality,
            options.first_scene,
        );
        let photos = options.visits * options.photos_per_visit;
        let slots = options
            .distinct_photos
            .unwrap_or(photos)
            .clamp(1, photos.max(1));
        tokio::task::spawn_blocking(move || {
            PhotoPool::prepare(&dir, megapixels, quality, first, slots)
        })
        .await??
    };

    let clients = (0..options.phones)
        .map(|_| api::client())
        .collect::<anyhow::Result<Vec<_>>>()?;
    let started = Instant::now();
    let fleet = Arc::new(Fleet {
        options: options.clone(),
        pool,
        next_slot: AtomicUsize::new(0),
        logins: tokio::sync::Semaphore::new(options.login_concurrency.max(1)),
        all_downloaded: tokio::sync::Barrier::new(options.phones),
        deadline: started + Duration::from_secs(options.duration_secs),
        journal,
        unfinished: Mutex::new(unfinished.by_coordinator),
        planned_households: unfinished.households,
    });
    println!(
        "{} phones, up to {} visits or {} s…",
        options.phones, options.visits, options.duration_secs
    );
    let mut phones = tokio::task::JoinSet::new();
    for (index, http) in clients.into_iter().enumerate() {
        phones.spawn(phone(fleet.clone(), index, quotas[index], http));
    }
    let mut stats = Stats::default();
    let mut possible = 0;
    while let Some(done) = phones.join_next().await {
        let (phone_stats, phone_possible) = done?;
        stats.merge(phone_stats);
        possible += phone_possible;
    }
    Ok(Report {
        phones: options.phones,
        visits_asked: options.visits,
        visits_possible: possible,
        elapsed: started.elapsed(),
        stats,
    })
}

/// How many phones log in as coordinator `c`, and which.
fn coordinator_phones(options: &Options, c: usize) -> (usize, Vec<usize>) {
    let phones: Vec<usize> = (c..options.phones)
        .step_by(options.coordinators.len())
        .collect();
    (phones.len(), phones)
}

/// One phone: its coordinator's share of the assignments, visited in turn. Returns its tally
/// and how many of its `quota` visits it had work for.
async fn phone(
    fleet: Arc<Fleet>,
    index: usize,
    quota: usize,
    http: reqwest::Client,
) -> (Stats, usize) {
    let mut stats = Stats::default();
    let options = &fleet.options;
    let coordinators = options.coordinators.len();
    let coordinator = &options.coordinators[index % coordinators];
    let downloaded = {
        let _turn = fleet.logins.acquire().await;
        match Session::login(
            http,
            &options.url,
            coordinator,
            &options.password,
            &mut stats,
            Duration::from_secs(options.retry_secs),
        )
        .await
        {
            Some(session) => session
                .assignments(&mut stats)
                .await
                .map(|download| (session, download)),
            None => None,
        }
    };
    // Phones of one coordinator split the same download: none visits before all have it.
    fleet.all_downloaded.wait().await;
    let Some((session, download)) = downloaded else {
        return (stats, 0);
    };
    // What an earlier run left unacknowledged comes first: a phone retries before new work.
    while let Some(plan) = fleet.next_unfinished(coordinator) {
        stats.resumed += 1;
        carry_out(&fleet, &session, &mut stats, &plan, true).await;
    }
    // Phones of one coordinator split its assignments by position, in case order.
    let (sharing, _) = coordinator_phones(options, index % coordinators);
    let rank = index / coordinators;
    let mut assignments: Vec<&Value> = download["assignments"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    assignments.retain(|a| {
        !a["household"]["id"]
            .as_str()
            .is_some_and(|h| fleet.planned_households.contains(h))
    });
    assignments.sort_by_key(|a| a["case_id"].as_str().unwrap_or_default().to_owned());
    let mine: Vec<&Value> = assignments
        .into_iter()
        .skip(rank)
        .step_by(sharing)
        .take(quota)
        .collect();
    let possible = mine.len();
    for assignment in mine {
        if Instant::now() >= fleet.deadline {
            break;
        }
        let kinds = photo_kinds(&download, assignment);
        visit(&fleet, &session, &mut stats, &kinds, assignment).await;
    }
    (stats, possible)
}

/// The photo kinds the assignment's scheme asks for.
fn photo_kinds(download: &Value, assignment: &Value) -> Vec<String> {
    let version = &assignment["scheme_version"];
    let county_prefix = assignment["village_code"]
        .as_str()
        .map_or("", |v| &v[..v.len().min(6)]);
    let kinds: Vec<String> = download["schemes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| {
            &s["version"] == version
                && s["county_code"]
                    .as_str()
                    .is_some_and(|c| c.starts_with(county_prefix))
        })
        .and_then(|s| s["required_photo_kinds"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    if kinds.is_empty() {
        vec!["house_exterior".to_owned()]
    } else {
        kinds
    }
}

fn chance(percent: u8) -> bool {
    rand::thread_rng().gen_range(0..100) < percent
}

async fn visit(
    fleet: &Fleet,
    session: &Session,
    stats: &mut Stats,
    kinds: &[String],
    assignment: &Value,
) {
    let household = &assignment["household"];
    let Some((lat, lon)) = household["location"]["lat"]
        .as_f64()
        .zip(household["location"]["lon"].as_f64())
    else {
        stats.error("assignment: household without a registered location");
        return;
    };
    let per_visit = fleet.options.photos_per_visit;
    let first_slot = fleet.next_slot.fetch_add(per_visit, Ordering::Relaxed);
    let ended = Utc::now() - chrono::Duration::minutes(5);
    let started = ended - chrono::Duration::minutes(40);
    let mut planned = Vec::with_capacity(per_visit);
    let mut photos = Vec::with_capacity(per_visit);
    for j in 0..per_visit {
        // Taken through the visit, on the phone's clock in China time.
        let taken = started + (ended - started) * (j as i32 + 1) / (per_visit as i32 + 1);
        let photo = PlannedPhoto {
            scene: fleet.pool.scene(first_slot + j),
            lat,
            lon,
            taken: (taken + chrono::Duration::hours(8)).naive_utc(),
        };
        // The digest goes into the visit; the bytes are taken again when uploaded, so a
        // phone holds one photo at a time.
        let digest = match take(&photo).await {
            Ok(bytes) => sha256_hex(&bytes),
            Err(err) => {
                stats.error(format!("photo: {err:#}"));
                return;
            }
        };
        photos.push(json!({ "digest": digest, "kind": kinds[j % kinds.len()] }));
        planned.push(photo);
    }
    let body = json!({
        "visit_id": uuid::Uuid::new_v4(),
        "household_id": household["id"],
        "scheme_version": assignment["scheme_version"],
        "started_at": started.to_rfc3339(),
        "ended_at": ended.to_rfc3339(),
        "location_fix": { "lat": lat, "lon": lon, "accuracy_m": 6.0, "provider": "gps", "mock": false },
        "staff": [{ "user_id": session.user_id() }, { "name": "王村主任", "role": "village_cadre" }],
        "answers": answers(),
        "photos": photos,
    });
    let plan = Plan {
        coordinator: session.username().to_owned(),
        visit: body,
        photos: planned,
    };
    fleet.record(stats, &Entry::Planned(plan.clone()));
    carry_out(fleet, session, stats, &plan, false).await;
}

async fn take(photo: &PlannedPhoto) -> anyhow::Result<Vec<u8>> {
    let gps = FixtureGps {
        lat: photo.lat,
        lon: photo.lon,
        alt_m: 25.0,
    };
    photos::take(&photo.scene, gps, photo.taken).await
}

/// Uploads a planned visit's photos and submits it. `resumed`: an earlier run may have
/// sent it already, so the server may answer the first submission as a resend.
async fn carry_out(
    fleet: &Fleet,
    session: &Session,
    stats: &mut Stats,
    plan: &Plan,
    resumed: bool,
) {
    let retries_before = stats.retries;
    let digests = plan.visit["photos"].as_array().cloned().unwrap_or_default();
    for (photo, named) in plan.photos.iter().zip(&digests) {
        let bytes = match take(photo).await {
            Ok(bytes) => bytes,
            Err(err) => {
                stats.error(format!("photo: {err:#}"));
                return;
            }
        };
        let Some(digest) = named["digest"].as_str() else {
            stats.error("photo: the visit names no digest");
            return;
        };
        // A visit is never sent with a photo missing. Photos are taken again bit for bit (the
        // server refuses bytes that are not the declared digest, so a difference shows up as
        // an error); hashing them once, like a phone, keeps this process's CPU off the server's.
        let Some(digest) = upload(fleet, session, stats, bytes, digest).await else {
            return;
        };
        fleet.record(stats, &Entry::Photo { digest });
    }
    let body = &plan.visit;
    let Some(first) = session.submit_visit(stats, Op::VisitSubmit, body).await else {
        return;
    };
    fleet.record(
        stats,
        &Entry::Visit {
            id: plan.visit_id().to_owned(),
            status: first.status,
        },
    );
    // A resend answers 200: expected only when this visit may have reached the server before
    // (an earlier run, or a request repeated after its answer was lost).
    if first.status != 201 && !resumed && stats.retries == retries_before {
        stats.error("visit submit: a new visit id answered as a resend");
        return;
    }
    if first.json["id"].as_str() != Some(plan.visit_id()) {
        stats.error("visit submit: the answer names another visit");
        return;
    }
    for flag in first.json["flags"].as_array().into_iter().flatten() {
        let kind = flag["kind"].as_str().unwrap_or("?").to_owned();
        *stats.flags.entry(kind).or_default() += 1;
    }
    stats.visits.push(plan.visit_id().to_owned());
    if chance(fleet.options.resubmit_percent) {
        stats.resubmits += 1;
        let Some(again) = session.submit_visit(stats, Op::VisitResubmit, body).await else {
            return;
        };
        if again.status != 200 {
            stats.error("visit resubmit: created a second visit");
        } else if again.json != first.json {
            stats.error("visit resubmit: a different answer than the first submission");
        }
    }
}

/// Uploads one photo, whose SHA-256 is `digest`, with tus; returns the digest once the server
/// has stored it.
async fn upload(
    fleet: &Fleet,
    session: &Session,
    stats: &mut Stats,
    bytes: Vec<u8>,
    digest: &str,
) -> Option<String> {
    let options = &fleet.options;
    let bytes = Bytes::from(bytes);
    let length = bytes.len();
    let (location, mut offset) = session.create_upload(stats, digest, length).await?;
    let interrupted = offset < length && chance(options.interrupt_percent);
    if interrupted {
        let cut = offset + (length - offset) * rand::thread_rng().gen_range(20..80) / 100;
        session.patch_cut_off(&location, &bytes, offset, cut).await;
        stats.interrupted += 1;
        offset = session.upload_offset(stats, &location).await?;
    }
    let mut conflicts = 0;
    let retries_before = stats.retries;
    while offset < length {
        let answer = session.patch(stats, &location, &bytes, offset).await?;
        if answer.status == 204 {
            let Some(server_offset) = answer.offset() else {
                stats.error("upload patch: no Upload-Offset");
                return None;
            };
            offset = server_offset;
            continue;
        }
        // 409: the cut-off request is still being written, or the offset moved on since (a
        // repeated PATCH whose first try the server partly received).
        conflicts += 1;
        if !(interrupted || stats.retries > retries_before) || conflicts > 50 {
            stats.error(format!("upload patch: HTTP 409 {}", answer.code()));
            return None;
        }
        stats.resume_retries += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
        offset = session.upload_offset(stats, &location).await?;
    }
    stats.photos += 1;
    stats.bytes += length as u64;
    if chance(options.reupload_percent) {
        stats.reuploads += 1;
        let (_, offset) = session.create_upload(stats, digest, length).await?;
        if offset != length {
            stats.error("upload create: a stored photo sent again was not recognised");
        }
    }
    Some(digest.to_owned())
}

/// Checklist answers of a poor household under the default scheme.
fn answers() -> Value {
    json!({
        "financial_assets": 0, "cars_not_needed": 0, "vehicle_highest_value": 0, "homes": 1,
        "commercial_property": false, "business_with_employees": false,
        "refused_investigation": false, "relative_official": false, "wage_income": 0,
        "agricultural_income": 3000, "business_income": 0, "property_income": 0,
        "transfer_income": 0, "pension_income": 0, "awards_scholarships": 0,
        "public_assistance": 0, "basic_pension_subsidy": 0, "medical_costs": 1200,
        "education_costs": 0, "rent_costs": 0, "housing_condition": "poor",
        "food_insufficient": true, "clothing_inadequate": false,
        "large_livestock": 0, "non_essential_appliances": 0, "livelihood_vehicles": 0,
    })
}
