//! Spawns the real application on a random port with a fresh database (SQLite in a temp dir,
//! or a new PostgreSQL database when `TEST_DATABASE_URL` is set), seeded with the demo county.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dibao::app::Application;
use dibao::config::{DemoMode, Secret, Settings};
use dibao::db::{Conn, Db, DbConn};
use dibao::demo::Login;
use dibao::households::id_number::check_character;
use diesel::{Connection, RunQueryDsl};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The HMAC secret every test app signs access tokens with (40 characters), so that tests
/// can forge tokens the way an attacker who knew it could.
pub const TEST_JWT_SECRET: &str = "dibao-integration-test-secret-0123456789";

/// The demo password of every seeded account.
pub const PASSWORD: &str = dibao::demo::DEMO_PASSWORD;

pub const COUNTY: &str = "421083000000";
/// 峰口镇, the reviewer's township (4 villages).
pub const FENGKOU: &str = "421083105000";
/// 曹市镇 (3 villages), outside the reviewer's township.
pub const CAOSHI: &str = "421083106000";

pub struct TestApp {
    address: String,
    client: reqwest::Client,
    /// A handle on the app's database for direct SQL (tampering, checks).
    pub db: Db,
    /// What the seeder reported (the first few accounts).
    pub logins: Vec<Login>,
    postgres: Option<PostgresDatabase>,
    data_dir: TempDir,
}

/// A database created for one test on the server of `TEST_DATABASE_URL`, dropped with it.
struct PostgresDatabase {
    server_url: String,
    name: String,
}

/// The access and refresh token of one login, with the user it returned.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub user: Value,
}

/// A response, read whole. Every request helper refuses a 500: no test may ever cause one.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON, or `Null` when it is empty or not JSON.
    pub json: Value,
}

impl Resp {
    /// The `code` of an error body ("" when there is none).
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {}: {}",
            self.status, self.text
        );
        &self.json
    }

    /// Asserts an error response: the status, the code, and the common error body
    /// (`code`, non-empty `message` and `message_zh`). Returns `details` (or `Null`).
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "unexpected error response: {}",
            self.text
        );
        assert_error_body(&self.json);
        &self.json["details"]
    }
}

/// Every error body has a `code` and non-empty English and Chinese messages.
#[track_caller]
pub fn assert_error_body(body: &Value) {
    for field in ["code", "message", "message_zh"] {
        let text = body[field].as_str().unwrap_or_default();
        assert!(
            !text.trim().is_empty(),
            "error body lacks a non-empty `{field}`: {body}"
        );
    }
    let zh = body["message_zh"].as_str().unwrap_or_default();
    assert!(
        zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "message_zh is not Chinese: {body}"
    );
}

pub async fn spawn_app() -> TestApp {
    spawn_app_seeded(|conn| dibao::demo::seed(conn).expect("the demo county seeds")).await
}

/// Like [`spawn_app`], with the database seeded by `seed` instead of the demo county.
pub async fn spawn_app_seeded(seed: impl FnOnce(&mut DbConn) -> Vec<Login>) -> TestApp {
    spawn(|_| {}, seed).await
}

/// Like [`spawn_app`], with some settings changed (small limits, short timeouts).
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(change, |conn| {
        dibao::demo::seed(conn).expect("the demo county seeds")
    })
    .await
}

async fn spawn(
    change: impl FnOnce(&mut Settings),
    seed: impl FnOnce(&mut DbConn) -> Vec<Login>,
) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::from_env();
    settings.bind = "127.0.0.1:0".into();
    settings.data_dir = data_dir.path().to_path_buf();
    settings.demo = DemoMode::Off;
    settings.jwt_secret = Secret::new(TEST_JWT_SECRET);
    settings.workers = 1;
    settings.db_pool_size = 4;
    settings.login_max_failures_per_account = 5;
    settings.login_max_failures_per_ip = 20;
    settings.login_window = 900;
    settings.access_token_ttl = 900;
    settings.refresh_token_ttl = 30 * 24 * 3600;
    settings.max_json_bytes = 256 * 1024;
    settings.max_csv_bytes = 16 * 1024 * 1024;
    settings.trust_forwarded_for = false;
    change(&mut settings);

    let (url, postgres) = match std::env::var("TEST_DATABASE_URL") {
        Ok(server_url) if !server_url.trim().is_empty() => {
            let name = format!("test_{}", uuid::Uuid::new_v4().simple());
            let mut conn =
                diesel::PgConnection::establish(&server_url).expect("connect to TEST_DATABASE_URL");
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .expect("create the test database");
            (
                with_database(&server_url, &name),
                Some(PostgresDatabase { server_url, name }),
            )
        }
        _ => (
            format!("sqlite://{}", data_dir.path().join("test.db").display()),
            None,
        ),
    };
    settings.database_url = url.clone();

    let app = Application::build(settings)
        .await
        .expect("the application builds");
    assert!(app.demo_logins.is_none(), "demo mode is off in tests");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let db = Db::connect(&url, 2).expect("test database handle");
    let logins = seed(&mut db.get().expect("a connection"));

    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        // Drop idle connections before the server's 5 s keep-alive closes them, so a slow
        // test step never reuses a connection that is already gone.
        .pool_idle_timeout(Duration::from_secs(3))
        .build()
        .expect("http client");
    TestApp {
        address,
        client,
        db,
        logins,
        postgres,
        data_dir,
    }
}

/// The same server URL with another database name (the query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(pg) = &self.postgres {
            match diesel::PgConnection::establish(&pg.server_url) {
                Ok(mut conn) => {
                    let dropped = diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                        pg.name
                    ))
                    .execute(&mut conn);
                    if let Err(err) = dropped {
                        eprintln!("could not drop test database {}: {err}", pg.name);
                    }
                }
                Err(err) => eprintln!("could not drop test database {}: {err}", pg.name),
            }
        }
    }
}

impl TestApp {
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The app's data directory (blobs, partial uploads).
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// A connection to the app's database.
    pub fn conn(&self) -> Conn {
        self.db.get().expect("a database connection")
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Resp {
        let response = request.send().await.expect("the request is answered");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_ne!(status, 500, "the server answered 500: {text}");
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        let builder = self
            .client
            .request(method, format!("{}{path}", self.address));
        if token.is_empty() {
            builder
        } else {
            builder.bearer_auth(token)
        }
    }

    /// GET with a bearer token ("" for none).
    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(self.request(reqwest::Method::GET, path, token))
            .await
    }

    /// POST a JSON body with a bearer token ("" for none).
    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(self.request(reqwest::Method::POST, path, token).json(body))
            .await
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(self.request(reqwest::Method::PATCH, path, token).json(body))
            .await
    }

    pub async fn put_json(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(self.request(reqwest::Method::PUT, path, token).json(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.send(self.request(reqwest::Method::DELETE, path, token))
            .await
    }

    /// POST raw bytes with the given content type (`None`: no Content-Type header at all).
    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let mut builder = self.request(reqwest::Method::POST, path, token).body(body);
        if let Some(content_type) = content_type {
            builder = builder.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        self.send(builder).await
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Resp {
        self.post_json(
            "/api/v1/auth/login",
            "",
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    /// Logs a demo account in with the demo password.
    pub async fn login(&self, username: &str) -> Tokens {
        let resp = self.try_login(username, PASSWORD).await;
        let body = resp.expect(200);
        Tokens {
            access: body["access_token"]
                .as_str()
                .expect("an access token")
                .to_owned(),
            refresh: body["refresh_token"]
                .as_str()
                .expect("a refresh token")
                .to_owned(),
            user: body["user"].clone(),
        }
    }

    /// An access token of a demo account.
    pub async fn token(&self, username: &str) -> String {
        self.login(username).await.access
    }

    /// Every item of a paginated listing, following `next_cursor`. `query` is appended to the
    /// path (e.g. "kind=village"); `limit` is the page size.
    pub async fn list_all(&self, path: &str, query: &str, limit: u32, token: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let mut url = format!("{path}?limit={limit}");
            if !query.is_empty() {
                url.push('&');
                url.push_str(query);
            }
            if let Some(c) = &cursor {
                url.push_str("&cursor=");
                url.push_str(c);
            }
            let resp = self.get(&url, token).await;
            let page = resp.expect(200);
            let page_items = page["items"].as_array().expect("items").clone();
            assert!(
                page_items.len() <= limit as usize,
                "a page holds at most `limit` items"
            );
            let next = page["next_cursor"].as_str().map(str::to_owned);
            if next.is_some() {
                assert_eq!(
                    page_items.len(),
                    limit as usize,
                    "only the last page is short"
                );
            }
            items.extend(page_items);
            match next {
                Some(next) => cursor = Some(next),
                None => return items,
            }
        }
        panic!("pagination of {path} never ended");
    }

    /// Codes of the villages under a township, as an admin sees them.
    pub async fn villages_of(&self, township: &str, token: &str) -> Vec<String> {
        self.list_all(
            "/api/v1/jurisdictions",
            &format!("parent={township}&kind=village"),
            200,
            token,
        )
        .await
        .iter()
        .map(|j| j["code"].as_str().expect("code").to_owned())
        .collect()
    }

    /// The full view of some active household of a village.
    pub async fn a_household_of(&self, village: &str, token: &str) -> Value {
        let page = self
            .get(
                &format!("/api/v1/households?jurisdiction={village}&limit=1"),
                token,
            )
            .await;
        let id = page.expect(200)["items"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("village {village} has a household: {}", page.text))
            .to_owned();
        self.get(&format!("/api/v1/households/{id}"), token)
            .await
            .expect(200)
            .clone()
    }

    /// A location inside a village: where one of its households is registered.
    pub async fn location_in(&self, village: &str, token: &str) -> Value {
        let household = self.a_household_of(village, token).await;
        assert!(household["location"].is_object(), "{household}");
        household["location"].clone()
    }
}

/// A valid ID number from its first 17 digits.
pub fn valid_id(first17: &str) -> String {
    format!("{first17}{}", check_character(first17))
}

/// The same ID number with a wrong check character.
pub fn with_wrong_check(id: &str) -> String {
    let first17 = &id[..17];
    let right = check_character(first17);
    let wrong = ['1', '0', 'X', '9', '8']
        .into_iter()
        .find(|c| *c != right)
        .expect("another character");
    format!("{first17}{wrong}")
}

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// A valid ID number no other test data uses: region 110105 (never the demo's 421083), a birth
/// date from a process-wide counter, sequence 123 (male) or 124 (female).
pub fn fresh_id(male: bool) -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let birth = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).expect("date")
        + chrono::Duration::days(i64::from(n) * 3);
    let sequence = if male { 123 } else { 124 };
    valid_id(&format!("110105{}{sequence}", birth.format("%Y%m%d")))
}

/// A member for a request body.
pub fn member(name: &str, id_number: &str, relation: &str) -> Value {
    json!({
        "name": name,
        "id_number": id_number,
        "relation": relation,
        "labour_capacity": "full",
    })
}

/// A household request body.
pub fn household(village: &str, location: &Value, members: Vec<Value>) -> Value {
    let head = members
        .iter()
        .find(|m| m["relation"] == "head")
        .and_then(|m| m["name"].as_str())
        .unwrap_or("户主")
        .to_owned();
    json!({
        "village_code": village,
        "head_name": head,
        "address": "洪湖市测试路1号",
        "urban": false,
        "location": location,
        "phone": "13800001111",
        "members": members,
    })
}

/// The claims of a JWT, read without checking it.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Base64url without padding, as JWT segments are written.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs claims as HS256 with the given secret.
pub fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signing works")
}

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

#[test]
fn the_test_secret_has_forty_characters() {
    assert_eq!(TEST_JWT_SECRET.len(), 40);
}

#[test]
fn a_database_url_gets_another_database_name() {
    assert_eq!(
        with_database("postgres://root@127.0.0.1/test", "test_x"),
        "postgres://root@127.0.0.1/test_x"
    );
    assert_eq!(
        with_database("postgres://u:p@h:5432/db?sslmode=disable", "t"),
        "postgres://u:p@h:5432/t?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "t"), "postgres://h/t");
}

#[test]
fn fresh_ids_are_valid_and_distinct() {
    let (a, b) = (fresh_id(true), fresh_id(false));
    assert_ne!(a, b);
    for id in [&a, &b] {
        assert!(dibao::households::id_number::IdNumber::parse(id).is_ok());
        assert!(dibao::households::id_number::IdNumber::parse(&with_wrong_check(id)).is_err());
    }
}
