//! Settings a county chooses for itself (evidence thresholds, re-check intervals): one JSON
//! row per county and setting, the DOMAIN.md defaults until the county sets its own. Everyone
//! inside the county reads them; a county officer (or admin) changes them, audited.

use actix_web::HttpResponse;
use diesel::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::audit;
use crate::auth::{Action, Caller};
use crate::db::DbConn;
use crate::db::schema::county_settings;
use crate::error::{ApiError, ApiResult};
use crate::jurisdictions::api::county_for;

pub trait CountySetting: Serialize + DeserializeOwned + Default + Send + 'static {
    /// The row's name; the audit action is `county.<NAME>`.
    const NAME: &'static str;
    /// The error code of a value refused as out of range.
    const INVALID: &'static str;
    /// Every field out of its sensible range, by name.
    fn problems(&self) -> Vec<&'static str>;
}

/// The setting in force in a county.
pub fn load<T: CountySetting>(conn: &mut DbConn, county_code: &str) -> ApiResult<T> {
    let stored: Option<String> = county_settings::table
        .find((county_code, T::NAME))
        .select(county_settings::value)
        .first(conn)
        .optional()?;
    match stored {
        Some(json) => serde_json::from_str(&json).map_err(ApiError::internal),
        None => Ok(T::default()),
    }
}

/// GET: the setting in force in the county `code`.
pub async fn read<T: CountySetting>(
    state: &AppState,
    caller: Caller,
    code: String,
) -> ApiResult<HttpResponse> {
    let value: T = state
        .db
        .run(move |conn| {
            let county = county_for(conn, &caller, &code, Action::ReadSchemes)?;
            load(conn, &county.code)
        })
        .await?;
    Ok(HttpResponse::Ok().json(value))
}

/// PUT: validates and replaces the county's setting; applies from the next use on.
pub async fn replace<T: CountySetting>(
    state: &AppState,
    caller: Caller,
    code: String,
    value: T,
) -> ApiResult<HttpResponse> {
    let problems = value.problems();
    if !problems.is_empty() {
        return Err(ApiError::unprocessable(
            T::INVALID,
            "Some values are out of range",
            "部分取值超出允许范围",
        )
        .with_details(serde_json::json!({ "fields": problems })));
    }
    let summary = serde_json::to_value(&value).map_err(ApiError::internal)?;
    let stored = summary.clone();
    state
        .db
        .write(move |conn| {
            let county = county_for(conn, &caller, &code, Action::ConfigureCounty)?;
            diesel::delete(county_settings::table.find((&county.code, T::NAME))).execute(conn)?;
            diesel::insert_into(county_settings::table)
                .values((
                    county_settings::county_code.eq(&county.code),
                    county_settings::name.eq(T::NAME),
                    county_settings::value.eq(stored.to_string()),
                    county_settings::set_by.eq(&caller.user_id),
                    county_settings::set_at.eq(audit::store::now()),
                ))
                .execute(conn)?;
            audit::store::append(
                conn,
                &caller.actor(),
                audit::Event {
                    action: &format!("county.{}", T::NAME),
                    target_type: "jurisdiction",
                    target_id: &county.code,
                    summary: stored,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}
