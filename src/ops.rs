//! Operations endpoints: liveness, readiness, Prometheus metrics.

use actix_web::{HttpResponse, get, web};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Opts, Registry};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::db::Db;

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok`, `ready` or `unavailable`.
    pub status: &'static str,
    /// What is not ready (never internal detail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

fn status(status: &'static str, reason: Option<&'static str>) -> Status {
    Status { status, reason }
}

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Alive", body = Status)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(status("ok", None))
}

/// The database is reachable and fully migrated; 503 otherwise (take this node out of rotation).
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "Database unreachable or migrations pending", body = Status),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db = state.db.clone();
    match web::block(move || db.ready()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(status("ready", None)),
        Ok(Err(reason)) => {
            tracing::warn!(%reason, "not ready");
            HttpResponse::ServiceUnavailable().json(status("unavailable", Some("database")))
        }
        Err(_) => HttpResponse::ServiceUnavailable().json(status("unavailable", None)),
    }
}

/// Pool gauges read at scrape time, so they are never stale.
struct PoolCollector {
    db: Db,
    descs: Vec<Desc>,
}

impl PoolCollector {
    fn gauges(&self) -> [IntGauge; 3] {
        let (connections, idle) = self.db.pool_state();
        let make = |name: &str, help: &str, value: u32| {
            let gauge = IntGauge::with_opts(Opts::new(name, help).namespace("dibao"))
                .expect("valid metric name");
            gauge.set(i64::from(value));
            gauge
        };
        [
            make(
                "db_pool_connections",
                "Open database connections",
                connections,
            ),
            make(
                "db_pool_idle_connections",
                "Idle database connections",
                idle,
            ),
            make(
                "db_pool_max_connections",
                "Configured pool size",
                self.db.pool_max_size(),
            ),
        ]
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }
    fn collect(&self) -> Vec<MetricFamily> {
        self.gauges().iter().flat_map(|g| g.collect()).collect()
    }
}

/// Request counts and latencies by route pattern and status at /metrics, plus pool usage.
pub fn metrics(db: Db) -> anyhow::Result<PrometheusMetrics> {
    let registry = Registry::new();
    let mut collector = PoolCollector {
        db,
        descs: Vec::new(),
    };
    collector.descs = collector
        .gauges()
        .iter()
        .flat_map(|g| g.desc().into_iter().cloned())
        .collect();
    registry.register(Box::new(collector))?;
    PrometheusMetricsBuilder::new("dibao")
        .endpoint("/metrics")
        .registry(registry)
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|e| anyhow::anyhow!("metrics setup: {e}"))
}
