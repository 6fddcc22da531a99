//! `Caller` as an actix extractor: handlers that take one cannot run unauthenticated.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};

use super::Caller;
use super::tokens::invalid_token;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// The id tracing-actix-web gave this request; it goes into logs and audit entries.
pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = ApiResult<Caller>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        let request_id = request_id(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let claims = state
                .keys
                .verify_access(&bearer.ok_or_else(invalid_token)?)?;
            let caller = state
                .db
                .run(move |conn| super::store::load_caller(conn, &claims.sub, &claims.sid))
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "session_ended",
                        "This session has ended or the account is disabled; log in again",
                        "会话已结束或账号已停用，请重新登录",
                    )
                })?;
            Ok(Caller {
                request_id,
                ..caller
            })
        })
    }
}
