//! Operations endpoints and the published API document.

use std::path::PathBuf;

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn liveness_and_readiness_answer_200() {
    let app = spawn_app().await;
    let health = app.get("/healthz", "").await;
    assert_eq!(health.expect(200)["status"], "ok");
    let ready = app.get("/readyz", "").await;
    assert_eq!(ready.expect(200)["status"], "ready");
}

#[tokio::test]
async fn metrics_count_requests_and_report_the_database_pool() {
    let app = spawn_app().await;
    app.get("/healthz", "").await.expect(200);
    app.get("/api/v1/households", "").await.expect(401);

    let metrics = app.get("/metrics", "").await;
    metrics.expect(200);
    let text = &metrics.text;
    let requests: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("dibao_http_requests_total{"))
        .collect();
    assert!(
        requests
            .iter()
            .any(|l| l.contains("/healthz") && l.contains("status=\"200\"")),
        "the /healthz request is counted: {requests:?}"
    );
    assert!(
        requests.iter().any(|l| l.contains("status=\"401\"")),
        "the refused request is counted: {requests:?}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("dibao_db_pool_connections ")),
        "pool gauge present: {text}"
    );
    // The test app runs with a pool of 4.
    assert!(
        text.lines()
            .any(|l| l.trim() == "dibao_db_pool_max_connections 4"),
        "pool size gauge reports the configured size: {text}"
    );
}

fn committed_spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("api-spec/openapi.json")
}

/// The served document equals the committed `api-spec/openapi.json`; with `UPDATE_SPEC=1` the
/// test rewrites that file instead.
#[tokio::test]
async fn the_served_openapi_document_matches_the_committed_one() {
    let app = spawn_app().await;
    let served = app.get("/api-docs/openapi.json", "").await;
    let served = served.expect(200).clone();
    assert!(served["openapi"].as_str().is_some(), "{served}");

    let path = committed_spec_path();
    if std::env::var("UPDATE_SPEC").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().expect("parent dir")).expect("api-spec dir");
        let mut text = serde_json::to_string_pretty(&served).expect("serializable");
        text.push('\n');
        std::fs::write(&path, text).expect("write api-spec/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}); run the tests once with UPDATE_SPEC=1 to write it",
            path.display()
        )
    });
    let committed: Value = serde_json::from_str(&committed).expect("committed spec is JSON");
    assert!(
        served == committed,
        "the API changed: the served OpenAPI document differs from {}; review the change and \
         re-run with UPDATE_SPEC=1 to update it",
        path.display()
    );
}

#[tokio::test]
async fn every_operation_in_the_openapi_document_has_a_unique_operation_id() {
    let app = spawn_app().await;
    let doc = app
        .get("/api-docs/openapi.json", "")
        .await
        .expect(200)
        .clone();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/api/v1/households"), "{paths:?}");
    let mut ids = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("path item");
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            ids.push(id.to_owned());
        }
    }
    assert!(ids.len() >= 20, "found only {} operations", ids.len());
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "duplicate operationIds: {ids:?}");
}

#[tokio::test]
async fn the_api_reference_page_is_html() {
    let app = spawn_app().await;
    let page = app.get("/api-docs", "").await;
    page.expect(200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    assert!(page.text.to_lowercase().contains("<html"), "{}", page.text);
}
