//! Logging: JSON lines by default (one object per event, with the request id that
//! tracing-actix-web puts on every request span), or human-readable with DIBAO_LOG_FORMAT=pretty.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Closing the per-request span logs one access line with its duration and status.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr);
    let result = if std::env::var("DIBAO_LOG_FORMAT").as_deref() == Ok("pretty") {
        builder.try_init()
    } else {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
    // A second init (tests start many apps in one process) keeps the first subscriber.
    drop(result);
}
