//! The OpenAPI document, generated from the handlers, served at /api-docs/openapi.json with a
//! browsable UI at /api-docs; committed as api-spec/openapi.json.

use actix_web::{HttpResponse, get};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Response, ResponseBuilder, content::ContentBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_scalar::{Scalar, Servable};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dibao home-visit verification",
        description = "Home visits, evidence checks and review for the minimum living allowance (低保). \
            Errors share one body: `code` (stable), `message` (English), `message_zh` (中文), `details`."
    ),
    paths(
        crate::ops::healthz,
        crate::ops::readyz,
        crate::auth::api::login,
        crate::auth::api::refresh,
        crate::auth::api::logout,
        crate::auth::api::me,
        crate::users::api::create,
        crate::users::api::list,
        crate::users::api::get,
        crate::users::api::update,
        crate::users::api::remove,
        crate::jurisdictions::api::list_jurisdictions,
        crate::jurisdictions::api::get_jurisdiction,
        crate::jurisdictions::api::create_jurisdiction,
        crate::jurisdictions::api::update_jurisdiction,
        crate::jurisdictions::api::delete_jurisdiction,
        crate::households::api::import_households,
        crate::households::api::list_households,
        crate::households::api::get_household,
        crate::households::api::create_household,
        crate::households::api::update_household,
        crate::households::api::close_household,
        crate::households::api::add_member,
        crate::households::api::update_member,
        crate::households::api::remove_member,
        crate::households::api::lookup_member,
        crate::audit::api::verify_audit,
        crate::scoring::api::list_schemes,
        crate::scoring::api::get_scheme,
        crate::scoring::api::publish_scheme,
        crate::scoring::api::replace_scheme,
        crate::scoring::api::activate_scheme,
        crate::scoring::api::preview_assessment,
        crate::scoring::api::record_assessment,
        crate::scoring::api::list_assessments,
        crate::scoring::api::get_assessment,
        crate::photos::uploads::discover,
        crate::photos::uploads::create_upload,
        crate::photos::uploads::upload_offset,
        crate::photos::uploads::append,
        crate::photos::uploads::photo_stored,
        crate::visits::api::submit_visit,
        crate::visits::api::get_visit,
        crate::visits::api::visit_photo,
        crate::visits::api::visit_signature,
        crate::visits::assignments::assignments,
        crate::visits::api::get_thresholds,
        crate::visits::api::set_thresholds,
        crate::cases::api::open_case,
        crate::cases::api::list_cases,
        crate::cases::api::case_counts,
        crate::cases::api::get_case,
        crate::cases::api::act,
        crate::cases::api::claim,
        crate::cases::api::release,
        crate::cases::api::decision_letter,
        crate::cases::api::file_objection,
        crate::cases::api::resolve_objection,
        crate::cases::api::record_appraisal,
        crate::cases::api::queue,
        crate::cases::api::bulk_recommend,
        crate::cases::api::publish_notice,
        crate::cases::api::get_notice,
        crate::cases::api::get_delegation,
        crate::cases::api::set_delegation,
        crate::cases::api::get_recheck_intervals,
        crate::cases::api::set_recheck_intervals,
        crate::oversight::api::preview_draw,
        crate::oversight::api::create_draw,
        crate::oversight::api::list_draws,
        crate::oversight::api::get_draw,
        crate::oversight::api::get_report,
        crate::oversight::api::get_roll,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecurityAndErrors)
)]
pub struct ApiDoc;

/// Declares bearer auth and the error responses every operation of a kind can give, so each
/// handler lists only its own specific ones.
struct SecurityAndErrors;

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

impl Modify for SecurityAndErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let tus = path.starts_with("/api/v1/uploads");
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
                &mut item.head,
                &mut item.options,
            ];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = operation.request_body.is_some();
                // A path parameter, or a jurisdiction filter, names something that may not
                // exist (or lie outside the caller's subtree).
                let names_a_resource = operation.parameters.iter().flatten().any(|p| {
                    p.parameter_in == utoipa::openapi::path::ParameterIn::Path
                        || p.name == "jurisdiction"
                });
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response(description));
                };
                if secured || has_body || !operation.parameters.as_ref().is_none_or(Vec::is_empty) {
                    add(
                        "400",
                        "Malformed request (JSON syntax, query or path parameter)",
                    );
                }
                if secured {
                    add(
                        "401",
                        "Missing, invalid or expired access token, or the session ended",
                    );
                    add("403", "The role or jurisdiction does not allow this");
                }
                if names_a_resource {
                    // Lookups run inside the caller's subtree: what is outside looks absent.
                    add(
                        "404",
                        "Not found (or outside the caller's jurisdiction, which looks the same)",
                    );
                }
                if tus && secured {
                    add("412", "Tus-Resumable missing or not 1.0.0");
                }
                if has_body {
                    add("413", "Body too large");
                    add("415", "Wrong content type");
                    add("422", "Well-formed but invalid (unknown field, bad value)");
                }
                add("503", "Database unavailable");
            }
        }
    }
}

/// The OpenAPI document.
#[get("/api-docs/openapi.json")]
pub async fn spec() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// A browsable API reference.
pub fn ui() -> Scalar<utoipa::openapi::OpenApi> {
    Scalar::with_url("/api-docs", ApiDoc::openapi())
}
