//! Request-body limits the HTTP layer does not give us: a body that stops arriving (actix's
//! `client_request_timeout` covers only the head), and raw bodies over their size limit
//! answered with the API's error body instead of actix's plain-text 413.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use futures_util::{Stream, StreamExt};
use tokio::time::Sleep;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult, ErrorKind};

/// Middleware: every request body fails with a timed-out I/O error once no byte has arrived
/// for `DIBAO_BODY_IDLE_TIMEOUT` seconds, so a stalled client cannot hold a request open.
pub async fn body_idle_timeout(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>() {
        let idle = Duration::from_secs(state.settings.body_idle_timeout);
        let inner = req.take_payload();
        let guarded: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(IdleTimeout {
                inner,
                idle,
                timer: None,
                expired: false,
            });
        req.set_payload(Payload::from(guarded));
    }
    next.call(req).await
}

struct IdleTimeout {
    inner: Payload,
    idle: Duration,
    /// Started when the reader first waits, so a handler that reads late is not penalized.
    timer: Option<Pin<Box<Sleep>>>,
    expired: bool,
}

impl Stream for IdleTimeout {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(item) => {
                self.timer = None;
                Poll::Ready(item)
            }
            Poll::Pending => {
                let idle = self.idle;
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.expired = true;
                        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no body bytes within the idle timeout",
                        )))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

/// Whether a body read failed because the client stopped sending.
pub fn timed_out(err: &PayloadError) -> bool {
    matches!(err, PayloadError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut)
}

pub fn body_timeout() -> ApiError {
    ApiError::new(
        ErrorKind::RequestTimeout,
        "body_timeout",
        "The request body stopped arriving; send it again",
        "请求体传输中断，请重新发送",
    )
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorKind::PayloadTooLarge,
        "payload_too_large",
        format!("The body is larger than {limit} bytes"),
        format!("请求体超过 {limit} 字节上限"),
    )
}

/// Reads a whole raw body (CSV, TOML) of at most `limit` bytes.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> ApiResult<Bytes> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| {
            if timed_out(&err) {
                body_timeout()
            } else {
                ApiError::bad_request(
                    "unreadable_body",
                    format!("The body could not be read: {err}"),
                    "无法读取请求体",
                )
            }
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
