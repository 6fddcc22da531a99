//! Input limits: nesting depth, body sizes, header size, clients that stall. Each is a clean
//! 4xx (or a closed connection for a client that never finishes), never a 5xx or a hang.
//! (tests/api/errors.rs has the oversized JSON body; tests/api/uploads.rs the oversized photo.)

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// Writes raw bytes on a fresh connection and returns what the server answers (up to the end
/// of a JSON body), or `None` when it closes the connection without a word. Panics if the server neither
/// answers nor closes within `patience` (a hang).
async fn raw_exchange(app: &TestApp, request: &[u8], patience: Duration) -> Option<String> {
    let addr = app.address().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before it has read all of a huge request.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(patience, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    let head_done = answer.windows(4).any(|w| w == b"\r\n\r\n");
                    if head_done && answer.ends_with(b"}") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server neither answered nor closed within {patience:?}"
    );
    let text = String::from_utf8_lossy(&answer).into_owned();
    (!text.is_empty()).then_some(text)
}

fn status_of(answer: &str) -> u16 {
    answer
        .lines()
        .next()
        .unwrap_or_default()
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn json_nested_deeper_than_the_parser_allows_is_a_400_not_a_crash() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let home = app.a_household_of("421083105201", &token).await;
    let path = format!(
        "/api/v1/households/{}/assessments/preview",
        home["id"].as_str().expect("id")
    );
    // Free-form answers are the one place arbitrary JSON reaches the server; 10 000 levels
    // fit in 20 KB, far under the size limit.
    let deep = format!(
        r#"{{"answers":{{"homes":{}1{}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let resp = app
        .post_raw(&path, &token, Some("application/json"), deep)
        .await;
    resp.expect_error(400, "malformed_json");
    // 100 levels are within the parser's limit: read, then refused as a wrong answer type.
    let shallow = format!(
        r#"{{"answers":{{"homes":{}1{}}}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let resp = app
        .post_raw(&path, &token, Some("application/json"), shallow)
        .await;
    assert_eq!(resp.status, 422, "{}", resp.text);
    // The server is still there.
    app.get("/healthz", "").await.expect(200);
}

#[tokio::test]
async fn a_csv_import_over_the_limit_is_a_413_with_the_stable_code() {
    let app = spawn_app_with(|settings| settings.max_csv_bytes = 4096).await;
    let admin = app.token("admin").await;
    let body = format!(
        "village_code,head_name\n{}",
        "421083105201,某某\n".repeat(400)
    );
    assert!(body.len() > 4096);
    let resp = app
        .post_raw("/api/v1/households/import", &admin, Some("text/csv"), body)
        .await;
    resp.expect_error(413, "payload_too_large");
}

/// actix-http's fixed limits on a request head: 128 KiB, 96 headers.
#[tokio::test]
async fn a_request_head_over_128_kib_or_96_headers_is_refused_with_a_4xx() {
    let app = spawn_app().await;
    let head =
        |headers: String| format!("GET /healthz HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n");
    // Control: 100 KiB of header is served.
    let fits = head(format!("X-Padding: {}\r\n", "a".repeat(100 * 1024)));
    let line = raw_exchange(&app, fits.as_bytes(), Duration::from_secs(30)).await;
    assert_eq!(status_of(&line.expect("a status line")), 200);

    let huge = head(format!("X-Padding: {}\r\n", "a".repeat(200 * 1024)));
    let line = raw_exchange(&app, huge.as_bytes(), Duration::from_secs(30)).await;
    let line = line.expect("a status line");
    assert_eq!(status_of(&line), 431, "{line}");

    let many = head((0..120).map(|i| format!("X-H{i}: v\r\n")).collect());
    let line = raw_exchange(&app, many.as_bytes(), Duration::from_secs(30)).await;
    let line = line.expect("a status line");
    assert!((400..500).contains(&status_of(&line)), "{line}");
    // A normal request on a new connection still works.
    app.get("/healthz", "").await.expect(200);
}

#[tokio::test]
async fn a_client_that_stalls_in_its_headers_is_dropped_after_the_request_timeout() {
    let app = spawn_app_with(|settings| settings.client_request_timeout = 1).await;
    // Well under the 10 s default, so only the setting can end it in time.
    let line = raw_exchange(
        &app,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\n",
        Duration::from_secs(4),
    )
    .await;
    if let Some(line) = line {
        assert_eq!(status_of(&line), 408, "{line}");
    }
}

#[tokio::test]
async fn a_client_that_stalls_in_its_body_gets_a_408() {
    let app = spawn_app_with(|settings| settings.body_idle_timeout = 1).await;
    let line = raw_exchange(
        &app,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\":",
        Duration::from_secs(30),
    )
    .await;
    let line = line.expect("a status line");
    assert_eq!(status_of(&line), 408, "{line}");
    assert!(line.contains(r#""code":"body_timeout""#), "{line}");
    // An ordinary body is unaffected.
    let resp = app
        .post_json(
            "/api/v1/auth/login",
            "",
            &json!({ "username": "admin", "password": "wrong" }),
        )
        .await;
    resp.expect_error(401, "invalid_credentials");
}
