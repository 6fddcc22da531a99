//! The service's API as a phone (or the reviewer preparing work) calls it: every request
//! timed, every answer outside the expected statuses counted as an unexpected error.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use super::report::{Op, Stats};

/// An answer read whole.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Upload-Offset` as a number.
    pub fn offset(&self) -> Option<usize> {
        self.header("Upload-Offset")?.parse().ok()
    }

    /// The error body's `code` ("" when there is none).
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }
}

/// A logged-in client of one account.
pub struct Session {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The account, as the login answered it.
    pub user: Value,
    /// How long a dropped connection or a 503 is repeated (see [`timed`]).
    retry: Duration,
    username: String,
}

pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(300))
        // Under the server's 5 s keep-alive, so an idle phone never reuses a closed connection.
        .pool_idle_timeout(Duration::from_secs(3))
        .build()?)
}

/// Sends and reads the whole answer; `None` when the connection failed.
async fn exchange(request: RequestBuilder) -> Option<Answer> {
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.ok()?;
    Some(Answer {
        status,
        headers,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

/// Records the latency of `op`; an answer outside `expected` (or none) is an unexpected error.
/// A dropped connection or a 503 is repeated for up to `retry` (each repeat counted), the
/// latency being that of the whole exchange.
async fn timed(
    stats: &mut Stats,
    op: Op,
    request: RequestBuilder,
    expected: &[u16],
    retry: Duration,
) -> Option<Answer> {
    let started = Instant::now();
    let mut answer = exchange(request.try_clone()?).await;
    while started.elapsed() < retry && answer.as_ref().is_none_or(|a| a.status == 503) {
        stats.retries += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
        answer = exchange(request.try_clone()?).await;
    }
    stats.record(op, started.elapsed());
    match answer {
        Some(a) if expected.contains(&a.status) => Some(a),
        Some(a) => {
            stats.error(format!("{}: HTTP {} {}", op.name(), a.status, a.code()));
            None
        }
        None => {
            stats.error(format!("{}: connection failed", op.name()));
            None
        }
    }
}

impl Session {
    pub async fn login(
        http: reqwest::Client,
        base: &str,
        username: &str,
        password: &str,
        stats: &mut Stats,
        retry: Duration,
    ) -> Option<Session> {
        let request = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }));
        let answer = timed(stats, Op::Login, request, &[200], retry).await?;
        Some(Session {
            token: answer.json["access_token"].as_str()?.to_owned(),
            user: answer.json["user"].clone(),
            base: base.trim_end_matches('/').to_owned(),
            http,
            retry,
            username: username.to_owned(),
        })
    }

    pub fn user_id(&self) -> &str {
        self.user["id"].as_str().unwrap_or_default()
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn jurisdiction(&self) -> &str {
        self.user["jurisdiction_code"].as_str().unwrap_or_default()
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    fn tus(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).header("Tus-Resumable", "1.0.0")
    }

    pub async fn assignments(&self, stats: &mut Stats) -> Option<Value> {
        let request = self.request(Method::GET, "/api/v1/assignments");
        Some(
            timed(stats, Op::Assignments, request, &[200], self.retry)
                .await?
                .json,
        )
    }

    /// Starts (or, for a stored photo, short-cuts) an upload: `Location` and `Upload-Offset`.
    pub async fn create_upload(
        &self,
        stats: &mut Stats,
        digest: &str,
        length: usize,
    ) -> Option<(String, usize)> {
        let request = self
            .tus(Method::POST, "/api/v1/uploads")
            .header("Upload-Length", length.to_string())
            .header(
                "Upload-Metadata",
                format!(
                    "sha256 {},kind {}",
                    STANDARD.encode(digest),
                    STANDARD.encode("photo")
                ),
            );
        let answer = timed(stats, Op::UploadCreate, request, &[201], self.retry).await?;
        let location = answer.header("Location")?.to_owned();
        Some((location, answer.offset()?))
    }

    /// Sends `bytes[offset..]`. Besides 204 the answer may be a 409: the server holds another
    /// offset, or the cut-off request before this one is still writing; the caller resumes.
    pub async fn patch(
        &self,
        stats: &mut Stats,
        location: &str,
        bytes: &Bytes,
        offset: usize,
    ) -> Option<Answer> {
        let request = self
            .patch_request(location, offset)
            .body(bytes.slice(offset..));
        timed(stats, Op::UploadPatch, request, &[204, 409], self.retry).await
    }

    /// Sends `bytes[offset..cut]` and then drops the connection, as a phone losing its
    /// signal does. Nothing is timed: the request never gets an answer.
    pub async fn patch_cut_off(&self, location: &str, bytes: &Bytes, offset: usize, cut: usize) {
        let sent = bytes.slice(offset..cut);
        let body = futures_util::stream::once(async move { Ok(sent) }).chain(
            futures_util::stream::once(async {
                // Let the sent part reach the server before the connection goes.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::other("signal lost"))
            }),
        );
        // A declared length the body never reaches: the server sees the connection drop.
        let request = self
            .patch_request(location, offset)
            .header("Content-Length", (bytes.len() - offset).to_string());
        // The failure is the point; the server's offset tells what arrived.
        let _ = request.body(reqwest::Body::wrap_stream(body)).send().await;
    }

    fn patch_request(&self, location: &str, offset: usize) -> RequestBuilder {
        self.tus(Method::PATCH, location)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
    }

    pub async fn upload_offset(&self, stats: &mut Stats, location: &str) -> Option<usize> {
        let request = self.tus(Method::HEAD, location);
        timed(stats, Op::UploadHead, request, &[200], self.retry)
            .await?
            .offset()
    }

    /// Submits a visit; `op` tells a first submission from a resend.
    pub async fn submit_visit(&self, stats: &mut Stats, op: Op, visit: &Value) -> Option<Answer> {
        let request = self.request(Method::POST, "/api/v1/visits").json(visit);
        timed(stats, op, request, &[200, 201], self.retry).await
    }

    /// A request made while preparing work: untimed; an error only when the connection failed.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(body);
        }
        exchange(request)
            .await
            .ok_or_else(|| anyhow::anyhow!("{method} {path}: connection failed"))
    }

    /// [`Session::call`] that must answer `expected`; returns the body.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        expected: u16,
    ) -> anyhow::Result<Value> {
        let answer = self.call(method.clone(), path, body).await?;
        anyhow::ensure!(
            answer.status == expected,
            "{method} {path}: HTTP {} {}",
            answer.status,
            answer.json
        );
        Ok(answer.json)
    }
}
