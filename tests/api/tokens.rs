//! Forged and replayed access tokens, and password spraying (tests/api/auth.rs has alg none,
//! another secret, expiry, refresh-token reuse, logout, disabled and deleted users).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{
    PASSWORD, TEST_JWT_SECRET, TestApp, b64url, jwt_claims, now_secs, sign, spawn_app,
};

/// HMAC-SHA256 (RFC 2104), so a test can sign any header it likes with the app's secret.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// A JWT with exactly this header and these claims, HMAC-SHA256-signed with the app's secret.
fn with_header(header: &Value, claims: &Value) -> String {
    let signed = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature = hmac_sha256(TEST_JWT_SECRET.as_bytes(), signed.as_bytes());
    format!("{signed}.{}", b64url(&signature))
}

fn signed_as(alg: jsonwebtoken::Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .expect("signing works")
}

/// A genuine token's claims, good for another ten minutes.
async fn live_claims(app: &TestApp, username: &str) -> Value {
    let mut claims = jwt_claims(&app.token(username).await);
    claims["iat"] = json!(now_secs());
    claims["exp"] = json!(now_secs() + 600);
    claims
}

async fn refused(app: &TestApp, token: &str) {
    app.get("/api/v1/auth/me", token)
        .await
        .expect_error(401, "invalid_token");
}

#[tokio::test]
async fn a_token_claiming_rs256_or_es256_or_signed_hs384_or_hs512_is_refused() {
    let app = spawn_app().await;
    let claims = live_claims(&app, "admin").await;
    // Control: our own HMAC over the HS256 header is what the server issues.
    let genuine = with_header(&json!({ "alg": "HS256", "typ": "JWT" }), &claims);
    app.get("/api/v1/auth/me", &genuine).await.expect(200);

    // Key confusion: an asymmetric algorithm named in the header, HMAC-signed with the secret.
    for alg in ["RS256", "ES256", "PS256", "EdDSA"] {
        refused(
            &app,
            &with_header(&json!({ "alg": alg, "typ": "JWT" }), &claims),
        )
        .await;
    }
    // The right secret with a stronger HMAC is still not the one algorithm we accept.
    for alg in [
        jsonwebtoken::Algorithm::HS384,
        jsonwebtoken::Algorithm::HS512,
    ] {
        refused(&app, &signed_as(alg, &claims)).await;
    }
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let app = spawn_app().await;
    let claims = live_claims(&app, "county").await;
    let mut not_before = claims.clone();
    not_before["nbf"] = json!(now_secs() + 300);
    refused(&app, &sign(&not_before, TEST_JWT_SECRET)).await;
    let mut issued_later = claims.clone();
    issued_later["iat"] = json!(now_secs() + 300);
    refused(&app, &sign(&issued_later, TEST_JWT_SECRET)).await;
    // Control: a past nbf and a present iat are fine.
    let mut valid = claims.clone();
    valid["nbf"] = json!(now_secs() - 10);
    app.get("/api/v1/auth/me", &sign(&valid, TEST_JWT_SECRET))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_token_for_another_audience_or_from_another_issuer_is_refused() {
    let app = spawn_app().await;
    let claims = live_claims(&app, "reviewer").await;
    assert_eq!(
        claims["aud"], "dibao-api",
        "issued tokens name their audience"
    );
    assert_eq!(claims["iss"], "dibao");
    for (claim, value) in [
        ("aud", json!("dibao-console")),
        ("aud", json!(["other", "another"])),
        ("aud", Value::Null),
        ("iss", json!("someone-else")),
        ("iss", Value::Null),
    ] {
        let mut forged = claims.clone();
        if value.is_null() {
            forged.as_object_mut().expect("claims").remove(claim);
        } else {
            forged[claim] = value;
        }
        refused(&app, &sign(&forged, TEST_JWT_SECRET)).await;
    }
    app.get("/api/v1/auth/me", &sign(&claims, TEST_JWT_SECRET))
        .await
        .expect(200);
}

#[tokio::test]
async fn claims_changed_under_a_kept_signature_are_refused() {
    let app = spawn_app().await;
    let coordinator = app.login("coord01").await;
    let admin = app.login("admin").await;
    let [header, _, signature]: [&str; 3] = coordinator
        .access
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .expect("three segments");
    let mut claims = jwt_claims(&coordinator.access);
    for (claim, value) in [
        ("sub", admin.user["id"].clone()),
        ("role", json!("admin")),
        ("exp", json!(now_secs() + 86_400)),
    ] {
        let original = claims[claim].clone();
        claims[claim] = value;
        let tampered = format!(
            "{header}.{}.{signature}",
            b64url(claims.to_string().as_bytes())
        );
        refused(&app, &tampered).await;
        claims[claim] = original;
    }
    app.get("/api/v1/auth/me", &coordinator.access)
        .await
        .expect(200);
}

#[tokio::test]
async fn one_password_sprayed_over_many_accounts_is_stopped_by_the_address_limit() {
    let app = spawn_app().await;
    // 20 accounts (the demo's 13 and 7 that do not exist), one wrong guess each: no account
    // reaches its own limit of 5, but the address reaches its 20.
    let mut accounts: Vec<String> = ["admin", "county", "reviewer"]
        .iter()
        .map(|u| (*u).to_owned())
        .chain((1..=10).map(|n| format!("coord{n:02}")))
        .chain((1..=7).map(|n| format!("guess{n}")))
        .collect();
    for username in &accounts {
        app.try_login(username, "Spring2025!")
            .await
            .expect_error(401, "invalid_credentials");
    }
    // Now even the right password for an account tried once is refused from this address.
    accounts.truncate(1);
    let stopped = app.try_login(&accounts[0], PASSWORD).await;
    stopped.expect_error(429, "too_many_attempts");
    assert!(stopped.header("retry-after").is_some());
}
