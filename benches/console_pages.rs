//! Console pages at province scale: the real server, in this process, on the generated county
//! of a million households (the queue bench's database), asked over loopback HTTP the way a
//! browser asks, each page timed from request to the last byte. The JSON API's queue page is
//! timed in the same run as the baseline. Prints p50/p99 per page and the ratio to the API.
//!
//! `BENCH_DATABASE_URL` as for `benches/queue.rs` (default `target/bench-queue.db`; an empty
//! database is first filled with `BENCH_HOUSEHOLDS`, default 1,000,000). Run:
//! `cargo bench --bench console_pages`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use dibao::app::Application;
use dibao::config::{DemoMode, Settings};
use dibao::db::Db;

const WARM_UP: usize = 5;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A signed-in console user over plain HTTP: the cookies it was given, no redirects.
struct Visitor {
    client: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

impl Visitor {
    async fn get(&mut self, path: &str) -> anyhow::Result<(u16, String)> {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> anyhow::Result<(u16, String)> {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let response = request.header("cookie", cookie.join("; ")).send().await?;
        for set in response.headers().get_all("set-cookie") {
            if let Some((name, value)) = set
                .to_str()?
                .split(';')
                .next()
                .and_then(|p| p.split_once('='))
            {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    async fn log_in(base: &str, username: &str) -> anyhow::Result<Visitor> {
        let mut visitor = Visitor {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()?,
            base: base.to_owned(),
            cookies: BTreeMap::new(),
        };
        visitor.get("/console/login").await?;
        let csrf = visitor.cookies["dibao_login_csrf"].clone();
        let form = [
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", dibao::demo::DEMO_PASSWORD),
            ("next", "/console"),
        ];
        let request = visitor
            .client
            .post(format!("{base}/console/login"))
            .form(&form);
        let (status, _) = visitor.send(request).await?;
        if status != 303 {
            bail!("logging in as {username} answered {status}");
        }
        Ok(visitor)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Times `send` `n` times after `warm_up` more; fails on anything but 200.
async fn time_requests(
    n: usize,
    warm_up: usize,
    mut send: impl AsyncFnMut() -> anyhow::Result<(u16, String)>,
) -> anyhow::Result<(Duration, Duration)> {
    let mut times = Vec::with_capacity(n);
    for i in 0..warm_up + n {
        let started = Instant::now();
        let (status, body) = send().await?;
        let took = started.elapsed();
        if status != 200 {
            bail!("answered {status}: {}", &body[..body.len().min(300)]);
        }
        if i >= warm_up {
            times.push(took);
        }
    }
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 0.99)))
}

/// An API GET with a bearer token, as `(status, body)`.
async fn api_get(base: &str, token: &str, path: &str) -> anyhow::Result<(u16, String)> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let response = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.text().await?))
}

async fn api_token(base: &str, username: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": username, "password": dibao::demo::DEMO_PASSWORD }))
        .send()
        .await?
        .json()
        .await?;
    Ok(login["access_token"]
        .as_str()
        .context("an access token")?
        .to_owned())
}

/// The first link to a case on a page.
fn first_case(body: &str) -> Option<String> {
    let start = body.find("href=\"/console/cases/")? + "href=\"".len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_owned())
}

/// The queue's "next page" link followed `pages - 1` times: the deep page's path.
async fn deep_queue_page(visitor: &mut Visitor, pages: usize) -> anyhow::Result<String> {
    let mut path = "/console/queue".to_owned();
    for _ in 1..pages {
        let (_, body) = visitor.get(&path).await?;
        let Some(start) = body.find("href=\"/console/queue?township=") else {
            break;
        };
        let start = start + "href=\"".len();
        let end = body[start..].find('"').context("a closed link")? + start;
        path = body[start..end].replace("&amp;", "&");
    }
    Ok(path)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-queue.db").into());
    let n: usize = env_or("BENCH_ITERATIONS", 100);
    let db = Db::connect(&url, 1)?;
    db.migrate()?;
    let size = env_or("BENCH_HOUSEHOLDS", dibao::demo::scale::MAX_HOUSEHOLDS);
    let progress = |added: u64| eprint!("\rgenerating… +{added} households");
    if let Some(generated) = dibao::demo::scale::generate_if_empty(&db, size, &progress)? {
        eprintln!("\ngenerated: {generated:?}");
    }
    drop(db);

    let data_dir = tempfile::tempdir()?;
    let mut settings = Settings::from_env();
    settings.bind = "127.0.0.1:0".into();
    settings.database_url = url;
    settings.data_dir = data_dir.path().to_path_buf();
    settings.demo = DemoMode::Off;
    settings.login_max_failures_per_ip = 1000;
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let mut reviewer = Visitor::log_in(&base, "reviewer").await?;
    let mut county = Visitor::log_in(&base, "county").await?;
    let (_, queue) = reviewer.get("/console/queue").await?;
    let case = first_case(&queue).context("a case in the reviewer's queue")?;
    let deep = deep_queue_page(&mut reviewer, 20).await?;
    let token = api_token(&base, "reviewer").await?;
    // The baseline: the same queue page as JSON, through the API, in the same run.
    let queue_api = "/api/v1/jurisdictions/421083105000/queue?limit=50";
    let (api_p50, api_p99) =
        time_requests(n, WARM_UP, async || api_get(&base, &token, queue_api).await).await?;
    // The console's report is kept (`oversight::snapshots`); the server's refresher computes
    // last month's and this month's on start. Wait for that pass so it runs beside no timing.
    let (_, report_page) = county.get("/console/report").await?;
    if !report_page.contains("<time datetime=") {
        bail!("the report page shows no computed time");
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!("{n} requests per page after {WARM_UP} warm-up requests; times include loopback HTTP");
    println!(
        "{:<44} {:>9} {:>9} {:>8}",
        "page", "p50 ms", "p99 ms", "p50/API"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:<44} {:>9.2} {:>9.2} {:>8}",
        "API queue, first page (baseline, JSON)",
        ms(api_p50),
        ms(api_p99),
        "1.00"
    );
    let mut failed = 0;
    for (as_county, path, name) in [
        (false, "/console/queue".to_owned(), "queue, first page"),
        (false, deep, "queue, deep page (20th)"),
        (
            false,
            "/console/queue?flag=single_staff".to_owned(),
            "queue, filtered by a flag",
        ),
        (false, case, "case page"),
        (
            false,
            "/console/cases?state=applied".to_owned(),
            "cases by state (applied)",
        ),
        (false, "/console/notices".to_owned(), "notices"),
        (true, "/console/county".to_owned(), "county confirmations"),
        (
            true,
            "/console/report".to_owned(),
            "county report (last month, kept)",
        ),
    ] {
        let who = if as_county {
            &mut county
        } else {
            &mut reviewer
        };
        match time_requests(n, WARM_UP, async || who.get(&path).await).await {
            Ok((p50, p99)) => println!(
                "{name:<44} {:>9.2} {:>9.2} {:>8.2}",
                ms(p50),
                ms(p99),
                ms(p50) / ms(api_p50)
            ),
            Err(err) => {
                println!(
                    "{name:<44} failed: {}",
                    err.to_string().lines().next().unwrap_or("")
                );
                failed += 1;
            }
        }
    }
    // What the kept report saves: computing it, as the API does on every request.
    let county_token = api_token(&base, "county").await?;
    let today = dibao::cases::workdays::china_date(chrono::Utc::now());
    let [(first, last), _] = dibao::oversight::snapshots::standing_periods(today);
    let report_api = format!("/api/v1/jurisdictions/421083000000/report?from={first}&to={last}");
    let runs = n.clamp(1, 5);
    match time_requests(runs, 1, async || {
        api_get(&base, &county_token, &report_api).await
    })
    .await
    {
        Ok((p50, p99)) => println!(
            "{:<44} {:>9.2} {:>9.2} {:>8.2}",
            format!("county report computed (API, {runs} runs)"),
            ms(p50),
            ms(p99),
            ms(p50) / ms(api_p50)
        ),
        Err(err) => {
            println!("county report computed (API): failed: {err}");
            failed += 1;
        }
    }
    if failed > 0 {
        bail!("{failed} pages failed");
    }
    Ok(())
}
