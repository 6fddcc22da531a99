//! Console sessions. The cookie names an ordinary login session (the `sessions` table, so a
//! logout, a disabled account or an expired session ends console and API access alike),
//! signed so that it cannot be forged. Every form carries a CSRF token bound to the session.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::layout::{self, Lang, PageError};
use super::path_inside_console;
use crate::app::AppState;
use crate::auth::{self, Caller, Role};
use crate::error::ApiError;

const SESSION_COOKIE: &str = "dibao_console";
/// Double-submit token for the login form, which has no session to bind a token to yet.
const LOGIN_CSRF_COOKIE: &str = "dibao_login_csrf";

/// The key that signs console cookies and CSRF tokens, derived from the token secret so that
/// every node of a deployment agrees on it.
pub struct CookieKey([u8; 32]);

impl CookieKey {
    pub fn derive(secret: &[u8]) -> CookieKey {
        let mut hasher = Sha256::new();
        hasher.update(b"dibao console cookie key\0");
        hasher.update(secret);
        CookieKey(hasher.finalize().into())
    }

    fn mac(&self, purpose: &str, value: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        mac
    }

    fn sign(&self, purpose: &str, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, value).finalize().into_bytes())
    }

    /// Constant-time check of a signature made by [`CookieKey::sign`].
    fn verify(&self, purpose: &str, value: &str, signature: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|bytes| self.mac(purpose, value).verify_slice(&bytes).is_ok())
    }
}

/// A signed-in console user: the same [`Caller`] the API builds from a bearer token.
pub struct Console {
    pub caller: Caller,
    pub lang: Lang,
    /// The CSRF token every form of this session must send back.
    pub csrf: String,
    /// The page asked for (a GET's path and query; the console's home after a form post),
    /// where the language switch comes back to.
    pub here: String,
}

impl Console {
    /// The posted form, refused unless it carries this session's CSRF token.
    pub fn form(&self, body: &[u8]) -> Result<Form, PageError> {
        let form = Form::parse(body);
        match form.get("csrf") {
            Some(token) if constant_time_eq(token.as_bytes(), self.csrf.as_bytes()) => Ok(form),
            _ => Err(csrf_refused()),
        }
    }
}

fn csrf_refused() -> PageError {
    ApiError::new(
        crate::error::ErrorKind::Forbidden,
        "csrf_failed",
        "The form is stale or did not come from this console; reload the page and try again",
        "表单已过期或并非来自本系统，请刷新页面后重试",
    )
    .into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequest for Console {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Console, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let lang = Lang::of(req);
        // Back to the page after logging in or switching the language; a form post cannot be
        // replayed, so its page is lost.
        let here = match req.method() {
            &actix_web::http::Method::GET => req.uri().path_and_query().map(|p| p.as_str()),
            _ => None,
        }
        .unwrap_or("/console")
        .to_owned();
        let request_id = auth::request_id(req);
        Box::pin(async move {
            let login = || PageError::Login { next: here.clone() };
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let (user_id, session_id) = cookie
                .as_deref()
                .and_then(|value| session_of(&state.cookie_key, value))
                .ok_or_else(login)?;
            let csrf = state.cookie_key.sign("csrf", &session_id);
            let caller = state
                .db
                .run(move |conn| auth::store::load_caller(conn, &user_id, &session_id))
                .await?
                .ok_or_else(login)?;
            if caller.role == Role::Coordinator {
                return Err(ApiError::new(
                    crate::error::ErrorKind::Forbidden,
                    "console_not_for_coordinators",
                    "Coordinators work in the phone app; the console is for reviewers and county staff",
                    "村级协理员请使用手机端；本系统供乡镇审核和县级人员使用",
                )
                .into());
            }
            Ok(Console {
                caller: Caller {
                    request_id,
                    ..caller
                },
                lang,
                csrf,
                here,
            })
        })
    }
}

/// `user.session.signature` → (user, session), when the signature is ours.
fn session_of(key: &CookieKey, value: &str) -> Option<(String, String)> {
    let (claim, signature) = value.rsplit_once('.')?;
    let (user_id, session_id) = claim.split_once('.')?;
    key.verify("session", claim, signature)
        .then(|| (user_id.to_owned(), session_id.to_owned()))
}

fn cookie<'c>(state: &AppState, name: &'c str, value: String, path: &'c str) -> Cookie<'c> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.secure_cookies)
        .finish()
}

/// A url-encoded form body as (name, value) pairs; repeated names (checkboxes) are kept.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field that was filled in (trimmed, empty as absent).
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn login_page(lang: Lang, token: &str, next: &str, problem: Option<&ApiError>) -> maud::Markup {
    let t = |zh, en| lang.pick(zh, en);
    layout::bare(
        lang,
        t("登录", "Log in"),
        html! {
            form.login method="post" action="/console/login" {
                h1 { (t("低保入户核查 · 审核端", "Dibao home-visit review")) }
                @if let Some(err) = problem { (layout::problem(lang, err)) }
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                label { (t("用户名", "Username")) input name="username" autocomplete="username" required autofocus; }
                label { (t("密码", "Password")) input name="password" type="password" autocomplete="current-password" required; }
                button type="submit" { (t("登录", "Log in")) }
            }
        },
    )
}

/// The login form, with a fresh double-submit CSRF token.
pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    let token = auth::tokens::new_refresh_token();
    let next = query
        .into_inner()
        .next
        .filter(|n| path_inside_console(n))
        .unwrap_or_else(|| "/console".into());
    HttpResponse::Ok()
        .cookie(cookie(
            &state,
            LOGIN_CSRF_COOKIE,
            token.clone(),
            "/console/login",
        ))
        .content_type("text/html; charset=utf-8")
        .body(login_page(Lang::of(&req), &token, &next, None).into_string())
}

/// Checks the password through the same throttled path as the API login, then sets the
/// session cookie.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Form::parse(&body);
    let lang = Lang::of(&req);
    let expected = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    match (form.get("csrf"), expected) {
        (Some(sent), Some(expected)) if constant_time_eq(sent.as_bytes(), expected.as_bytes()) => {}
        _ => return Err(csrf_refused()),
    }
    let next = form
        .get("next")
        .filter(|n| path_inside_console(n))
        .unwrap_or("/console")
        .to_owned();
    let (username, password) = (
        form.get("username").unwrap_or_default().to_owned(),
        form.get("password").unwrap_or_default().to_owned(),
    );
    match auth::api::start_session(&state, &req, username, password).await {
        Ok((user, session_id, _refresh)) => {
            let claim = format!("{}.{}", user.id, session_id);
            let value = format!("{claim}.{}", state.cookie_key.sign("session", &claim));
            let mut session = cookie(&state, SESSION_COOKIE, value, "/console");
            session.set_max_age(time::Duration::seconds(state.keys.refresh_ttl_secs));
            let mut spent = cookie(&state, LOGIN_CSRF_COOKIE, String::new(), "/console/login");
            spent.make_removal();
            Ok(HttpResponse::SeeOther()
                .cookie(session)
                .cookie(spent)
                .insert_header(("Location", next))
                .finish())
        }
        Err(err) => {
            let token = expected_token(&req);
            let mut page = HttpResponse::build(err.kind.status());
            if let Some(secs) = err.retry_after_secs {
                page.insert_header(("Retry-After", secs.to_string()));
            }
            Ok(page
                .content_type("text/html; charset=utf-8")
                .body(login_page(lang, &token, &next, Some(&err)).into_string()))
        }
    }
}

fn expected_token(req: &HttpRequest) -> String {
    req.cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default()
}

/// Ends the session (for the API too) and clears the cookie.
pub async fn logout(
    state: web::Data<AppState>,
    console: Console,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    console.form(&body)?;
    auth::api::end_session(&state, console.caller).await?;
    let mut gone = cookie(&state, SESSION_COOKIE, String::new(), "/console");
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header(("Location", "/console/login"))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_verifies_only_with_its_own_key_and_content() {
        let key = CookieKey::derive(b"a secret of at least thirty-two characters");
        let claim = "user-1.session-1";
        let value = format!("{claim}.{}", key.sign("session", claim));
        assert_eq!(
            session_of(&key, &value),
            Some(("user-1".into(), "session-1".into()))
        );
        let other = CookieKey::derive(b"another secret of at least thirty-two chars");
        assert_eq!(session_of(&other, &value), None);
        let forged = value.replace("user-1", "user-2");
        assert_eq!(session_of(&key, &forged), None);
        // A CSRF token is not a session signature.
        let csrf = format!("{claim}.{}", key.sign("csrf", claim));
        assert_eq!(session_of(&key, &csrf), None);
    }
}
