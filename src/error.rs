//! The one error type of the API: an HTTP status, a stable snake_case code, an English and a
//! Chinese message, optional details. Internal causes are logged, never sent to the client.

use std::borrow::Cow;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    /// The client stopped sending its body.
    RequestTimeout,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unprocessable,
    TooManyRequests,
    /// A precondition header (tus's `Tus-Resumable`) is missing or unsupported.
    PreconditionFailed,
    /// tus checksum extension: the chunk did not match its `Upload-Checksum`.
    ChecksumMismatch,
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::ChecksumMismatch => StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `id_number_checksum`.
    #[schema(example = "household_not_found")]
    pub code: String,
    /// English message for people.
    pub message: String,
    /// Chinese message for people.
    pub message_zh: String,
    /// Structured context (which field, which line, the current state …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Boxed so `Result<T, ApiError>` stays one pointer wide on the happy path.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {}", .0.code, .0.message)]
pub struct ApiError(Box<ErrorParts>);

#[derive(Debug, Clone)]
pub struct ErrorParts {
    pub kind: ErrorKind,
    pub code: Cow<'static, str>,
    pub message: String,
    pub message_zh: String,
    pub details: Option<serde_json::Value>,
    pub retry_after_secs: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl std::ops::Deref for ApiError {
    type Target = ErrorParts;
    fn deref(&self) -> &ErrorParts {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorParts {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(
        kind: ErrorKind,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> Self {
        Self(Box::new(ErrorParts {
            kind,
            code: code.into(),
            message: message.into(),
            message_zh: message_zh.into(),
            details: None,
            retry_after_secs: None,
        }))
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(code: &'static str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, en, zh)
    }
    pub fn unprocessable(
        code: impl Into<Cow<'static, str>>,
        en: impl Into<String>,
        zh: impl Into<String>,
    ) -> Self {
        Self::new(ErrorKind::Unprocessable, code, en, zh)
    }
    pub fn conflict(code: &'static str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, en, zh)
    }
    pub fn not_found(what_en: &str, what_zh: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{what_en} not found"),
            format!("未找到{what_zh}"),
        )
    }
    pub fn unauthorized(code: &'static str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, code, en, zh)
    }
    pub fn forbidden() -> Self {
        Self::new(
            ErrorKind::Forbidden,
            "forbidden",
            "Your role or jurisdiction does not allow this",
            "您的角色或辖区无权执行此操作",
        )
    }
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            ErrorKind::TooManyRequests,
            "too_many_attempts",
            format!("Too many failed attempts; try again in {retry_after_secs} s"),
            format!("尝试次数过多，请 {retry_after_secs} 秒后再试"),
        );
        err.retry_after_secs = Some(retry_after_secs);
        err
    }
    pub fn unsupported_media_type(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::UnsupportedMediaType,
            "unsupported_media_type",
            en,
            zh,
        )
    }

    /// 415 unless the request's Content-Type starts with one of `accepted`.
    pub fn require_content_type(req: &actix_web::HttpRequest, accepted: &[&str]) -> ApiResult<()> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accepted.iter().any(|a| content_type.starts_with(a)) {
            return Ok(());
        }
        let list = accepted.join(", ");
        Err(Self::unsupported_media_type(
            format!("Send the body as {list}"),
            format!("请求体格式应为 {list}"),
        ))
    }

    pub fn unavailable() -> Self {
        Self::new(
            ErrorKind::Unavailable,
            "database_unavailable",
            "The database is not reachable; try again shortly",
            "数据库暂时不可用，请稍后再试",
        )
    }
    /// A fault of ours: the cause goes to the log, the client gets a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            ErrorKind::Internal,
            "internal_error",
            "Internal error; it has been logged",
            "服务器内部错误，已记录",
        )
    }

    /// The same error answered as 409: the request was valid but collides with stored data.
    pub fn with_kind_conflict(mut self) -> Self {
        self.kind = ErrorKind::Conflict;
        self
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_string(),
            message: self.message.clone(),
            message_zh: self.message_zh.clone(),
            details: self.details.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.kind == ErrorKind::Unauthorized {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(self.body())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => Self::unavailable(),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Self::new(
                ErrorKind::Conflict,
                "concurrent_update",
                "Another change to the same record won; retry the request",
                "同一记录正被他人修改，请重试",
            ),
            other => Self::internal(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %err, "database pool");
        Self::unavailable()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        Self::internal(err)
    }
}
