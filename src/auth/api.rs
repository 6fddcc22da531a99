//! Login, token refresh, logout and "who am I".

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::{self, Rotation, account_subject, ip_subject};
use super::{Caller, password};
use crate::app::AppState;
use crate::audit::{self, Actor, Event};
use crate::error::{ApiError, ApiResult};
use crate::users::store::UserView;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "reviewer_fengkou")]
    pub username: String,
    #[schema(example = "demo-password")]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single use: each refresh returns a new one; presenting a used one ends the session.
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    #[serde(flatten)]
    pub tokens: TokenResponse,
    pub user: UserView,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(
        "invalid_credentials",
        "Wrong username or password",
        "用户名或密码错误",
    )
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "The refresh token is not valid; log in again",
        "刷新令牌无效，请重新登录",
    )
}

/// The client's address: the socket peer, or X-Forwarded-For when configured to trust a proxy.
fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    let info = req.connection_info();
    let addr = if trust_forwarded_for {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    };
    addr.unwrap_or("unknown").to_owned()
}

fn tokens(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    role: &str,
    refresh_token: String,
) -> ApiResult<TokenResponse> {
    let now = chrono::Utc::now().timestamp();
    Ok(TokenResponse {
        access_token: state.keys.issue_access(user_id, session_id, role, now)?,
        token_type: "Bearer",
        expires_in: state.keys.access_ttl_secs,
        refresh_token,
    })
}

/// Log in with username and password.
///
/// Failed attempts are counted per account and per client address; past the limit the answer
/// is 429 with Retry-After until the window passes.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 401, description = "Wrong username or password", body = crate::error::ErrorBody),
        (status = 429, description = "Too many failed attempts", body = crate::error::ErrorBody),
    )
)]
#[post("/api/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let LoginRequest { username, password } = body.into_inner();
    let (user_view, session_id, refresh_token) =
        start_session(&state, &req, username, password).await?;
    let role = user_view.role.as_str();
    Ok(HttpResponse::Ok().json(LoginResponse {
        tokens: tokens(&state, &user_view.id, &session_id, role, refresh_token)?,
        user: user_view,
    }))
}

/// Checks a username and password (throttled per account and per client address) and starts
/// a session: the user, the session id and its first refresh token. The API login and the
/// web console's login both come through here.
pub async fn start_session(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    username: String,
    password: String,
) -> ApiResult<(UserView, String, String)> {
    let account = account_subject(&username);
    let ip = ip_subject(&client_ip(req, state.settings.trust_forwarded_for));

    let user = {
        let state2 = state.clone();
        let (account, ip) = (account.clone(), ip.clone());
        state.db.run(move |conn| {
            let state = state2;
            state.throttle.check(
                conn,
                [
                    (&account, state.throttle.max_per_account),
                    (&ip, state.throttle.max_per_ip),
                ],
            )?;
            store::find_login_user(conn, &username)
        })
    }
    .await?;
    // Verified without holding a database connection.
    let password_ok =
        password::verify_bounded(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let checked = user.filter(|u| password_ok && !u.disabled);

    let Some(user) = checked else {
        let state2 = state.clone();
        state
            .db
            .write(move |conn| state2.throttle.record_failure(conn, &[&account, &ip]))
            .await?;
        return Err(invalid_credentials());
    };

    let request_id = super::request_id(req);
    let ttl = state.keys.refresh_ttl_secs;
    let state2 = state.clone();
    state
        .db
        .write(move |conn| {
            state2.throttle.clear(conn, &account)?;
            let (session_id, refresh_token) = store::create_session(conn, &user.id, ttl)?;
            audit::store::append(
                conn,
                &Actor {
                    user_id: Some(user.id.clone()),
                    name: user.username.clone(),
                    request_id,
                },
                Event {
                    action: "auth.login",
                    target_type: "session",
                    target_id: &session_id,
                    summary: serde_json::json!({}),
                },
            )?;
            let view = crate::users::store::view(conn, &user.id)?;
            Ok((view, session_id, refresh_token))
        })
        .await
}

/// Exchange a refresh token for a new access token and a new refresh token.
///
/// Each refresh token works once. Presenting one that was already exchanged means it was
/// copied: the whole session is revoked and every token from it stops working.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Invalid, expired or reused refresh token", body = crate::error::ErrorBody),
    )
)]
#[post("/api/v1/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let token = body.into_inner().refresh_token;
    let rotation = state
        .db
        .write(move |conn| store::rotate(conn, &token))
        .await?;
    match rotation {
        Rotation::Rotated {
            user_id,
            role,
            session_id,
            refresh_token,
        } => Ok(HttpResponse::Ok().json(tokens(
            &state,
            &user_id,
            &session_id,
            &role,
            refresh_token,
        )?)),
        Rotation::Reused => Err(ApiError::unauthorized(
            "refresh_token_reused",
            "This refresh token was already used; the session has been ended for safety. Log in again",
            "该刷新令牌已被使用过，为安全起见会话已终止，请重新登录",
        )),
        Rotation::Invalid => Err(invalid_refresh()),
    }
}

/// End the current session: its refresh token and every access token it issued stop working.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Logged out"))
)]
#[post("/api/v1/auth/logout")]
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    end_session(&state, caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes the caller's session (every token and console cookie of it), audited.
pub async fn end_session(state: &web::Data<AppState>, caller: Caller) -> ApiResult<()> {
    state
        .db
        .write(move |conn| {
            store::revoke_session(conn, &caller.session_id, "logout")?;
            audit::store::append(
                conn,
                &caller.actor(),
                Event {
                    action: "auth.logout",
                    target_type: "session",
                    target_id: &caller.session_id,
                    summary: serde_json::json!({}),
                },
            )
        })
        .await
}

/// The calling user, with role and jurisdiction.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "The calling user", body = UserView))
)]
#[get("/api/v1/auth/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let view = state
        .db
        .run(move |conn| crate::users::store::view(conn, &caller.user_id))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
