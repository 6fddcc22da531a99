//! The township queue at province scale: its first page and a deep page (through the keyset
//! cursor), and the first pages of the case and household lists, read through the real store
//! functions from a generated county of a million households. Prints p50/p99 per query.
//!
//! `BENCH_DATABASE_URL` names the database (default: `target/bench-queue.db`, SQLite; or a
//! `postgres://` URL). An empty database is first filled with the generated county
//! (`BENCH_HOUSEHOLDS`, default 1,000,000) and then reused. Run:
//! `cargo bench --bench queue` or `BENCH_DATABASE_URL=postgres://… cargo bench --bench queue`.
//!
//! Not criterion: it reports means of batches, and a p99 needs each call's own time.

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::prelude::*;

use dibao::auth::Scope;
use dibao::cases::store::{self as cases, QueueFilter, QueueKey};
use dibao::db::schema::users;
use dibao::db::{Db, DbConn};
use dibao::households::store as households;

/// 峰口镇: the demo reviewer's township.
const TOWNSHIP: &str = "421083105000";
const COUNTY: &str = "421083000000";
const PAGE: i64 = 50;
/// The deep page is the 20th (rows 951–1000), or the last full one of a shorter queue.
const DEEP_PAGE: usize = 20;
const WARM_UP: usize = 20;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-queue.db").into());
    let iterations: usize = env_or("BENCH_ITERATIONS", 500);
    let db = Db::connect(&url, 1)?;
    db.migrate()?;
    let started = Instant::now();
    let progress = |n: u64| eprint!("\rgenerating… +{n} households");
    let size = env_or("BENCH_HOUSEHOLDS", dibao::demo::scale::MAX_HOUSEHOLDS);
    if let Some(generated) = dibao::demo::scale::generate_if_empty(&db, size, &progress)? {
        eprintln!(
            "\ngenerated in {:.0} s: {generated:?}",
            started.elapsed().as_secs_f64()
        );
    }
    let mut conn = db.get()?;
    let conn: &mut DbConn = &mut conn;
    let reviewer: String = users::table
        .filter(users::username.eq("reviewer"))
        .select(users::id)
        .first(conn)
        .context("the generated county's reviewer")?;
    let path_of = |conn: &mut DbConn, code: &str| -> anyhow::Result<Scope> {
        let node = dibao::jurisdictions::store::find(conn, &Scope::everything(), code)?
            .with_context(|| format!("jurisdiction {code}"))?;
        Ok(Scope::of_path(&node.path))
    };
    let township_scope = path_of(conn, TOWNSHIP)?;
    let county_scope = path_of(conn, COUNTY)?;
    let now = dibao::audit::store::now();
    let everything = QueueFilter::default();

    let queue_page = |conn: &mut DbConn, after: Option<&QueueKey>| {
        // One more than the page, as the handler asks, to know whether another follows.
        cases::queue(conn, TOWNSHIP, &everything, &reviewer, now, after, PAGE + 1)
    };
    let mut deep: Option<QueueKey> = None;
    let mut depth = 1;
    while depth < DEEP_PAGE {
        let page = queue_page(conn, deep.as_ref())?;
        let Some(last) = page
            .get(PAGE as usize - 1)
            .filter(|_| page.len() as i64 > PAGE)
        else {
            break;
        };
        deep = Some(QueueKey {
            overdue: last.due_at.is_some_and(|due| due < now),
            priority: last.queue_priority,
            entered_at: last.entered_at,
            id: last.id.clone(),
        });
        depth += 1;
    }

    println!("{url}: {iterations} calls each (after {WARM_UP} to warm up), {PAGE} rows a page");
    println!(
        "{:<44} {:>5} {:>9} {:>9} {:>9}",
        "query", "rows", "p50 ms", "p99 ms", "max ms"
    );
    measure(iterations, "queue, first page", || {
        queue_page(conn, None).map(|rows| rows.len())
    })?;
    measure(
        iterations,
        &format!("queue, page {depth} (keyset cursor)"),
        || queue_page(conn, deep.as_ref()).map(|rows| rows.len()),
    )?;
    measure(iterations, "queue, first page + household lines", || {
        let rows = queue_page(conn, None)?;
        let ids: Vec<String> = rows.iter().map(|r| r.household_id.clone()).collect();
        cases::household_lines(conn, &ids).map(|lines| lines.len())
    })?;
    let newest = cases::ListFilter::default();
    measure(iterations, "case list, first page (county)", || {
        cases::list(conn, &county_scope, &newest, None, PAGE + 1).map(|rows| rows.len())
    })?;
    measure(iterations, "case list, first page (township)", || {
        cases::list(conn, &township_scope, &newest, None, PAGE + 1).map(|rows| rows.len())
    })?;
    let all = households::Filter::default();
    measure(iterations, "household list, first page (township)", || {
        households::list(conn, &township_scope, &all, None, PAGE).map(|rows| rows.len())
    })?;
    Ok(())
}

/// Times each call on its own; prints the median, the 99th percentile and the slowest.
fn measure(
    iterations: usize,
    name: &str,
    mut call: impl FnMut() -> dibao::error::ApiResult<usize>,
) -> anyhow::Result<()> {
    let mut rows = 0;
    for _ in 0..WARM_UP {
        rows = call().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    }
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            call().map(|_| start.elapsed())
        })
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    times.sort();
    let at = |q: usize| times[(times.len() * q / 100).min(times.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<44} {rows:>5} {:>9.2} {:>9.2} {:>9.2}",
        ms(at(50)),
        ms(at(99)),
        ms(times[times.len() - 1])
    );
    Ok(())
}
