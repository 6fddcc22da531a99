//! The error envelope: precise statuses and codes for bad requests, one body shape for all.

use serde_json::json;

use crate::helpers::{PASSWORD, Resp, assert_error_body, spawn_app};

const LOGIN: &str = "/api/v1/auth/login";

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = spawn_app().await;
    let resp = app
        .post_raw(
            LOGIN,
            "",
            Some("application/json"),
            r#"{"username": "admin", "#,
        )
        .await;
    resp.expect_error(400, "malformed_json");
}

#[tokio::test]
async fn an_unknown_or_missing_field_is_a_422() {
    let app = spawn_app().await;
    let extra = app
        .post_json(
            LOGIN,
            "",
            &json!({ "username": "admin", "password": PASSWORD, "remember_me": true }),
        )
        .await;
    extra.expect_error(422, "invalid_body");
    assert!(
        extra.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("remember_me")),
        "the message names the field: {}",
        extra.text
    );
    app.post_json(LOGIN, "", &json!({ "username": "admin" }))
        .await
        .expect_error(422, "invalid_body");
    // A wrong type for a field.
    let admin = app.token("admin").await;
    app.post_json(
        "/api/v1/households",
        &admin,
        &json!({ "village_code": 421083105201u64, "members": [] }),
    )
    .await
    .expect_error(422, "invalid_body");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let app = spawn_app().await;
    // About 300 KiB against the 256 KiB limit.
    let body = json!({ "username": "admin", "password": "x".repeat(300 * 1024) });
    let resp = app.post_json(LOGIN, "", &body).await;
    resp.expect_error(413, "payload_too_large");
    // Just under the limit is read (and is merely a wrong password).
    let body = json!({ "username": "admin", "password": "x".repeat(200 * 1024) });
    app.post_json(LOGIN, "", &body)
        .await
        .expect_error(401, "invalid_credentials");
}

#[tokio::test]
async fn a_json_endpoint_refuses_other_content_types_with_415() {
    let app = spawn_app().await;
    let body = json!({ "username": "admin", "password": PASSWORD }).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let resp = app.post_raw(LOGIN, "", content_type, body.clone()).await;
        resp.expect_error(415, "unsupported_media_type");
    }
    app.post_raw(LOGIN, "", Some("application/json"), body)
        .await
        .expect(200);
}

#[tokio::test]
async fn an_unknown_route_is_a_404_with_the_error_body() {
    let app = spawn_app().await;
    let resp = app.get("/api/v1/no-such-thing", "").await;
    resp.expect_error(404, "route_not_found");
    assert!(
        resp.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("/api/v1/no-such-thing"))
    );
    // A known path with a method it does not have is no endpoint either.
    let admin = app.token("admin").await;
    app.post_json("/api/v1/audit/verify", &admin, &json!({}))
        .await
        .expect_error(404, "route_not_found");
}

#[tokio::test]
async fn a_non_bearer_authorization_header_is_a_401() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let resp = client
        .get(format!("{}/api/v1/auth/me", app.address()))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 401);
    let body: serde_json::Value = resp.json().await.expect("JSON body");
    assert_eq!(body["code"], "invalid_token");
    assert_error_body(&body);
}

#[tokio::test]
async fn bad_query_strings_and_cursors_are_400s() {
    let app = spawn_app().await;
    let county = app.token("county").await;
    let cases: [(&str, &str); 4] = [
        ("/api/v1/households?limit=0", "limit_out_of_range"),
        ("/api/v1/households?limit=201", "limit_out_of_range"),
        ("/api/v1/households?limit=many", "invalid_query"),
        ("/api/v1/households?colour=red", "invalid_query"),
    ];
    for (path, code) in cases {
        app.get(path, &county).await.expect_error(400, code);
    }
    app.get("/api/v1/households?cursor=!!not-base64!!", &county)
        .await
        .expect_error(400, "cursor_invalid");
    app.get("/api/v1/jurisdictions?kind=hamlet", &county)
        .await
        .expect_error(400, "invalid_query");
}

/// A tour of error responses from every part of the API: each has the one body shape, and
/// none of them is a 500 (the request helpers refuse 500s everywhere).
#[tokio::test]
async fn every_error_response_has_code_message_and_message_zh() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let coord = app.token("coord01").await;
    let unknown_id = "01900000-0000-7000-8000-000000000000";
    let responses: Vec<Resp> = vec![
        app.get("/api/v1/households", "").await,
        app.get("/api/v1/households", "Bearer-garbage").await,
        app.get(&format!("/api/v1/households/{unknown_id}"), &admin)
            .await,
        app.get(&format!("/api/v1/users/{unknown_id}"), &admin)
            .await,
        app.get("/api/v1/jurisdictions/000000000000", &admin).await,
        app.get("/api/v1/users", &coord).await,
        app.post_json(
            "/api/v1/jurisdictions",
            &coord,
            &json!({
                "code": "421083105299",
                "parent_code": "421083105000",
                "kind": "village",
                "name": "越权村",
            }),
        )
        .await,
        app.post_json(
            "/api/v1/users",
            &admin,
            &json!({
                "username": "x",
                "display_name": "某",
                "role": "coordinator",
                "jurisdiction_code": "421083105201",
                "password": "long-enough-password",
            }),
        )
        .await,
        app.post_json(
            "/api/v1/users",
            &admin,
            &json!({
                "username": "admin",
                "display_name": "重名",
                "role": "admin",
                "jurisdiction_code": "421083000000",
                "password": "long-enough-password",
            }),
        )
        .await,
        app.post_json(
            "/api/v1/users",
            &admin,
            &json!({
                "username": "newcoord",
                "display_name": "新协理员",
                "role": "coordinator",
                "jurisdiction_code": "421083105000",
                "password": "long-enough-password",
            }),
        )
        .await,
        app.post_json(
            "/api/v1/members/lookup",
            &admin,
            &json!({ "id_number": "123" }),
        )
        .await,
        app.patch_json(
            &format!("/api/v1/households/{unknown_id}"),
            &admin,
            &json!({ "phone": "not a phone" }),
        )
        .await,
        app.delete("/api/v1/nothing/here", &admin).await,
        app.post_raw(
            "/api/v1/auth/refresh",
            "",
            Some("application/json"),
            r#"{"refresh_token": "abc""#,
        )
        .await,
    ];
    let expected: [(u16, &str); 14] = [
        (401, "invalid_token"),
        (401, "invalid_token"),
        (404, "not_found"),
        (404, "not_found"),
        (404, "not_found"),
        (403, "forbidden"),
        (403, "forbidden"),
        (422, "username_invalid"),
        (409, "username_taken"),
        (422, "role_does_not_fit_jurisdiction"),
        (422, "id_number_length"),
        (422, "phone_invalid"),
        (404, "route_not_found"),
        (400, "malformed_json"),
    ];
    assert_eq!(responses.len(), expected.len());
    for (resp, (status, code)) in responses.iter().zip(expected) {
        resp.expect_error(status, code);
        assert_eq!(
            resp.header("content-type"),
            Some("application/json"),
            "{code}"
        );
    }
}
