//! The page shell (Chinese first, English on request), the console's error pages and the
//! small pieces every page uses.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use super::path_inside_console;
use super::session::Console;
use crate::auth::Role;
use crate::error::ApiError;

const LANG_COOKIE: &str = "dibao_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn of(req: &HttpRequest) -> Lang {
        match req.cookie(LANG_COOKIE) {
            Some(c) if c.value() == "en" => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// What a console handler fails with: not signed in (go to the login page) or an error of
/// the core, shown as a page with the same status, code and both messages as the API's.
#[derive(Debug)]
pub enum PageError {
    Login { next: String },
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        PageError::Api(err)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::Login { .. } => f.write_str("not signed in"),
            PageError::Api(err) => err.fmt(f),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Login { .. } => StatusCode::SEE_OTHER,
            PageError::Api(err) => err.kind.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::Login { next } => {
                let target = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", next)
                    .finish();
                HttpResponse::SeeOther()
                    .insert_header(("Location", format!("/console/login?{target}")))
                    .finish()
            }
            PageError::Api(err) => {
                if err.kind == crate::error::ErrorKind::Internal {
                    tracing::error!(error = %err.message, "console page failed");
                }
                // Both languages: the error page has no session to read the choice from.
                let body = bare(
                    Lang::Zh,
                    "出错了 · Error",
                    html! {
                        main.narrow {
                            h1 { (err.kind.status().as_u16()) }
                            (problem_both(err))
                            p { a href="/console" { "返回首页 · Back to the console" } }
                        }
                    },
                );
                HttpResponse::build(err.kind.status())
                    .content_type("text/html; charset=utf-8")
                    .insert_header(("Cache-Control", "no-store"))
                    .body(body.into_string())
            }
        }
    }
}

pub type PageResult = Result<HttpResponse, PageError>;

pub fn html_response(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(markup.into_string())
}

/// 303 to a console page after a form post, so that reloading does not post again.
pub fn see_other(location: impl Into<String>) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location.into()))
        .finish()
}

/// An error of the core in the page's language, with its stable code.
pub fn problem(lang: Lang, err: &ApiError) -> Markup {
    let message = match lang {
        Lang::Zh => &err.message_zh,
        Lang::En => &err.message,
    };
    html! { p.problem role="alert" { (message) " " code { (err.code) } } }
}

fn problem_both(err: &ApiError) -> Markup {
    html! {
        p.problem role="alert" { (err.message_zh) br; (err.message) " " code { (err.code) } }
    }
}

/// A page without navigation (login, errors).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 低保核查" }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

/// A page of the signed-in console: navigation for the caller's role, language switch,
/// logout.
pub fn page(console: &Console, current: &str, title: &str, body: Markup) -> Markup {
    let lang = console.lang;
    let t = |zh, en| lang.pick(zh, en);
    let mut links = vec![
        ("/console/queue", t("审核队列", "Queue")),
        ("/console/notices", t("公示", "Notices")),
    ];
    if matches!(console.caller.role, Role::CountyOfficer | Role::Admin) {
        links.extend([
            ("/console/county", t("县级确认", "County confirmation")),
            ("/console/spot-checks", t("抽查", "Spot checks")),
            ("/console/report", t("报表", "Report")),
        ]);
    }
    let other = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    bare(
        lang,
        title,
        html! {
            header.bar {
                strong { "低保入户核查" }
                nav {
                    @for (href, label) in &links {
                        a href=(href) aria-current=[(*href == current).then_some("page")] { (label) }
                    }
                }
                span.who { (console.caller.username) }
                a href={ "/console/lang?to=" (other.0) "&back=" (encode(&console.here)) } { (other.1) }
                form.inline method="post" action="/console/logout" {
                    input type="hidden" name="csrf" value=(console.csrf);
                    button.link type="submit" { (t("退出", "Log out")) }
                }
            }
            main { h1 { (title) } (body) }
        },
    )
}

pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: String,
    back: Option<String>,
}

/// Switches the language (a plain cookie, not personal data) and goes back.
pub async fn switch_lang(query: web::Query<LangQuery>) -> HttpResponse {
    let value = if query.to == "en" { "en" } else { "zh" };
    let back = query
        .back
        .clone()
        .filter(|b| path_inside_console(b))
        .unwrap_or_else(|| "/console".into());
    let cookie = actix_web::cookie::Cookie::build(LANG_COOKIE, value)
        .path("/console")
        .same_site(actix_web::cookie::SameSite::Lax)
        .permanent()
        .finish();
    HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header(("Location", back))
        .finish()
}

/// Plain CSS for 1366×768 desktops and for print; no web fonts, nothing fetched.
const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 "PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:#1d2733;background:#f4f6f8}
header.bar{display:flex;gap:1.2em;align-items:center;padding:.5em 1.2em;background:#9b1c1c;color:#fff}
header.bar a,header.bar button.link{color:#fff}
header.bar nav{display:flex;gap:1em;flex:1}
header.bar a[aria-current]{font-weight:bold;text-decoration:underline}
main{max-width:1320px;margin:0 auto;padding:1em 1.2em}
main.narrow,form.login{max-width:420px;margin:4em auto;background:#fff;padding:2em;border-radius:6px}
form.login label{display:block;margin:.8em 0}
form.login input{display:block;width:100%;padding:.4em}
h1{font-size:1.4em;margin:.2em 0 .6em}
h2{font-size:1.1em;margin:1.2em 0 .4em;border-bottom:1px solid #ccd3da}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d5dbe1;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef1f4}
.badge{display:inline-block;padding:0 .4em;border-radius:3px;background:#e2e8f0;margin:0 .2em .2em 0;font-size:.9em}
.badge.late{background:#c53030;color:#fff}
.badge.flag{background:#f6e05e}
.badge.ok{background:#c6f6d5}
.problem{background:#fff5f5;border:1px solid #c53030;padding:.6em;color:#9b1c1c}
.done{background:#f0fff4;border:1px solid #2f855a;padding:.6em}
.counts{display:flex;flex-wrap:wrap;gap:.5em;margin-bottom:1em}
.counts a{background:#fff;border:1px solid #d5dbe1;padding:.2em .6em;border-radius:3px;color:inherit;text-decoration:none}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1.2em}
figure.chart{margin:0 0 1em;background:#fff;border:1px solid #d5dbe1;padding:.6em}
figure.chart figcaption{font-weight:bold;margin-bottom:.4em}
.thumbs{display:flex;flex-wrap:wrap;gap:.6em}
.thumbs figure{margin:0;background:#fff;padding:.3em;border:1px solid #d5dbe1}
.thumbs img{display:block;width:160px;height:120px;object-fit:cover}
form.inline{display:inline}
button.link{background:none;border:0;padding:0;text-decoration:underline;cursor:pointer;font:inherit}
pre.letter{white-space:pre-wrap;font:inherit;font-size:16px;line-height:1.8;background:#fff;padding:2em;max-width:46em}
fieldset{background:#fff;border:1px solid #ccd3da;margin:.6em 0}
textarea{width:100%;min-height:4em}
.filters{display:flex;gap:.8em;align-items:end;flex-wrap:wrap;margin-bottom:.8em}
.muted{color:#4a5568}
svg.map{background:#fff;border:1px solid #d5dbe1;max-width:100%;height:auto}
.legend .key{display:inline-block;width:.8em;height:.8em;border-radius:50%;vertical-align:middle}
.key.home{background:#1a4f8a}.key.radius{border:1px dashed #3182ce}.key.photo{background:#c05621}
@media print{header.bar,form,nav,.noprint{display:none}body{background:#fff}main{max-width:none}}
"#;
