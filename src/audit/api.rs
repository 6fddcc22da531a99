//! Audit chain verification for county officers and admins.

use actix_web::{HttpResponse, get, web};

use super::store::{self, Verification};
use crate::app::AppState;
use crate::auth::{Action, Caller};
use crate::error::ApiResult;

/// Walk the whole audit chain and report the first broken link, if any.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses((status = 200, description = "Verification result", body = Verification))
)]
#[get("/api/v1/audit/verify")]
pub async fn verify_audit(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::VerifyAudit)?;
    let result = state.db.run(store::verify).await?;
    Ok(HttpResponse::Ok().json(result))
}
