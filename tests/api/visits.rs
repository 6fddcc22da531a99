//! Visit submission: idempotent by the phone's visit id, all-or-nothing on missing photos,
//! evidence flags from real JPEGs with real EXIF, scoped reading.

use chrono::{Duration, Utc};
use dibao::photos::fixtures::{Edit, FixtureGps, PhotoSpec, phone_jpeg, reencode};
use dibao::photos::sha256_hex;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

use crate::uploads::{create, create_as, patch};

pub async fn upload(app: &TestApp, token: &str, bytes: &[u8]) -> String {
    let digest = sha256_hex(bytes);
    let created = create(app, token, &digest, bytes.len()).await;
    created.expect(201);
    let location = created.header("Location").expect("Location").to_owned();
    if created.header("Upload-Offset") != Some(bytes.len().to_string().as_str()) {
        patch(app, token, &location, 0, bytes, None)
            .await
            .expect(204);
    }
    digest
}

/// A phone photo of `scene` taken an hour ago (China time) at `lat, lon`.
pub fn photo_at(scene: u64, lat: f64, lon: f64) -> Vec<u8> {
    let taken = (Utc::now() + Duration::hours(8) - Duration::hours(1)).naive_utc();
    phone_jpeg(&PhotoSpec {
        scene,
        gps: Some(FixtureGps {
            lat,
            lon,
            alt_m: 25.0,
        }),
        captured: Some(taken),
        offset_minutes: Some(480),
        gps_time: None,
        ..PhotoSpec::default()
    })
}

fn required_kinds() -> Vec<String> {
    let scheme = dibao::scoring::Scheme::default_scheme();
    let mut kinds: Vec<String> = scheme
        .items
        .iter()
        .filter(|i| i.required)
        .flat_map(|i| i.photos.iter())
        .map(|k| {
            serde_json::to_value(k)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

pub fn answers() -> Value {
    json!({
        "financial_assets": 0, "cars_not_needed": 0, "vehicle_highest_value": 0, "homes": 1,
        "commercial_property": false, "business_with_employees": false,
        "refused_investigation": false, "relative_official": false, "wage_income": 0,
        "agricultural_income": 0, "business_income": 0, "property_income": 0,
        "transfer_income": 0, "pension_income": 0, "awards_scholarships": 0,
        "public_assistance": 0, "basic_pension_subsidy": 0, "medical_costs": 0,
        "education_costs": 0, "rent_costs": 0, "housing_condition": "dangerous_c",
        "food_insufficient": true, "clothing_inadequate": true,
        "large_livestock": 0, "non_essential_appliances": 0, "livelihood_vehicles": 0,
    })
}

pub struct Home {
    pub id: String,
    pub lat: f64,
    pub lon: f64,
}

pub async fn homes_of_coord01(app: &TestApp, token: &str) -> Vec<Home> {
    homes_in_coord01_village(app, token, 2).await
}

/// The first `count` households of coord01's village, each due for a visit.
async fn homes_in_coord01_village(app: &TestApp, token: &str, count: usize) -> Vec<Home> {
    let me = app.get("/api/v1/auth/me", token).await;
    let village = me.expect(200)["jurisdiction_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = app
        .get(
            &format!("/api/v1/households?jurisdiction={village}&limit={count}"),
            token,
        )
        .await;
    let mut homes = Vec::new();
    for item in list.expect(200)["items"].as_array().unwrap() {
        let detail = app
            .get(
                &format!("/api/v1/households/{}", item["id"].as_str().unwrap()),
                token,
            )
            .await;
        let detail = detail.expect(200);
        homes.push(Home {
            id: detail["id"].as_str().unwrap().to_owned(),
            lat: detail["location"]["lat"].as_f64().unwrap(),
            lon: detail["location"]["lon"].as_f64().unwrap(),
        });
    }
    for home in &homes {
        crate::cases::due_for_visit(app, &home.id).await;
    }
    homes
}

pub fn visit(home: &Home, photos: &[(String, String)]) -> Value {
    let now = Utc::now();
    json!({
        "visit_id": uuid::Uuid::new_v4(),
        "household_id": home.id,
        "scheme_version": 1,
        "started_at": (now - Duration::minutes(90)).to_rfc3339(),
        "ended_at": (now - Duration::minutes(30)).to_rfc3339(),
        "location_fix": { "lat": home.lat, "lon": home.lon, "accuracy_m": 6.0, "provider": "gps", "mock": false },
        "staff": [{ "user_id": "coordinator-self" }, { "name": "王村主任", "role": "village_cadre" }],
        "answers": answers(),
        "photos": photos.iter().map(|(digest, kind)| json!({ "digest": digest, "kind": kind })).collect::<Vec<_>>(),
    })
}

/// One photo per required kind, taken at the home.
pub async fn clean_photos(
    app: &TestApp,
    token: &str,
    home: &Home,
    first_scene: u64,
) -> Vec<(String, String)> {
    let mut photos = Vec::new();
    for (i, kind) in required_kinds().into_iter().enumerate() {
        let bytes = photo_at(first_scene + i as u64, home.lat, home.lon);
        photos.push((upload(app, token, &bytes).await, kind));
    }
    photos
}

pub fn flag_kinds(view: &Value) -> Vec<String> {
    view["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_clean_visit_is_stored_assessed_and_a_resend_gets_the_same_answer() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &token).await;
    let photos = clean_photos(&app, &token, &homes[0], 100).await;
    let body = visit(&homes[0], &photos);

    let first = app.post_json("/api/v1/visits", &token, &body).await;
    let first = first.expect(201).clone();
    assert_eq!(flag_kinds(&first), Vec::<String>::new(), "{first}");
    assert!(first["assessment"]["score"].as_i64().is_some_and(|s| s > 0));

    let again = app.post_json("/api/v1/visits", &token, &body).await;
    assert_eq!(again.expect(200), &first);

    let mut changed = body.clone();
    changed["answers"]["homes"] = json!(2);
    app.post_json("/api/v1/visits", &token, &changed)
        .await
        .expect_error(409, "visit_id_conflict");

    let read = app
        .get(
            &format!("/api/v1/visits/{}", first["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(read.expect(200), &first);
}

#[tokio::test]
async fn a_visit_with_a_photo_not_yet_uploaded_is_refused_whole() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &token).await;
    let mut photos = clean_photos(&app, &token, &homes[0], 200).await;
    let never_uploaded = sha256_hex(b"a photo still on the phone");
    photos.push((never_uploaded.clone(), "kitchen".into()));
    let body = visit(&homes[0], &photos);
    let resp = app.post_json("/api/v1/visits", &token, &body).await;
    let details = resp.expect_error(409, "photos_missing");
    assert_eq!(details["missing"], json!([never_uploaded]));
    let read = app
        .get(
            &format!("/api/v1/visits/{}", body["visit_id"].as_str().unwrap()),
            &token,
        )
        .await;
    read.expect_error(404, "not_found");
    let assessments = app
        .get(
            &format!("/api/v1/households/{}/assessments", homes[0].id),
            &token,
        )
        .await;
    assert_eq!(assessments.expect(200).as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn the_same_house_photographed_for_two_households_is_flagged_exact_and_look_alike() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &token).await;
    let photos = clean_photos(&app, &token, &homes[0], 300).await;
    app.post_json("/api/v1/visits", &token, &visit(&homes[0], &photos))
        .await
        .expect(201);

    // The second household's visit reuses the first photo as is, and a re-encoded, resized,
    // quarter-turned copy of the second.
    let original = photo_at(301, homes[0].lat, homes[0].lon);
    let copy = reencode(
        &original,
        75,
        &[
            Edit::Resize {
                width: 800,
                height: 600,
            },
            Edit::Rotate90,
        ],
    );
    let copy_digest = upload(&app, &token, &copy).await;
    let mut reused = clean_photos(&app, &token, &homes[1], 400).await;
    reused[0].0 = photos[0].0.clone();
    reused.push((copy_digest.clone(), "house_exterior".into()));
    let second = app
        .post_json("/api/v1/visits", &token, &visit(&homes[1], &reused))
        .await;
    let second = second.expect(201);
    let flags = second["flags"].as_array().unwrap();
    let duplicate = flags
        .iter()
        .find(|f| f["kind"] == "duplicate_photo")
        .expect("duplicate flag");
    assert_eq!(
        duplicate["measured"]["other_household"],
        homes[0].id.as_str()
    );
    let similar = flags
        .iter()
        .find(|f| f["kind"] == "similar_photo" && f["photo"] == copy_digest.as_str())
        .expect("look-alike flag for the turned copy");
    assert_eq!(similar["measured"]["other_household"], homes[0].id.as_str());
    assert!(
        similar["measured"]["bits"]
            .as_u64()
            .is_some_and(|b| b <= 10)
    );
    // The exact copy was taken at the first home, far from... no: both homes are in one village;
    // distance flags depend on where they are, so only the reuse flags are asserted here.
}

#[tokio::test]
async fn a_photo_reused_for_many_households_names_the_closest_three_and_counts_them_all() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let homes = homes_in_coord01_village(&app, &token, 5).await;
    let shared = upload(&app, &token, &photo_at(350, homes[0].lat, homes[0].lon)).await;
    let mut last = Value::Null;
    for (i, home) in homes.iter().enumerate() {
        let mut photos = clean_photos(&app, &token, home, 360 + 10 * i as u64).await;
        photos[0].0 = shared.clone();
        let resp = app
            .post_json("/api/v1/visits", &token, &visit(home, &photos))
            .await;
        last = resp.expect(201).clone();
    }
    let reuse: Vec<&Value> = last["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "duplicate_photo")
        .collect();
    assert_eq!(reuse.len(), 3, "{last}");
    let mut named: Vec<&str> = reuse
        .iter()
        .map(|f| f["measured"]["other_household"].as_str().unwrap())
        .collect();
    named.sort();
    named.dedup();
    assert_eq!(named.len(), 3, "one flag per household: {named:?}");
    assert!(
        named
            .iter()
            .all(|h| homes[..4].iter().any(|home| home.id == *h))
    );
    assert!(reuse.iter().all(|f| f["photo"] == shared.as_str()));
    assert!(reuse.iter().all(|f| f["measured"]["households"] == 4));
}

#[tokio::test]
async fn the_look_alike_index_takes_in_every_stored_photo_even_one_appearing_late() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    // More photos than one page of the catch-up read (100,000), written in one statement.
    let stored = 100_123;
    diesel::sql_query(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {stored})
         INSERT INTO photos (digest, size_bytes, width, height, orientation, dhash, uploaded_by, created_at)
         SELECT 'seeded-' || i, 4500000, 4000, 3000, 1, i * 2654435761, (SELECT MIN(id) FROM users),
                '2026-12-01 08:00:00' FROM n"
    ))
    .execute(&mut *app.conn())
    .expect("seed photos");
    let index = dibao::visits::service::Lookalikes::default();
    assert_eq!(index.load(&mut app.conn()).expect("loads"), stored);
    // Loading again takes in only what came since: nothing.
    assert_eq!(index.load(&mut app.conn()).expect("loads"), stored);

    // On PostgreSQL a photo numbered below one already read can appear later (numbers are
    // handed out at insert, rows appear at commit): written here with explicit numbers.
    let insert = |seq: i64| {
        diesel::sql_query(format!(
            "INSERT INTO photos (seq, digest, size_bytes, width, height, orientation, dhash, uploaded_by, created_at)
             SELECT {seq}, 'late-{seq}', 4500000, 4000, 3000, 1, {seq}, MIN(id), '2026-12-01 08:00:00' FROM users"
        ))
        .execute(&mut *app.conn())
        .expect("insert a photo")
    };
    let high = 1_000_000_000_000;
    insert(high);
    insert(high + 2);
    assert_eq!(index.load(&mut app.conn()).expect("loads"), stored + 2);
    insert(high + 1);
    assert_eq!(index.load(&mut app.conn()).expect("loads"), stored + 3);
}

#[tokio::test]
async fn a_photo_far_from_home_with_a_mock_fix_and_one_visitor_is_flagged() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &token).await;
    let mut photos = clean_photos(&app, &token, &homes[0], 500).await;
    let far = photo_at(599, homes[0].lat + 0.02, homes[0].lon); // ~2.2 km north
    photos[0].0 = upload(&app, &token, &far).await;
    let mut body = visit(&homes[0], &photos);
    body["location_fix"]["mock"] = json!(true);
    body["staff"] = json!([{ "user_id": "me" }]);
    let resp = app.post_json("/api/v1/visits", &token, &body).await;
    let kinds = flag_kinds(resp.expect(201));
    for expected in [
        "far_from_household",
        "outside_village",
        "suspect_location",
        "single_staff",
    ] {
        assert!(
            kinds.contains(&expected.to_owned()),
            "{expected} missing from {kinds:?}"
        );
    }
}

#[tokio::test]
async fn a_photo_without_gps_an_old_photo_and_a_missing_kind_are_flagged() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &token).await;
    let mut photos = clean_photos(&app, &token, &homes[0], 900).await;
    let an_hour_ago = (Utc::now() + Duration::hours(8) - Duration::hours(1)).naive_utc();
    let no_gps = phone_jpeg(&PhotoSpec {
        scene: 990,
        gps: None,
        gps_time: None,
        captured: Some(an_hour_ago),
        ..PhotoSpec::default()
    });
    let five_days_ago = (Utc::now() + Duration::hours(8) - Duration::days(5)).naive_utc();
    let old = phone_jpeg(&PhotoSpec {
        scene: 991,
        gps: Some(FixtureGps {
            lat: homes[0].lat,
            lon: homes[0].lon,
            alt_m: 25.0,
        }),
        captured: Some(five_days_ago),
        gps_time: None,
        ..PhotoSpec::default()
    });
    photos[0].0 = upload(&app, &token, &no_gps).await;
    photos[1].0 = upload(&app, &token, &old).await;
    let dropped = photos.pop().unwrap();
    let resp = app
        .post_json("/api/v1/visits", &token, &visit(&homes[0], &photos))
        .await;
    let view = resp.expect(201);
    let flags = view["flags"].as_array().unwrap();
    let on = |kind: &str| -> Vec<&Value> { flags.iter().filter(|f| f["kind"] == kind).collect() };
    assert_eq!(on("no_gps").len(), 1);
    assert_eq!(on("no_gps")[0]["photo"], photos[0].0.as_str());
    let late = on("capture_time_outside_visit");
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["photo"], photos[1].0.as_str());
    assert_eq!(
        on("missing_required_photo")[0]["measured"]["kinds"],
        json!([dropped.1])
    );
    // The case waits in the township queue with the flags that need acknowledging.
    let case = app
        .get(
            &format!("/api/v1/cases/{}", view["case_id"].as_str().unwrap()),
            &app.token("reviewer").await,
        )
        .await;
    let case = case.expect(200);
    assert_eq!(case["state"], "visited");
    for kind in [
        "no_gps",
        "capture_time_outside_visit",
        "missing_required_photo",
    ] {
        assert!(
            case["flags"].as_array().unwrap().contains(&json!(kind)),
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_coordinator_of_another_village_cannot_read_the_visit_or_its_photos() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &token).await;
    let photos = clean_photos(&app, &token, &homes[0], 600).await;
    let view = app
        .post_json("/api/v1/visits", &token, &visit(&homes[0], &photos))
        .await;
    let id = view.expect(201)["id"].as_str().unwrap().to_owned();
    let thumb = format!("/api/v1/visits/{id}/photos/{}/thumbnail", photos[0].0);

    let own = app
        .send(app.request(reqwest::Method::GET, &thumb, &token))
        .await;
    assert_eq!(own.status, 200);
    assert_eq!(own.header("content-type"), Some("image/jpeg"));

    let other = app.token("coord02").await;
    app.get(&format!("/api/v1/visits/{id}"), &other)
        .await
        .expect_error(404, "not_found");
    app.get(&thumb, &other).await.expect_error(404, "not_found");
    // Submitting for a household outside one's village is refused the same way.
    app.post_json("/api/v1/visits", &other, &visit(&homes[0], &photos))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn a_county_sets_its_own_thresholds_and_visits_are_checked_against_them() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let county = app.token("county").await;
    let path = format!(
        "/api/v1/jurisdictions/{}/evidence-thresholds",
        crate::helpers::COUNTY
    );
    let mut thresholds = app.get(&path, &token).await.expect(200).clone();
    assert_eq!(thresholds["far_from_household_m"], 200.0);

    thresholds["far_from_household_m"] = json!(5000.0);
    app.put_json(&path, &app.token("reviewer").await, &thresholds)
        .await
        .expect_error(403, "forbidden");
    let mut bad = thresholds.clone();
    bad["similar_max_bits"] = json!(64);
    let details = app
        .put_json(&path, &county, &bad)
        .await
        .expect_error(422, "thresholds_invalid")
        .clone();
    assert_eq!(details["fields"], json!(["similar_max_bits"]));
    app.put_json(&path, &county, &thresholds).await.expect(200);
    assert_eq!(app.get(&path, &token).await.expect(200), &thresholds);

    // ~2.2 km from home: outside the village, but no longer "far" for this county.
    let homes = homes_of_coord01(&app, &token).await;
    let mut photos = clean_photos(&app, &token, &homes[0], 950).await;
    photos[0].0 = upload(
        &app,
        &token,
        &photo_at(959, homes[0].lat + 0.02, homes[0].lon),
    )
    .await;
    let resp = app
        .post_json("/api/v1/visits", &token, &visit(&homes[0], &photos))
        .await;
    let kinds = flag_kinds(resp.expect(201));
    assert!(kinds.contains(&"outside_village".to_owned()), "{kinds:?}");
    assert!(
        !kinds.contains(&"far_from_household".to_owned()),
        "{kinds:?}"
    );
}

/// A signature as the phone draws it: a small grey PNG.
pub fn signature_png(seed: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::GrayImage::from_fn(240, 96, |x, y| {
        image::Luma([if (x * 7 + y * 3 + seed) % 23 < 3 {
            0
        } else {
            255
        }])
    })
    .write_to(&mut out, image::ImageFormat::Png)
    .unwrap();
    out.into_inner()
}

#[tokio::test]
async fn signatures_are_uploaded_as_pngs_kept_with_the_visit_and_read_through_it_only() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let homes = homes_of_coord01(&app, &token).await;
    let png = signature_png(1);
    let digest = sha256_hex(&png);
    let location = create_as(&app, &token, &digest, png.len(), "signature").await;
    let location = location.header("Location").unwrap().to_owned();
    patch(&app, &token, &location, 0, &png, None)
        .await
        .expect(204);

    // A camera JPEG is not a signature.
    let jpeg = photo_at(970, homes[0].lat, homes[0].lon);
    let jpeg_digest = sha256_hex(&jpeg);
    let created = create_as(&app, &token, &jpeg_digest, jpeg.len(), "signature").await;
    let location = created.header("Location").unwrap().to_owned();
    patch(&app, &token, &location, 0, &jpeg, None)
        .await
        .expect_error(415, "signature_not_png");

    let photos = clean_photos(&app, &token, &homes[0], 980).await;
    let mut body = visit(&homes[0], &photos);
    let never_uploaded = sha256_hex(&signature_png(2));
    body["signatures"] = json!([
        { "digest": digest, "signer": "applicant", "name": "户主" },
        { "digest": never_uploaded, "signer": "staff" },
    ]);
    let refused = app.post_json("/api/v1/visits", &token, &body).await;
    let details = refused.expect_error(409, "photos_missing");
    assert_eq!(details["missing_signatures"], json!([never_uploaded]));
    assert_eq!(details["missing"], json!([]));

    body["signatures"] = json!([{ "digest": digest, "signer": "applicant", "name": "户主" }]);
    let stored = app.post_json("/api/v1/visits", &token, &body).await;
    let id = stored.expect(201)["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/visits/{id}/signatures/{digest}");
    let read = app
        .send(app.request(reqwest::Method::GET, &path, &token))
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("content-type"), Some("image/png"));
    let other = app.token("coord02").await;
    app.get(&path, &other).await.expect_error(404, "not_found");
}
