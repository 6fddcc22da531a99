//! Command line: `serve` (default), `migrate`, `demo`, `import-households`, `verify-audit`,
//! `loadgen` and the batch jobs.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use dibao::app::Application;
use dibao::audit::Actor;
use dibao::auth::Scope;
use dibao::config::Settings;
use dibao::db::Db;

#[derive(Parser)]
#[command(
    version,
    about = "Home-visit verification service for the minimum living allowance (低保)"
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo county into an empty database (the only way to seed PostgreSQL).
    Demo {
        /// Instead of the small demo, generate 洪湖市 at scale with this many households
        /// (up to 1,000,000: 20 townships of 15 villages, a tenth with open cases).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        households: Option<u64>,
    },
    /// Import households from a CSV file (one row per member); see README for the columns.
    ImportHouseholds {
        file: PathBuf,
        /// Import the good households and report bad rows instead of importing nothing.
        #[arg(long)]
        skip_bad_rows: bool,
    },
    /// Walk the audit hash chain and report the first broken link.
    VerifyAudit,
    /// Re-assess a county's households under one scheme version (new assessments supersede
    /// the old; households already assessed under it are skipped, so a re-run resumes).
    Rescore {
        /// County code.
        #[arg(long)]
        county: String,
        /// Scheme version number of that county.
        #[arg(long)]
        version: i32,
    },
    /// Open the re-check cases that are due (approved households by class: A yearly, B
    /// half-yearly, C quarterly unless the county set its own intervals). Safe to run
    /// repeatedly; the service also runs it itself.
    Schedule,
    /// On a database without jurisdictions: create the top node and an admin bound to it.
    /// The password comes from DIBAO_ADMIN_PASSWORD (so it stays out of shell history).
    Bootstrap {
        /// 12-digit statistical division code of the top node.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// province, city or county.
        #[arg(long, default_value = "county")]
        kind: String,
        #[arg(long, default_value = "admin")]
        admin: String,
        #[arg(long, env = "DIBAO_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Play a fleet of phones against a running service and report throughput and latency;
    /// exits non-zero on any unexpected error.
    Loadgen(dibao::loadgen::Options),
    /// Remove photo uploads abandoned for this long, with their partial files, and partial
    /// files as old that belong to no unfinished upload (what the server does hourly with a
    /// day). Safe beside a running server.
    SweepUploads {
        #[arg(long, default_value_t = 86_400)]
        older_than_secs: i64,
    },
}

fn main() -> anyhow::Result<()> {
    cap_malloc_arenas();
    dibao::telemetry::init();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.settings),
        Command::Migrate => {
            let applied = open_db(&cli.settings)?.1;
            println!("{applied} migration(s) applied");
            Ok(())
        }
        Command::Demo { households } => match households {
            Some(households) => generate(&cli.settings, households),
            None => demo(&cli.settings),
        },
        Command::ImportHouseholds {
            file,
            skip_bad_rows,
        } => import(&cli.settings, &file, skip_bad_rows),
        Command::Bootstrap {
            code,
            name,
            kind,
            admin,
            password,
        } => bootstrap(&cli.settings, code, name, &kind, admin, password),
        Command::Rescore { county, version } => rescore(&cli.settings, &county, version),
        Command::Loadgen(options) => dibao::loadgen::main(options),
        Command::SweepUploads { older_than_secs } => {
            let (db, _) = open_db(&cli.settings)?;
            let swept = dibao::photos::uploads::sweep_abandoned(
                &db,
                &cli.settings.data_dir.join("uploads"),
                chrono::Duration::seconds(older_than_secs),
            )
            .map_err(|e| anyhow::anyhow!("{} / {}", e.message, e.message_zh))?;
            println!("{}", serde_json::to_string(&swept)?);
            Ok(())
        }
        Command::Schedule => {
            let (db, _) = open_db(&cli.settings)?;
            let calendar = dibao::app::calendar(&cli.settings)?;
            let today = dibao::cases::workdays::china_date(chrono::Utc::now());
            let opened = dibao::cases::service::schedule_rechecks(&db, &calendar, today)
                .map_err(|e| anyhow::anyhow!("{} / {}", e.message, e.message_zh))?;
            println!("Opened {opened} re-check case(s) due by {today}");
            Ok(())
        }
        Command::VerifyAudit => {
            let (db, _) = open_db(&cli.settings)?;
            let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
            let result =
                dibao::audit::store::verify(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&result)?);
            anyhow::ensure!(result.intact, "the audit chain is broken");
            Ok(())
        }
    }
}

fn open_db(settings: &Settings) -> anyhow::Result<(Db, usize)> {
    let db = Db::connect(&settings.effective_database_url(), 2)?;
    let applied = db.migrate()?;
    Ok((db, applied))
}

/// Two malloc arenas unless the operator set `MALLOC_ARENA_MAX`: with glibc's default (8 per
/// core) each blocking thread that handled a photo keeps its freed buffers in an arena of its
/// own. Peak RSS under 200 concurrent uploads: 392–403 MB by default, 229–252 MB with two, at the
/// same throughput (docs/performance.md).
fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: sets an allocator parameter, before any other thread exists.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
    }
}

#[actix_web::main]
async fn serve(settings: Settings) -> anyhow::Result<()> {
    let bind = settings.bind.clone();
    let app = Application::build(settings).await?;
    if let Some(logins) = &app.demo_logins {
        print_logins(logins, DEMO_ACCOUNTS);
    }
    tracing::info!(port = app.port(), "listening");
    println!("Serving on http://{bind}  (API reference: http://{bind}/api-docs)");
    app.run_until_stopped().await?;
    Ok(())
}

const DEMO_ACCOUNTS: &str = "(coordinators coord01 … coord10, one per village, share the password)";

fn print_logins(logins: &[dibao::demo::Login], others: &str) {
    println!(
        "Demo county 洪湖市 loaded. Log in with any of these (password: {}):",
        dibao::demo::DEMO_PASSWORD
    );
    for login in logins {
        println!(
            "  {:<10} {:<18} {}",
            login.username,
            login.role.as_str(),
            login.jurisdiction
        );
    }
    println!("  {others}");
}

fn demo(settings: &Settings) -> anyhow::Result<()> {
    let (db, _) = open_db(settings)?;
    match dibao::demo::seed_if_empty(&db)? {
        Some(logins) => print_logins(&logins, DEMO_ACCOUNTS),
        None => println!("The database already has jurisdictions; the demo was not loaded."),
    }
    Ok(())
}

fn generate(settings: &Settings, households: u64) -> anyhow::Result<()> {
    let (db, _) = open_db(settings)?;
    let bar = indicatif::ProgressBar::new(households);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} households {elapsed} (eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let households = usize::try_from(households)?;
    let generated = dibao::demo::scale::generate_if_empty(&db, households, &|n| bar.inc(n))?;
    bar.finish_and_clear();
    let Some(generated) = generated else {
        println!("The database already has jurisdictions; nothing was generated.");
        return Ok(());
    };
    println!(
        "Generated in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        serde_json::to_string(&generated)?
    );
    print_logins(
        &generated.logins,
        &format!(
            "(reviewer02 … reviewer{:02}: one per township; coord001 … coord{:03}: one per village)",
            generated.townships, generated.villages
        ),
    );
    Ok(())
}

fn bootstrap(
    settings: &Settings,
    code: String,
    name: String,
    kind: &str,
    username: String,
    password: String,
) -> anyhow::Result<()> {
    use dibao::jurisdictions::{Kind, api::insert_node, parse_code};
    let kind = Kind::parse(kind).ok_or_else(|| anyhow::anyhow!("unknown kind {kind}"))?;
    let (db, _) = open_db(settings)?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    let actor = Actor::system("bootstrap");
    let user = dibao::db::write_transaction(&mut conn, |conn| {
        let existing = dibao::jurisdictions::store::list(conn, &Scope::everything(), &Default::default(), None, 1)?;
        if !existing.is_empty() {
            return Err(dibao::error::ApiError::conflict(
                "already_bootstrapped",
                "The database already has jurisdictions; create further nodes and users through the API",
                "数据库中已有辖区，请通过接口继续创建辖区和用户",
            ));
        }
        let code = parse_code(&code)?.to_owned();
        insert_node(conn, &actor, None, code.clone(), kind, name, None)?;
        let input = dibao::users::api::CreateUser {
            username,
            display_name: "Administrator".into(),
            role: dibao::auth::Role::Admin,
            jurisdiction_code: code,
            password,
        };
        dibao::users::api::create_user(conn, &actor, &Scope::everything(), &input)
    })
    .map_err(|e| anyhow::anyhow!("{} / {}", e.message, e.message_zh))?;
    println!(
        "Created {} and admin '{}'",
        user.jurisdiction_name, user.username
    );
    Ok(())
}

fn rescore(settings: &Settings, county_code: &str, version: i32) -> anyhow::Result<()> {
    let (db, _) = open_db(settings)?;
    let county = {
        let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
        dibao::jurisdictions::store::find(&mut conn, &Scope::everything(), county_code)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .filter(|c| c.kind == "county")
            .ok_or_else(|| anyhow::anyhow!("no county {county_code}"))?
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} households {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let report = dibao::scoring::service::rescore(
        &db,
        &dibao::scoring::store::SchemeCache::default(),
        &Actor::system("rescore"),
        &county,
        version,
        &|n| bar.inc(n),
    )
    .map_err(|e| anyhow::anyhow!("{} / {}", e.message, e.message_zh))?;
    bar.finish_and_clear();
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn import(settings: &Settings, file: &PathBuf, skip_bad_rows: bool) -> anyhow::Result<()> {
    let bytes = std::fs::read(file)?;
    let rows = csv::Reader::from_reader(bytes.as_slice()).records().count() as u64;
    let (db, _) = open_db(settings)?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    let bar = indicatif::ProgressBar::new(rows);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let outcome = dibao::households::import::run(
        &mut conn,
        &Actor::system("import-households"),
        &Scope::everything(),
        &bytes,
        skip_bad_rows,
        &|n| bar.inc(n),
    );
    bar.finish_and_clear();
    match outcome {
        Ok(report) => {
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Err(err) => {
            eprintln!("{}\n{}", err.message, err.message_zh);
            if let Some(details) = &err.details {
                eprintln!("{}", serde_json::to_string_pretty(details)?);
            }
            anyhow::bail!("import rejected")
        }
    }
}
