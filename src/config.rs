//! Settings, read from environment variables (or the same names as CLI flags on `serve`).
//! Every setting has a default so `cargo run --release` needs none of them.

use std::fmt;
use std::path::PathBuf;

use clap::Args;

/// A secret read from the environment: never printed, not even by `Debug`.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address and port the HTTP server listens on.
    #[arg(long, env = "DIBAO_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Directory for the embedded database, the generated JWT secret and (later) photos.
    #[arg(long, env = "DIBAO_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// `postgres://…` for PostgreSQL, `sqlite://PATH` for SQLite; empty means SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL", default_value = "", hide_env_values = true)]
    pub database_url: String,

    /// Connections in the database pool.
    #[arg(long, env = "DIBAO_DB_POOL_SIZE", default_value_t = 10)]
    pub db_pool_size: u32,

    /// HMAC secret for access tokens; empty means a random one kept in DATA_DIR/jwt-secret
    /// (fine for one node; every node of a cluster must share one).
    #[arg(
        long,
        env = "DIBAO_JWT_SECRET",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub jwt_secret: Secret,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "DIBAO_ACCESS_TOKEN_TTL", default_value_t = 900)]
    pub access_token_ttl: i64,

    /// Lifetime of a login session (its refresh tokens), in seconds.
    #[arg(long, env = "DIBAO_REFRESH_TOKEN_TTL", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl: i64,

    /// Failed logins per account within the window before 429.
    #[arg(
        long,
        env = "DIBAO_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        default_value_t = 5
    )]
    pub login_max_failures_per_account: i64,

    /// Failed logins per client address within the window before 429.
    #[arg(long, env = "DIBAO_LOGIN_MAX_FAILURES_PER_IP", default_value_t = 20)]
    pub login_max_failures_per_ip: i64,

    /// Window for counting failed logins, in seconds.
    #[arg(long, env = "DIBAO_LOGIN_WINDOW", default_value_t = 900)]
    pub login_window: i64,

    /// Largest accepted JSON request body, in bytes.
    #[arg(long, env = "DIBAO_MAX_JSON_BYTES", default_value_t = 256 * 1024)]
    pub max_json_bytes: usize,

    /// Largest accepted CSV import body, in bytes.
    #[arg(long, env = "DIBAO_MAX_CSV_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_csv_bytes: usize,

    /// Seconds a client has to send its request line and headers (slow phones on 2G need a
    /// few); a client that takes longer gets 408 and is disconnected.
    #[arg(long, env = "DIBAO_CLIENT_REQUEST_TIMEOUT", default_value_t = 10)]
    pub client_request_timeout: u64,

    /// Seconds a request body may go without a single byte arriving before the request is
    /// answered 408 (a resumable photo upload keeps what arrived).
    #[arg(long, env = "DIBAO_BODY_IDLE_TIMEOUT", default_value_t = 60)]
    pub body_idle_timeout: u64,

    /// Object storage for photos: empty means DATA_DIR/blobs; or e.g. `s3://bucket/prefix`
    /// (credentials and endpoint from the usual AWS_* variables).
    #[arg(
        long,
        env = "DIBAO_OBJECT_STORE_URL",
        default_value = "",
        hide_env_values = true
    )]
    pub object_store_url: String,

    /// Largest accepted photo, in bytes.
    #[arg(long, env = "DIBAO_MAX_PHOTO_BYTES", default_value_t = 20_000_000)]
    pub max_photo_bytes: usize,

    /// Largest accepted photo, in pixels (checked from the header before decoding).
    #[arg(long, env = "DIBAO_MAX_PHOTO_PIXELS", default_value_t = 60_000_000)]
    pub max_photo_pixels: u64,

    /// Photos analysed at the same time (bounds CPU and memory); 0 means one per CPU.
    #[arg(long, env = "DIBAO_PARALLEL_INGESTS", default_value_t = 0)]
    pub parallel_ingests: usize,

    /// Minutes a reviewer's claim on a case lasts before it returns to the queue (renewable).
    #[arg(long, env = "DIBAO_CLAIM_MINUTES", default_value_t = 30)]
    pub claim_minutes: i64,

    /// Shortest public notice (公示) period, in days.
    #[arg(long, env = "DIBAO_NOTICE_DAYS", default_value_t = 7)]
    pub notice_days: u32,

    /// TOML file of public holidays and make-up workdays for SLA deadlines; unset means the
    /// built-in State Council calendar (src/cases/calendar-cn.toml).
    #[arg(long, env = "DIBAO_HOLIDAY_CALENDAR")]
    pub holiday_calendar: Option<PathBuf>,

    /// Seconds the console shows a kept county report before computing it again; a background
    /// task recomputes last month's and this month's every half of this. 0: every view computes
    /// (a small county), no background task.
    #[arg(long, env = "DIBAO_REPORT_MAX_AGE", default_value_t = 600)]
    pub report_max_age: u64,

    /// Seed the demo county into an empty SQLite database on start (`auto`) or never (`off`).
    /// PostgreSQL is only ever seeded by the explicit `demo` command.
    #[arg(long, env = "DIBAO_DEMO", default_value = "auto")]
    pub demo: DemoMode,

    /// Take the client address from X-Forwarded-For (only behind a trusted proxy).
    #[arg(long, env = "DIBAO_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Mark the web console's cookies `Secure` (set it whenever the console is served over TLS).
    #[arg(long, env = "DIBAO_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// HTTP worker threads; 0 means one per CPU.
    #[arg(long, env = "DIBAO_WORKERS", default_value_t = 0)]
    pub workers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoMode {
    Auto,
    Off,
}

impl Settings {
    /// Defaults plus whatever the environment sets, as `serve` would see them.
    pub fn from_env() -> Self {
        use clap::{FromArgMatches, Parser};
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            settings: Settings,
        }
        let matches = <Wrapper as clap::CommandFactory>::command().get_matches_from(["dibao"]);
        Wrapper::from_arg_matches(&matches)
            .expect("defaults always parse")
            .settings
    }

    /// The database URL, with the embedded SQLite file as the default.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("dibao.db").display())
        } else {
            self.database_url.clone()
        }
    }
}
