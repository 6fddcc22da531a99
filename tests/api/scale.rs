//! The generated county (`dibao demo --households N`) through the API: households inside
//! their villages with valid ID numbers unique across the county, and township queues in
//! queue order.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use dibao::households::id_number::IdNumber;
use dibao::jurisdictions::boundary::Boundary;
use serde_json::Value;

use crate::helpers::spawn_app_seeded;

const HOUSEHOLDS: usize = 300;

/// Where a queue item stands: overdue first, then flag severity and borderline, then age.
fn queue_position(case: &Value) -> (bool, i32, NaiveDateTime, String) {
    let priority = dibao::cases::store::queue_priority(
        case["max_severity"].as_i64().expect("max_severity") as i32,
        case["band"].as_str(),
    );
    let entered = case["entered_at"].as_str().expect("entered_at");
    (
        case["overdue"] != true,
        priority,
        chrono::DateTime::parse_from_rfc3339(entered)
            .expect("an RFC 3339 timestamp")
            .naive_utc(),
        case["id"].as_str().expect("id").to_owned(),
    )
}

#[tokio::test]
async fn a_generated_county_serves_households_in_their_villages_and_ordered_queues() {
    let app = spawn_app_seeded(|conn| {
        dibao::demo::scale::generate(conn, HOUSEHOLDS, &|_| {})
            .expect("the county generates")
            .logins
    })
    .await;
    let admin = app.token("admin").await;

    let villages: HashMap<String, Boundary> = app
        .list_all("/api/v1/jurisdictions", "kind=village", 200, &admin)
        .await
        .iter()
        .map(|v| {
            let boundary = Boundary::from_geojson(&v["boundary"]).expect("a village boundary");
            (v["code"].as_str().expect("code").to_owned(), boundary)
        })
        .collect();
    assert_eq!(villages.len(), 9);

    let households = app.list_all("/api/v1/households", "", 200, &admin).await;
    assert_eq!(households.len(), HOUSEHOLDS);
    let mut id_numbers = HashSet::new();
    for listed in &households {
        let id = listed["id"].as_str().expect("id");
        let household = app.get(&format!("/api/v1/households/{id}"), &admin).await;
        let household = household.expect(200);
        let village = &villages[household["village_code"].as_str().expect("village")];
        let location = &household["location"];
        let (lat, lon) = (location["lat"].as_f64(), location["lon"].as_f64());
        assert!(
            village.contains(lat.expect("lat"), lon.expect("lon")),
            "{household}"
        );
        let members = household["members"].as_array().expect("members");
        assert!((1..=5).contains(&members.len()), "{household}");
        for member in members {
            let number = member["id_number"].as_str().expect("an ID number");
            let parsed = IdNumber::parse(number).expect("a valid ID number");
            assert_eq!(
                member["birth_date"],
                parsed.birth_date().to_string(),
                "{member}"
            );
            assert_eq!(member["male"], parsed.is_male(), "{member}");
            assert!(id_numbers.insert(number.to_owned()), "{number} twice");
        }
    }

    let county = app.token("county").await;
    let mut queued = 0;
    for township in app
        .list_all("/api/v1/jurisdictions", "kind=township", 200, &admin)
        .await
    {
        let path = format!(
            "/api/v1/jurisdictions/{}/queue",
            township["code"].as_str().unwrap()
        );
        // Small pages, so the order holds across the cursor too.
        let queue = app.list_all(&path, "", 4, &county).await;
        for case in &queue {
            assert!(
                ["visited", "township_review"].contains(&case["state"].as_str().unwrap()),
                "{case}"
            );
        }
        let positions: Vec<_> = queue.iter().map(queue_position).collect();
        assert!(positions.is_sorted(), "{path} out of order: {positions:?}");
        queued += queue.len();
    }
    assert!(queued > 0, "some cases wait in the township queues");
}
