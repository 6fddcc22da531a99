//! Application assembly: settings → database → HTTP server. Used by `main` and by the tests.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::auth::store::Throttle;
use crate::auth::tokens::TokenKeys;
use crate::cases::workdays::Calendar;
use crate::config::{DemoMode, Settings};
use crate::db::{Backend, Db};
use crate::error::ApiError;
use crate::photos::storage::Blobs;
use crate::photos::uploads::PhotoService;
use crate::scoring::store::SchemeCache;
use crate::visits::service::Lookalikes;

/// Shared by every request handler.
pub struct AppState {
    pub db: Db,
    pub keys: TokenKeys,
    pub settings: Settings,
    pub throttle: Throttle,
    pub schemes: SchemeCache,
    pub photos: PhotoService,
    pub lookalikes: Lookalikes,
    /// Working days for SLA deadlines.
    pub calendar: Calendar,
    /// Signs the web console's session cookies and CSRF tokens.
    pub cookie_key: crate::console::CookieKey,
}

pub struct Application {
    server: Server,
    port: u16,
    /// The demo logins, when this start seeded the demo county.
    pub demo_logins: Option<Vec<crate::demo::Login>>,
}

impl Application {
    /// Connects and migrates the database, seeds the demo where configured, and binds the
    /// listener (port 0 picks a free port, as the tests do).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let url = settings.effective_database_url();
        let db = {
            let (url, size) = (url.clone(), settings.db_pool_size);
            web::block(move || -> anyhow::Result<Db> {
                let db = Db::connect(&url, size)?;
                db.migrate()?;
                Ok(db)
            })
            .await??
        };
        let demo_logins = if settings.demo == DemoMode::Auto && db.backend() == Backend::Sqlite {
            let db = db.clone();
            web::block(move || crate::demo::seed_if_empty(&db)).await??
        } else {
            None
        };
        let lookalikes = load_lookalikes(&db).await?;
        let secret = jwt_secret(&settings)?;
        let listener = TcpListener::bind(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let photos = PhotoService::new(
            Blobs::open(&settings.object_store_url, &settings.data_dir.join("blobs"))?,
            settings.data_dir.join("uploads"),
            crate::photos::Limits {
                max_bytes: settings.max_photo_bytes,
                max_pixels: settings.max_photo_pixels,
            },
            match settings.parallel_ingests {
                0 => cpus,
                n => n,
            },
        )?;
        let calendar = calendar(&settings)?;
        let state = web::Data::new(AppState {
            calendar,
            cookie_key: crate::console::CookieKey::derive(&secret),
            schemes: SchemeCache::default(),
            lookalikes,
            photos,
            keys: TokenKeys::new(
                &secret,
                settings.access_token_ttl,
                settings.refresh_token_ttl,
            ),
            throttle: Throttle {
                max_per_account: settings.login_max_failures_per_account,
                max_per_ip: settings.login_max_failures_per_ip,
                window_secs: settings.login_window,
            },
            db,
            settings,
        });
        spawn_upload_sweeper(state.clone());
        spawn_case_ticker(state.clone());
        if state.settings.report_max_age > 0 {
            spawn_report_refresher(state.clone());
        }
        let server = serve(listener, state)?;
        Ok(Application {
            server,
            port,
            demo_logins,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until SIGINT/SIGTERM, then finishes in-flight requests (actix's graceful shutdown).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The look-alike index, loaded before the node serves (see [`Lookalikes::load`]).
async fn load_lookalikes(db: &Db) -> anyhow::Result<Lookalikes> {
    let db = db.clone();
    let started = std::time::Instant::now();
    let lookalikes = web::block(move || -> Result<Lookalikes, ApiError> {
        let lookalikes = Lookalikes::default();
        let photos = lookalikes.load(&mut *db.get()?)?;
        tracing::info!(
            photos,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "look-alike index loaded"
        );
        Ok(lookalikes)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("loading the look-alike index: {}", e.message))?;
    Ok(lookalikes)
}

/// Hourly, drop uploads abandoned for a day (a phone that never came back), with their files,
/// and partial files a stop left behind.
fn spawn_upload_sweeper(state: web::Data<AppState>) {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            let (db, dir) = (state.db.clone(), state.photos.uploads_dir.clone());
            let swept = web::block(move || {
                crate::photos::uploads::sweep_abandoned(&db, &dir, chrono::Duration::hours(24))
            })
            .await
            .map_err(ApiError::from)
            .and_then(|swept| swept);
            match swept {
                Ok(swept) if swept == Default::default() => {}
                Ok(swept) => tracing::info!(
                    uploads = swept.uploads,
                    orphan_files = swept.orphan_files,
                    "swept abandoned uploads"
                ),
                Err(err) => tracing::warn!(error = %err, "upload sweep failed"),
            }
        }
    });
}

/// Keeps the county reports the console opens on fresh (see `oversight::snapshots`): every
/// half of `DIBAO_REPORT_MAX_AGE`, recomputes those older than that half.
fn spawn_report_refresher(state: web::Data<AppState>) {
    tokio::spawn(async move {
        let half = chrono::Duration::seconds((state.settings.report_max_age as i64 / 2).max(1));
        let mut every = tokio::time::interval(half.to_std().unwrap_or_default());
        // A pass longer than the period (a huge county) delays the next instead of bunching.
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match crate::oversight::snapshots::refresh_standing(&state, half).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(count = n, "county reports recomputed"),
                Err(err) => tracing::warn!(error = %err.message, "county report refresh failed"),
            }
        }
    });
}

/// The working-day calendar: `DIBAO_HOLIDAY_CALENDAR` or the built-in one.
pub fn calendar(settings: &Settings) -> anyhow::Result<Calendar> {
    Ok(match &settings.holiday_calendar {
        None => Calendar::china_default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Calendar::parse(&text)?
        }
    })
}

/// Every five minutes: move cases whose public notice is over into county review (a case is
/// also moved when someone acts on it, so confirmation never waits for the tick), and open
/// the re-checks that have come due (idempotent, so every node may run it).
fn spawn_case_ticker(state: web::Data<AppState>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            every.tick().await;
            let app = state.clone();
            let ended = state
                .db
                .write(move |conn| crate::cases::service::end_notices(conn, &app.calendar))
                .await;
            let app = state.clone();
            let today = crate::cases::workdays::china_date(chrono::Utc::now());
            let scheduled = web::block(move || {
                crate::cases::service::schedule_rechecks(&app.db, &app.calendar, today)
            })
            .await
            .map_err(ApiError::from)
            .and_then(|result| result);
            for (what, outcome) in [
                ("notice periods ended", ended),
                ("re-checks opened", scheduled),
            ] {
                match outcome {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(count = n, "{what}"),
                    Err(err) => tracing::warn!(error = %err.message, "{what}: failed"),
                }
            }
        }
    });
}

/// The configured secret, or one generated once and kept in the data dir (mode 0600).
fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if !settings.jwt_secret.is_empty() {
        anyhow::ensure!(
            settings.jwt_secret.expose().len() >= 32,
            "DIBAO_JWT_SECRET must have at least 32 characters"
        );
        return Ok(settings.jwt_secret.expose().as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    std::fs::create_dir_all(&settings.data_dir)?;
    let secret =
        crate::auth::tokens::new_refresh_token() + &crate::auth::tokens::new_refresh_token();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&path)?, secret.as_bytes())?;
    Ok(secret.into_bytes())
}

fn serve(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let metrics = crate::ops::metrics(state.db.clone())?;
    let workers = match state.settings.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let request_timeout = std::time::Duration::from_secs(state.settings.client_request_timeout);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(
                crate::limits::body_idle_timeout,
            ))
            .wrap(metrics.clone())
            .wrap(TracingLogger::default())
            .app_data(state.clone())
            .app_data(json_config(state.settings.max_json_bytes))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("Invalid query string: {err}"),
                    format!("查询参数无效：{err}"),
                )
                .into()
            }))
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                ApiError::bad_request(
                    "invalid_path",
                    format!("Invalid path parameter: {err}"),
                    format!("路径参数无效：{err}"),
                )
                .into()
            }))
            .configure(routes)
            .configure(crate::console::routes)
            .default_service(web::to(not_found))
    })
    .workers(workers)
    .client_request_timeout(request_timeout)
    // Time to flush a response to a client that is going away; not worth a setting.
    .client_disconnect_timeout(std::time::Duration::from_secs(2))
    .listen(listener)?
    .run();
    Ok(server)
}

fn json_config(limit: usize) -> web::JsonConfig {
    use actix_web::error::JsonPayloadError;
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, _| {
            let api = match &err {
                JsonPayloadError::ContentType => ApiError::unsupported_media_type(
                    "Send the body as application/json",
                    "请求体须为 application/json",
                ),
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => crate::limits::too_large(limit),
                JsonPayloadError::Payload(e) if crate::limits::timed_out(e) => {
                    crate::limits::body_timeout()
                }
                JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::unprocessable(
                    "invalid_body",
                    format!("The body does not match the expected fields: {e}"),
                    format!("请求体字段不符合要求：{e}"),
                ),
                JsonPayloadError::Deserialize(e) => ApiError::bad_request(
                    "malformed_json",
                    format!("The body is not valid JSON: {e}"),
                    format!("请求体不是有效的 JSON：{e}"),
                ),
                other => ApiError::bad_request(
                    "unreadable_body",
                    format!("The body could not be read: {other}"),
                    "无法读取请求体",
                ),
            };
            api.into()
        })
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    ApiError::new(
        crate::error::ErrorKind::NotFound,
        "route_not_found",
        format!("No endpoint {} {}", req.method(), req.path()),
        format!("没有此接口：{} {}", req.method(), req.path()),
    )
    .error_response()
}

fn routes(cfg: &mut web::ServiceConfig) {
    use crate::{
        audit, auth, cases, households, jurisdictions, ops, photos, scoring, users, visits,
    };
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(crate::openapi::spec)
        .service(crate::openapi::ui())
        .service(auth::api::login)
        .service(auth::api::refresh)
        .service(auth::api::logout)
        .service(auth::api::me)
        .service(users::api::create)
        .service(users::api::list)
        .service(users::api::get)
        .service(users::api::update)
        .service(users::api::remove)
        .service(jurisdictions::api::list_jurisdictions)
        .service(jurisdictions::api::get_jurisdiction)
        .service(jurisdictions::api::create_jurisdiction)
        .service(jurisdictions::api::update_jurisdiction)
        .service(jurisdictions::api::delete_jurisdiction)
        // `import` before `{id}` so the literal path wins.
        .service(households::api::import_households)
        .service(households::api::list_households)
        .service(households::api::get_household)
        .service(households::api::create_household)
        .service(households::api::update_household)
        .service(households::api::close_household)
        .service(households::api::add_member)
        .service(households::api::update_member)
        .service(households::api::remove_member)
        .service(households::api::lookup_member)
        .service(audit::api::verify_audit)
        .service(scoring::api::list_schemes)
        .service(scoring::api::get_scheme)
        .service(scoring::api::publish_scheme)
        .service(scoring::api::replace_scheme)
        .service(scoring::api::activate_scheme)
        .service(scoring::api::preview_assessment)
        .service(scoring::api::record_assessment)
        .service(scoring::api::list_assessments)
        .service(scoring::api::get_assessment)
        .service(photos::uploads::discover)
        .service(photos::uploads::create_upload)
        .service(photos::uploads::upload_offset)
        .service(photos::uploads::append)
        .service(photos::uploads::photo_stored)
        .service(visits::api::submit_visit)
        .service(visits::api::get_visit)
        .service(visits::api::visit_photo)
        .service(visits::api::visit_signature)
        .service(visits::assignments::assignments)
        .service(visits::api::get_thresholds)
        .service(visits::api::set_thresholds)
        // `counts` before `{id}` so the literal path wins.
        .service(cases::api::case_counts)
        .service(cases::api::open_case)
        .service(cases::api::list_cases)
        .service(cases::api::get_case)
        .service(cases::api::act)
        .service(cases::api::claim)
        .service(cases::api::release)
        .service(cases::api::decision_letter)
        .service(cases::api::file_objection)
        .service(cases::api::resolve_objection)
        .service(cases::api::record_appraisal)
        .service(cases::api::queue)
        .service(cases::api::bulk_recommend)
        .service(cases::api::publish_notice)
        .service(cases::api::get_notice)
        .service(cases::api::get_delegation)
        .service(cases::api::set_delegation)
        .service(cases::api::get_recheck_intervals)
        .service(cases::api::set_recheck_intervals)
        .service(crate::oversight::api::preview_draw)
        .service(crate::oversight::api::create_draw)
        .service(crate::oversight::api::list_draws)
        .service(crate::oversight::api::get_draw)
        .service(crate::oversight::api::get_report)
        .service(crate::oversight::api::get_roll);
}
