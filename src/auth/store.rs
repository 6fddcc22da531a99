//! Sessions, refresh-token rotation, login throttling and the per-request caller lookup.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::tokens::{new_refresh_token, refresh_token_hash};
use super::{Caller, Role, Scope};
use crate::audit::{self, Actor, Event, store::now};
use crate::db::DbConn;
use crate::db::schema::{jurisdictions, login_failures, refresh_tokens, sessions, users};
use crate::error::{ApiError, ApiResult};

/// A user as the login check needs it.
#[derive(Debug, Queryable)]
pub struct LoginUser {
    pub id: String,
    pub username: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
}

/// Active (not deleted) user by username; usernames are matched case-insensitively.
pub fn find_login_user(conn: &mut DbConn, username: &str) -> ApiResult<Option<LoginUser>> {
    Ok(users::table
        .filter(users::username.eq(username.to_lowercase()))
        .filter(users::deleted_at.is_null())
        .select((
            users::id,
            users::username,
            users::role,
            users::password_hash,
            users::disabled,
        ))
        .first(conn)
        .optional()?)
}

/// Loads the caller for a verified access token; `None` when the user or session no longer
/// qualifies (deleted, disabled, logged out, expired).
pub fn load_caller(
    conn: &mut DbConn,
    user_id: &str,
    session_id: &str,
) -> ApiResult<Option<Caller>> {
    let row: Option<(String, String, String, String)> = users::table
        .inner_join(jurisdictions::table)
        .inner_join(sessions::table)
        .filter(users::id.eq(user_id))
        .filter(users::deleted_at.is_null())
        .filter(users::disabled.eq(false))
        .filter(sessions::id.eq(session_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now()))
        .select((
            users::username,
            users::role,
            users::jurisdiction_code,
            jurisdictions::path,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(username, role, jurisdiction_code, path)| {
        Some(Caller {
            user_id: user_id.to_owned(),
            username,
            role: Role::parse(&role)?,
            jurisdiction_code,
            session_id: session_id.to_owned(),
            scope: Scope::of_path(&path),
            request_id: None,
        })
    }))
}

/// Starts a session and returns its id and first refresh token.
pub fn create_session(
    conn: &mut DbConn,
    user_id: &str,
    ttl_secs: i64,
) -> ApiResult<(String, String)> {
    let at = now();
    let session_id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&session_id),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(at),
            sessions::expires_at.eq(at + Duration::seconds(ttl_secs)),
        ))
        .execute(conn)?;
    let token = insert_refresh_token(conn, &session_id, at)?;
    Ok((session_id, token))
}

fn insert_refresh_token(
    conn: &mut DbConn,
    session_id: &str,
    at: NaiveDateTime,
) -> ApiResult<String> {
    let token = new_refresh_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(refresh_token_hash(&token)),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::issued_at.eq(at),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The outcome of presenting a refresh token.
pub enum Rotation {
    /// A fresh token for the same session, and the user it belongs to.
    Rotated {
        user_id: String,
        role: String,
        session_id: String,
        refresh_token: String,
    },
    /// The token was already rotated: someone holds a copy. The session is now revoked.
    Reused,
    /// Unknown token, or its session ended.
    Invalid,
}

/// Rotates a refresh token inside the caller's transaction. A token that was used before
/// revokes its whole session (family), including every access token issued from it.
pub fn rotate(conn: &mut DbConn, token: &str) -> ApiResult<Rotation> {
    let at = now();
    let found: Option<(String, Option<NaiveDateTime>)> = refresh_tokens::table
        .find(refresh_token_hash(token))
        .select((refresh_tokens::session_id, refresh_tokens::used_at))
        .first(conn)
        .optional()?;
    let Some((session_id, used_at)) = found else {
        return Ok(Rotation::Invalid);
    };
    // (user id, role, revoked at, expires at, disabled, deleted at)
    type SessionRow = (
        String,
        String,
        Option<NaiveDateTime>,
        NaiveDateTime,
        bool,
        Option<NaiveDateTime>,
    );
    let session: Option<SessionRow> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(&session_id))
        .select((
            users::id,
            users::role,
            sessions::revoked_at,
            sessions::expires_at,
            users::disabled,
            users::deleted_at,
        ))
        .first(conn)
        .optional()?;
    let Some((user_id, role, revoked_at, expires_at, disabled, deleted_at)) = session else {
        return Ok(Rotation::Invalid);
    };
    if revoked_at.is_some() || expires_at <= at || disabled || deleted_at.is_some() {
        return Ok(Rotation::Invalid);
    }
    // The conditional update decides between two concurrent presentations of one token.
    let claimed = used_at.is_none()
        && diesel::update(refresh_tokens::table.find(refresh_token_hash(token)))
            .filter(refresh_tokens::used_at.is_null())
            .set(refresh_tokens::used_at.eq(at))
            .execute(conn)?
            == 1;
    if !claimed {
        revoke_session(conn, &session_id, "refresh_token_reuse")?;
        audit::store::append(
            conn,
            &Actor::system("auth"),
            Event {
                action: "session.revoke_on_reuse",
                target_type: "session",
                target_id: &session_id,
                summary: serde_json::json!({ "user_id": user_id }),
            },
        )?;
        return Ok(Rotation::Reused);
    }
    let refresh_token = insert_refresh_token(conn, &session_id, at)?;
    Ok(Rotation::Rotated {
        user_id,
        role,
        session_id,
        refresh_token,
    })
}

/// Ends a session; a no-op when it already ended.
pub fn revoke_session(conn: &mut DbConn, session_id: &str, reason: &str) -> ApiResult<()> {
    diesel::update(sessions::table.find(session_id))
        .filter(sessions::revoked_at.is_null())
        .set((
            sessions::revoked_at.eq(now()),
            sessions::revoke_reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends every session of a user (disabled, deleted, password changed).
pub fn revoke_user_sessions(conn: &mut DbConn, user_id: &str, reason: &str) -> ApiResult<()> {
    diesel::update(sessions::table)
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .set((
            sessions::revoked_at.eq(now()),
            sessions::revoke_reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}

/// Login throttling: failures are rows, so every node of a cluster sees the same counts.
pub struct Throttle {
    pub max_per_account: i64,
    pub max_per_ip: i64,
    pub window_secs: i64,
}

pub fn account_subject(username: &str) -> String {
    format!("account:{}", username.to_lowercase())
}

pub fn ip_subject(ip: &str) -> String {
    format!("ip:{ip}")
}

impl Throttle {
    /// Refuses with 429 and the seconds until the oldest counted failure leaves the window.
    pub fn check(&self, conn: &mut DbConn, subjects: [(&str, i64); 2]) -> ApiResult<()> {
        let at = now();
        let since = at - Duration::seconds(self.window_secs);
        for (subject, max) in subjects {
            let recent: Vec<NaiveDateTime> = login_failures::table
                .filter(login_failures::subject.eq(subject))
                .filter(login_failures::at.gt(since))
                .order(login_failures::at.desc())
                .select(login_failures::at)
                .limit(max)
                .load(conn)?;
            if recent.len() as i64 >= max {
                let oldest = recent.last().copied().unwrap_or(at);
                let wait = (oldest + Duration::seconds(self.window_secs) - at)
                    .num_seconds()
                    .max(1);
                return Err(ApiError::too_many_requests(wait as u64));
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, conn: &mut DbConn, subjects: &[&str]) -> ApiResult<()> {
        let at = now();
        for subject in subjects {
            diesel::insert_into(login_failures::table)
                .values((
                    login_failures::subject.eq(*subject),
                    login_failures::at.eq(at),
                ))
                .execute(conn)?;
        }
        // Old rows count for nothing; drop them while we are here.
        diesel::delete(
            login_failures::table
                .filter(login_failures::at.lt(at - Duration::seconds(self.window_secs))),
        )
        .execute(conn)?;
        Ok(())
    }

    pub fn clear(&self, conn: &mut DbConn, subject: &str) -> ApiResult<()> {
        diesel::delete(login_failures::table.filter(login_failures::subject.eq(subject)))
            .execute(conn)?;
        Ok(())
    }
}
