//! Work for the phones, made before the timed phase the way a township office makes it: the
//! reviewer registers applicant households in each coordinator's village and opens, accepts
//! and assigns their cases. A visited case takes no second visit, so every visit needs one.

use std::sync::Arc;

use anyhow::Context;
use rand::Rng;
use reqwest::Method;
use serde_json::{Value, json};

use super::api::Session;
use super::report::Stats;
use crate::households::id_number::check_character;

/// Ensures each coordinator has at least its number of cases awaiting a visit.
pub async fn ensure_assignments(
    base: &str,
    reviewer: &str,
    password: &str,
    needs: &[(String, usize)],
) -> anyhow::Result<()> {
    let reviewer = Arc::new(login(base, reviewer, password).await?);
    for (coordinator, needed) in needs {
        let phone = login(base, coordinator, password).await?;
        let waiting = phone
            .expect(Method::GET, "/api/v1/assignments", None, 200)
            .await?["assignments"]
            .as_array()
            .map_or(0, Vec::len);
        let shortfall = needed.saturating_sub(waiting);
        if shortfall == 0 {
            continue;
        }
        println!("Preparing {shortfall} assigned cases for {coordinator}…");
        let (village, coordinator_id) =
            (phone.jurisdiction().to_owned(), phone.user_id().to_owned());
        let near = some_location(&phone, &village)
            .await
            .with_context(|| format!("a registered household in {coordinator}'s village"))?;
        // A few at a time, like a busy window; the server serializes writes anyway.
        let mut lanes = tokio::task::JoinSet::new();
        for lane in 0..4 {
            let (reviewer, village, worker) =
                (reviewer.clone(), village.clone(), coordinator_id.clone());
            let share = (shortfall + 3 - lane) / 4;
            lanes.spawn(async move {
                for _ in 0..share {
                    let household = register_applicant(&reviewer, &village, &worker, near).await?;
                    open_assigned_case(&reviewer, &household).await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(done) = lanes.join_next().await {
            done??;
        }
    }
    Ok(())
}

async fn login(base: &str, username: &str, password: &str) -> anyhow::Result<Session> {
    let mut stats = Stats::default();
    Session::login(
        super::api::client()?,
        base,
        username,
        password,
        &mut stats,
        std::time::Duration::ZERO,
    )
    .await
    .ok_or_else(|| anyhow::anyhow!("login as {username} failed: {:?}", stats.errors))
}

/// Where one of the village's households is registered: new applicants live nearby.
async fn some_location(phone: &Session, village: &str) -> anyhow::Result<(f64, f64)> {
    let page = phone
        .expect(
            Method::GET,
            &format!("/api/v1/households?jurisdiction={village}&limit=1"),
            None,
            200,
        )
        .await?;
    let id = page["items"][0]["id"].as_str().context("no household")?;
    let household = phone
        .expect(Method::GET, &format!("/api/v1/households/{id}"), None, 200)
        .await?;
    let location = &household["location"];
    location["lat"]
        .as_f64()
        .zip(location["lon"].as_f64())
        .context("the household has no registered location")
}

/// Registers a two-person household a few dozen metres from `near`, in the care of the
/// village's coordinator `worker`; returns its id.
async fn register_applicant(
    reviewer: &Session,
    village: &str,
    worker: &str,
    near: (f64, f64),
) -> anyhow::Result<String> {
    // Random ID numbers can meet one already active; a few draws always find a free one.
    for _ in 0..5 {
        let body = {
            let mut rng = rand::thread_rng();
            let serial: u32 = rng.gen_range(1000..10000);
            json!({
                "village_code": village,
                "head_name": format!("压测{serial}"),
                "address": format!("洪湖市压测路{serial}号"),
                "urban": false,
                "responsible_worker_id": worker,
                "location": {
                    "lat": near.0 + rng.gen_range(-0.0003..0.0003),
                    "lon": near.1 + rng.gen_range(-0.0003..0.0003),
                },
                "members": [
                    member(&mut rng, "压测户主", "head", true),
                    member(&mut rng, "压测配偶", "spouse", false),
                ],
            })
        };
        let answer = reviewer
            .call(Method::POST, "/api/v1/households", Some(&body))
            .await?;
        match (answer.status, answer.code()) {
            (201, _) => {
                return answer.json["id"]
                    .as_str()
                    .map(str::to_owned)
                    .context("household id");
            }
            (409, "id_number_active_elsewhere") => continue,
            (status, _) => anyhow::bail!("registering a household: HTTP {status} {}", answer.json),
        }
    }
    anyhow::bail!("no free ID numbers in five draws")
}

fn member(rng: &mut impl Rng, name: &str, relation: &str, male: bool) -> Value {
    let birth = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).expect("valid date")
        + chrono::Duration::days(rng.gen_range(0..18_000));
    // The sequence's last digit is odd for men.
    let sequence = rng.gen_range(0..500) * 2 + u32::from(male);
    let first17 = format!("421083{}{sequence:03}", birth.format("%Y%m%d"));
    json!({
        "name": name,
        "id_number": format!("{first17}{}", check_character(&first17)),
        "relation": relation,
        "labour_capacity": "full",
    })
}

async fn open_assigned_case(reviewer: &Session, household: &str) -> anyhow::Result<()> {
    let opened = reviewer
        .expect(
            Method::POST,
            "/api/v1/cases",
            Some(&json!({ "household_id": household })),
            201,
        )
        .await?;
    let case = opened["id"].as_str().context("case id")?;
    let actions = format!("/api/v1/cases/{case}/actions");
    for action in ["accept", "assign"] {
        reviewer
            .expect(
                Method::POST,
                &actions,
                Some(&json!({ "action": action })),
                200,
            )
            .await?;
    }
    Ok(())
}
