//! Administering the jurisdiction tree: creation with GeoJSON boundaries, renaming, removal.

use serde_json::{Value, json};

use crate::helpers::{CAOSHI, FENGKOU, fresh_id, household, member, spawn_app};

const NEW_VILLAGE: &str = "421083105299";

/// A small square (about 1 km) west of 峰口镇's seat, `[lon, lat]` positions.
fn square() -> Value {
    json!({
        "type": "Polygon",
        "coordinates": [[
            [113.200, 29.900],
            [113.210, 29.900],
            [113.210, 29.910],
            [113.200, 29.910],
            [113.200, 29.900]
        ]]
    })
}

fn new_village(code: &str, boundary: Value) -> Value {
    json!({
        "code": code,
        "parent_code": FENGKOU,
        "kind": "village",
        "name": "试验村",
        "boundary": boundary,
    })
}

#[tokio::test]
async fn an_admin_creates_a_village_with_a_valid_boundary() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let created = app
        .post_json(
            "/api/v1/jurisdictions",
            &admin,
            &new_village(NEW_VILLAGE, square()),
        )
        .await;
    let created = created.expect(201);
    assert_eq!(created["code"], NEW_VILLAGE);
    assert_eq!(created["parent_code"], FENGKOU);
    assert_eq!(created["kind"], "village");
    assert_eq!(created["name"], "试验村");
    assert_eq!(created["boundary"]["type"], "Polygon");
    assert_eq!(
        created["boundary"]["coordinates"][0]
            .as_array()
            .map(Vec::len),
        Some(5)
    );

    let got = app
        .get(&format!("/api/v1/jurisdictions/{NEW_VILLAGE}"), &admin)
        .await;
    assert_eq!(got.expect(200)["boundary"], created["boundary"]);

    // The township's reviewer now sees it, and its boundary decides where homes may be.
    let reviewer = app.token("reviewer").await;
    let villages = app.villages_of(FENGKOU, &reviewer).await;
    assert!(villages.contains(&NEW_VILLAGE.to_owned()), "{villages:?}");
    let inside = json!({ "lat": 29.905, "lon": 113.205 });
    let outside = json!({ "lat": 29.925, "lon": 113.205 });
    app.post_json(
        "/api/v1/households",
        &reviewer,
        &household(
            NEW_VILLAGE,
            &outside,
            vec![member("甲", &fresh_id(true), "head")],
        ),
    )
    .await
    .expect_error(422, "location_outside_village");
    app.post_json(
        "/api/v1/households",
        &reviewer,
        &household(
            NEW_VILLAGE,
            &inside,
            vec![member("甲", &fresh_id(true), "head")],
        ),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn invalid_boundaries_are_refused() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let cases = [
        (
            "an unclosed ring",
            json!([[
                [113.2, 29.9],
                [113.21, 29.9],
                [113.21, 29.91],
                [113.2, 29.91]
            ]]),
            "not closed",
        ),
        (
            "latitude 95",
            json!([[
                [113.2, 29.9],
                [113.21, 95.0],
                [113.21, 29.91],
                [113.2, 29.9]
            ]]),
            "latitude",
        ),
        (
            "a ring of 3 positions",
            json!([[[113.2, 29.9], [113.21, 29.9], [113.2, 29.9]]]),
            "at least 4",
        ),
        (
            "a self-intersecting bowtie",
            json!([[
                [113.2, 29.9],
                [113.21, 29.91],
                [113.21, 29.9],
                [113.2, 29.91],
                [113.2, 29.9]
            ]]),
            "intersects itself",
        ),
    ];
    for (what, coordinates, says) in cases {
        let boundary = json!({ "type": "Polygon", "coordinates": coordinates });
        let resp = app
            .post_json(
                "/api/v1/jurisdictions",
                &admin,
                &new_village(NEW_VILLAGE, boundary),
            )
            .await;
        let details = resp.expect_error(422, "boundary_invalid");
        assert_eq!(details["field"], "boundary", "{what}");
        let message = resp.json["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{what}: {message}");
    }
    let not_a_polygon = json!({ "type": "Point", "coordinates": [113.2, 29.9] });
    app.post_json(
        "/api/v1/jurisdictions",
        &admin,
        &new_village(NEW_VILLAGE, not_a_polygon),
    )
    .await
    .expect_error(422, "boundary_invalid");

    app.get(&format!("/api/v1/jurisdictions/{NEW_VILLAGE}"), &admin)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn a_malformed_or_taken_code_is_refused() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    for bad in ["12345", "42108310529x", "4210831052991", ""] {
        let details = app
            .post_json("/api/v1/jurisdictions", &admin, &new_village(bad, square()))
            .await
            .expect_error(422, "jurisdiction_code_invalid")
            .clone();
        assert_eq!(details["field"], "code", "{bad}");
    }
    // An existing village's code.
    let taken = app.villages_of(FENGKOU, &admin).await.remove(0);
    app.post_json(
        "/api/v1/jurisdictions",
        &admin,
        &new_village(&taken, square()),
    )
    .await
    .expect_error(409, "jurisdiction_code_taken");
    // The same new code twice.
    app.post_json(
        "/api/v1/jurisdictions",
        &admin,
        &new_village(NEW_VILLAGE, square()),
    )
    .await
    .expect(201);
    app.post_json(
        "/api/v1/jurisdictions",
        &admin,
        &new_village(NEW_VILLAGE, square()),
    )
    .await
    .expect_error(409, "jurisdiction_code_taken");
    // A township under a village is the wrong way round.
    let upside_down = json!({
        "code": "421083105298",
        "parent_code": NEW_VILLAGE,
        "kind": "township",
        "name": "倒置镇",
    });
    app.post_json("/api/v1/jurisdictions", &admin, &upside_down)
        .await
        .expect_error(422, "kind_not_allowed_here");
}

#[tokio::test]
async fn only_admins_manage_jurisdictions() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let village = app.villages_of(FENGKOU, &admin).await.remove(0);
    for user in ["county", "reviewer", "coord01"] {
        let token = app.token(user).await;
        app.post_json(
            "/api/v1/jurisdictions",
            &token,
            &new_village(NEW_VILLAGE, square()),
        )
        .await
        .expect_error(403, "forbidden");
        app.patch_json(
            &format!("/api/v1/jurisdictions/{village}"),
            &token,
            &json!({ "name": "改名村" }),
        )
        .await
        .expect_error(403, "forbidden");
        app.delete(&format!("/api/v1/jurisdictions/{village}"), &token)
            .await
            .expect_error(403, "forbidden");
    }
    app.get(&format!("/api/v1/jurisdictions/{NEW_VILLAGE}"), &admin)
        .await
        .expect_error(404, "not_found");
    let unchanged = app
        .get(&format!("/api/v1/jurisdictions/{village}"), &admin)
        .await;
    assert_ne!(unchanged.expect(200)["name"], "改名村");
}

#[tokio::test]
async fn an_admin_renames_a_jurisdiction_and_keeps_its_boundary() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let village = app.villages_of(CAOSHI, &admin).await.remove(0);
    let before = app
        .get(&format!("/api/v1/jurisdictions/{village}"), &admin)
        .await
        .expect(200)
        .clone();
    let renamed = app
        .patch_json(
            &format!("/api/v1/jurisdictions/{village}"),
            &admin,
            &json!({ "name": "  新胜利村 " }),
        )
        .await;
    let renamed = renamed.expect(200);
    assert_eq!(renamed["name"], "新胜利村", "the name is trimmed");
    assert_eq!(renamed["boundary"], before["boundary"]);
    let after = app
        .get(&format!("/api/v1/jurisdictions/{village}"), &admin)
        .await;
    assert_eq!(after.expect(200)["name"], "新胜利村");

    // Households of the village report the new name.
    let home = app.a_household_of(&village, &admin).await;
    assert_eq!(home["village_name"], "新胜利村");

    app.patch_json(
        &format!("/api/v1/jurisdictions/{village}"),
        &admin,
        &json!({ "name": "   " }),
    )
    .await
    .expect_error(422, "name_invalid");
    app.patch_json(
        "/api/v1/jurisdictions/421083199999",
        &admin,
        &json!({ "name": "无此村" }),
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn a_jurisdiction_in_use_cannot_be_deleted_but_an_empty_one_can() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let village = app.villages_of(FENGKOU, &admin).await.remove(0);
    app.delete(&format!("/api/v1/jurisdictions/{village}"), &admin)
        .await
        .expect_error(409, "jurisdiction_in_use");
    app.delete(&format!("/api/v1/jurisdictions/{FENGKOU}"), &admin)
        .await
        .expect_error(409, "jurisdiction_in_use");
    app.get(&format!("/api/v1/jurisdictions/{village}"), &admin)
        .await
        .expect(200);

    app.post_json(
        "/api/v1/jurisdictions",
        &admin,
        &new_village(NEW_VILLAGE, square()),
    )
    .await
    .expect(201);
    let deleted = app
        .delete(&format!("/api/v1/jurisdictions/{NEW_VILLAGE}"), &admin)
        .await;
    deleted.expect(204);
    app.get(&format!("/api/v1/jurisdictions/{NEW_VILLAGE}"), &admin)
        .await
        .expect_error(404, "not_found");
    app.delete(&format!("/api/v1/jurisdictions/{NEW_VILLAGE}"), &admin)
        .await
        .expect_error(404, "not_found");
}
