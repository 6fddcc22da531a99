//! Login, sessions, refresh-token rotation, throttling and attacks on access tokens.

use serde_json::json;

use crate::helpers::{
    COUNTY, FENGKOU, PASSWORD, TEST_JWT_SECRET, b64url, jwt_claims, now_secs, sign, spawn_app,
};

#[tokio::test]
async fn every_demo_user_can_log_in_and_see_its_role_and_jurisdiction() {
    let app = spawn_app().await;
    // The seeder reports the first accounts it made, admin first.
    assert_eq!(app.logins[0].username, "admin");
    assert_eq!(app.logins[0].role, dibao::auth::Role::Admin);
    let admin = app.token("admin").await;
    let villages: Vec<String> = app
        .list_all("/api/v1/jurisdictions", "kind=village", 200, &admin)
        .await
        .iter()
        .map(|j| j["code"].as_str().expect("code").to_owned())
        .collect();
    assert_eq!(villages.len(), 10);

    let mut expected = vec![
        ("admin".to_owned(), "admin", COUNTY.to_owned()),
        ("county".to_owned(), "county_officer", COUNTY.to_owned()),
        (
            "reviewer".to_owned(),
            "township_reviewer",
            FENGKOU.to_owned(),
        ),
    ];
    let mut coordinator_villages = Vec::new();
    for n in 1..=10 {
        expected.push((format!("coord{n:02}"), "coordinator", String::new()));
    }
    for (username, role, code) in expected {
        let tokens = app.login(&username).await;
        assert_eq!(tokens.user["username"], username.as_str());
        let me = app.get("/api/v1/auth/me", &tokens.access).await;
        let me = me.expect(200);
        assert_eq!(me["username"], username.as_str());
        assert_eq!(me["role"], role, "{username}: {me}");
        assert_eq!(me["id"], tokens.user["id"]);
        assert_eq!(me["disabled"], false);
        let jurisdiction = me["jurisdiction_code"].as_str().expect("jurisdiction");
        assert!(
            !me["jurisdiction_name"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
        if role == "coordinator" {
            coordinator_villages.push(jurisdiction.to_owned());
        } else {
            assert_eq!(jurisdiction, code, "{username}: {me}");
        }
    }
    // One coordinator per village, in the order of the demo data; coord01 is 新河村.
    assert_eq!(coordinator_villages[0], "421083105201");
    let mut sorted = coordinator_villages.clone();
    sorted.sort();
    assert_eq!(sorted, villages, "each village has exactly one coordinator");
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let first = app.login("reviewer").await;
    let other_session = app.login("reviewer").await;

    let refreshed = app
        .post_json(
            "/api/v1/auth/refresh",
            "",
            &json!({ "refresh_token": first.refresh }),
        )
        .await;
    let refreshed = refreshed.expect(200).clone();
    assert_eq!(refreshed["token_type"], "Bearer");
    assert_eq!(refreshed["expires_in"], 900);
    let new_access = refreshed["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    let new_refresh = refreshed["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_ne!(new_refresh, first.refresh);
    assert_eq!(
        jwt_claims(&new_access)["sid"],
        jwt_claims(&first.access)["sid"],
        "a refresh continues the same session"
    );
    app.get("/api/v1/auth/me", &new_access).await.expect(200);

    // The old refresh token again: someone holds a copy.
    let reused = app
        .post_json(
            "/api/v1/auth/refresh",
            "",
            &json!({ "refresh_token": first.refresh }),
        )
        .await;
    reused.expect_error(401, "refresh_token_reused");

    // Everything from that session is dead now.
    let after = app
        .post_json(
            "/api/v1/auth/refresh",
            "",
            &json!({ "refresh_token": new_refresh }),
        )
        .await;
    after.expect_error(401, "invalid_refresh_token");
    for access in [&first.access, &new_access] {
        let me = app.get("/api/v1/auth/me", access).await;
        me.expect_error(401, "session_ended");
    }
    // Another login of the same user is a different session and keeps working.
    app.get("/api/v1/auth/me", &other_session.access)
        .await
        .expect(200);
    app.post_json(
        "/api/v1/auth/refresh",
        "",
        &json!({ "refresh_token": other_session.refresh }),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn an_unknown_refresh_token_is_refused() {
    let app = spawn_app().await;
    let resp = app
        .post_json(
            "/api/v1/auth/refresh",
            "",
            &json!({ "refresh_token": "not-a-token-we-ever-issued" }),
        )
        .await;
    resp.expect_error(401, "invalid_refresh_token");
}

#[tokio::test]
async fn logging_out_ends_the_session_for_its_access_and_refresh_tokens() {
    let app = spawn_app().await;
    let tokens = app.login("coord01").await;
    app.get("/api/v1/auth/me", &tokens.access).await.expect(200);

    let logout = app
        .post_raw("/api/v1/auth/logout", &tokens.access, None, Vec::new())
        .await;
    logout.expect(204);
    assert!(logout.text.is_empty());

    app.get("/api/v1/auth/me", &tokens.access)
        .await
        .expect_error(401, "session_ended");
    app.post_json(
        "/api/v1/auth/refresh",
        "",
        &json!({ "refresh_token": tokens.refresh }),
    )
    .await
    .expect_error(401, "invalid_refresh_token");
    // Logging out again with the dead token is refused too.
    app.post_raw("/api/v1/auth/logout", &tokens.access, None, Vec::new())
        .await
        .expect_error(401, "session_ended");
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_but_not_other_accounts_until_the_ip_limit() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.try_login("reviewer", "wrong-password")
            .await
            .expect_error(401, "invalid_credentials");
    }
    // The sixth attempt is refused even with the right password.
    let locked = app.try_login("reviewer", PASSWORD).await;
    locked.expect_error(429, "too_many_attempts");
    let retry_after: u64 = locked
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        (1..=900).contains(&retry_after),
        "retry after {retry_after}"
    );
    // Usernames are matched case-insensitively, so the lock holds for REVIEWER too.
    app.try_login("REVIEWER", PASSWORD)
        .await
        .expect_error(429, "too_many_attempts");

    // Another account from the same address still works (5 failures < 20 per address).
    app.login("coord01").await;

    // 15 more failures from this address, spread so no account reaches its own limit.
    for user in ["coord02", "coord03", "coord04"] {
        for _ in 0..5 {
            app.try_login(user, "wrong-password")
                .await
                .expect_error(401, "invalid_credentials");
        }
    }
    // 20 failures from this address: now every account is refused from here.
    let by_ip = app.try_login("coord05", PASSWORD).await;
    by_ip.expect_error(429, "too_many_attempts");
    assert!(by_ip.header("retry-after").is_some());
}

#[tokio::test]
async fn a_successful_login_clears_the_accounts_failure_count() {
    let app = spawn_app().await;
    for _ in 0..4 {
        app.try_login("county", "wrong-password")
            .await
            .expect_error(401, "invalid_credentials");
    }
    app.login("county").await;
    // Had the 4 failures stayed, the fifth below would lock the account.
    for _ in 0..4 {
        app.try_login("county", "wrong-password")
            .await
            .expect_error(401, "invalid_credentials");
    }
    app.login("county").await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    let app = spawn_app().await;
    let wrong = app.try_login("admin", "not-the-password").await;
    wrong.expect_error(401, "invalid_credentials");
    let unknown = app.try_login("nobody-here", PASSWORD).await;
    unknown.expect_error(401, "invalid_credentials");
    assert_eq!(
        wrong.json, unknown.json,
        "the two failures are indistinguishable"
    );
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn requests_without_a_bearer_token_are_refused() {
    let app = spawn_app().await;
    let resp = app.get("/api/v1/auth/me", "").await;
    resp.expect_error(401, "invalid_token");
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
    app.get("/api/v1/households", "not.a.jwt")
        .await
        .expect_error(401, "invalid_token");
}

#[tokio::test]
async fn a_token_with_alg_none_is_refused() {
    let app = spawn_app().await;
    let tokens = app.login("admin").await;
    let claims = jwt_claims(&tokens.access);
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64url(claims.to_string().as_bytes());
    for forged in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        app.get("/api/v1/auth/me", &forged)
            .await
            .expect_error(401, "invalid_token");
    }
    // The genuine token with the very same claims works.
    app.get("/api/v1/auth/me", &tokens.access).await.expect(200);
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let app = spawn_app().await;
    let tokens = app.login("admin").await;
    let claims = jwt_claims(&tokens.access);
    let forged = sign(&claims, "some-other-secret-of-forty-characters-xx");
    app.get("/api/v1/auth/me", &forged)
        .await
        .expect_error(401, "invalid_token");
    // Control: the same claims signed with the app's secret are accepted.
    let genuine = sign(&claims, TEST_JWT_SECRET);
    app.get("/api/v1/auth/me", &genuine).await.expect(200);
}

#[tokio::test]
async fn an_expired_token_signed_with_the_right_secret_is_refused() {
    let app = spawn_app().await;
    let tokens = app.login("county").await;
    let real = jwt_claims(&tokens.access);
    let now = now_secs();
    let expired = json!({
        "sub": real["sub"],
        "sid": real["sid"],
        "role": real["role"],
        "iss": "dibao",
        "aud": "dibao-api",
        "iat": now - 3600,
        "exp": now - 1800,
    });
    app.get("/api/v1/auth/me", &sign(&expired, TEST_JWT_SECRET))
        .await
        .expect_error(401, "token_expired");

    // Control: the same claims, unexpired, pass; another issuer does not.
    let mut fresh = expired.clone();
    fresh["iat"] = json!(now);
    fresh["exp"] = json!(now + 600);
    app.get("/api/v1/auth/me", &sign(&fresh, TEST_JWT_SECRET))
        .await
        .expect(200);
    let mut foreign = fresh.clone();
    foreign["iss"] = json!("someone-else");
    app.get("/api/v1/auth/me", &sign(&foreign, TEST_JWT_SECRET))
        .await
        .expect_error(401, "invalid_token");
}

#[tokio::test]
async fn a_disabled_users_tokens_stop_working_at_once() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let victim = app.login("coord01").await;
    let id = victim.user["id"].as_str().expect("user id").to_owned();
    app.get("/api/v1/auth/me", &victim.access).await.expect(200);

    let disabled = app
        .patch_json(
            &format!("/api/v1/users/{id}"),
            &admin,
            &json!({ "disabled": true }),
        )
        .await;
    assert_eq!(disabled.expect(200)["disabled"], true);

    app.get("/api/v1/auth/me", &victim.access)
        .await
        .expect_error(401, "session_ended");
    app.post_json(
        "/api/v1/auth/refresh",
        "",
        &json!({ "refresh_token": victim.refresh }),
    )
    .await
    .expect_error(401, "invalid_refresh_token");
    // A token minted now for the disabled user (as if the secret leaked) fails as well.
    let mut claims = jwt_claims(&victim.access);
    claims["iat"] = json!(now_secs());
    claims["exp"] = json!(now_secs() + 600);
    app.get("/api/v1/auth/me", &sign(&claims, TEST_JWT_SECRET))
        .await
        .expect_error(401, "session_ended");
    app.try_login("coord01", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");

    // Enabled again, the account can log in (the old session stays ended).
    app.patch_json(
        &format!("/api/v1/users/{id}"),
        &admin,
        &json!({ "disabled": false }),
    )
    .await
    .expect(200);
    app.get("/api/v1/auth/me", &victim.access)
        .await
        .expect_error(401, "session_ended");
    app.login("coord01").await;
}

#[tokio::test]
async fn a_password_reset_by_an_admin_ends_the_sessions_and_takes_the_new_password_only() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let victim = app.login("coord01").await;
    let id = victim.user["id"].as_str().expect("user id").to_owned();
    let reset = app
        .patch_json(
            &format!("/api/v1/users/{id}"),
            &admin,
            &json!({ "password": "a-fresh-start-2027" }),
        )
        .await;
    reset.expect(200);
    app.get("/api/v1/auth/me", &victim.access)
        .await
        .expect_error(401, "session_ended");
    app.try_login("coord01", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    app.try_login("coord01", "a-fresh-start-2027")
        .await
        .expect(200);
}

#[tokio::test]
async fn a_deleted_users_tokens_stop_working() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let victim = app.login("coord02").await;
    let id = victim.user["id"].as_str().expect("user id").to_owned();
    app.get("/api/v1/auth/me", &victim.access).await.expect(200);

    app.delete(&format!("/api/v1/users/{id}"), &admin)
        .await
        .expect(204);

    app.get("/api/v1/auth/me", &victim.access)
        .await
        .expect_error(401, "session_ended");
    let mut claims = jwt_claims(&victim.access);
    claims["exp"] = json!(now_secs() + 600);
    app.get("/api/v1/auth/me", &sign(&claims, TEST_JWT_SECRET))
        .await
        .expect_error(401, "session_ended");
    app.try_login("coord02", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    app.get(&format!("/api/v1/users/{id}"), &admin)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn an_admin_cannot_delete_their_own_account_and_others_cannot_manage_users() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let id = admin.user["id"].as_str().expect("id").to_owned();
    app.delete(&format!("/api/v1/users/{id}"), &admin.access)
        .await
        .expect_error(409, "cannot_delete_self");
    let county = app.token("county").await;
    app.patch_json(
        &format!("/api/v1/users/{id}"),
        &county,
        &json!({ "disabled": true }),
    )
    .await
    .expect_error(403, "forbidden");
    app.get("/api/v1/auth/me", &admin.access).await.expect(200);
}
