//! The load generator against a test server: a tiny fleet, every resilience path taken.

use std::path::Path;

use dibao::loadgen::{Op, Options, run};
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

/// One phone of coord01 sending its two demo visits of two small photos once each, nothing
/// interrupted or re-sent; each test changes what it exercises.
fn one_phone_of_coord01(app: &TestApp, photo_cache: &Path) -> Options {
    Options {
        url: app.address().to_owned(),
        phones: 1,
        visits: 2,
        duration_secs: 300,
        photos_per_visit: 2,
        photo_megapixels: 0.3,
        photo_quality: 90,
        photo_cache: Some(photo_cache.to_path_buf()),
        distinct_photos: None,
        first_scene: 0,
        coordinators: vec!["coord01".into()],
        reviewer: "reviewer".into(),
        password: crate::helpers::PASSWORD.into(),
        prepare: false,
        login_concurrency: 8,
        interrupt_percent: 0,
        reupload_percent: 0,
        resubmit_percent: 0,
        journal: None,
        retry_secs: 0,
    }
}

#[tokio::test]
async fn a_small_fleet_stores_its_visits_with_no_unexpected_error() {
    let app = spawn_app().await;
    let cache = tempfile::tempdir().expect("photo cache dir");
    let options = Options {
        // Both phones on one coordinator: they must split its assignments.
        phones: 2,
        // Three visits where the demo assigned coord01 two: the reviewer prepares the rest.
        visits: 3,
        photo_megapixels: 1.0,
        prepare: true,
        interrupt_percent: 100,
        reupload_percent: 100,
        resubmit_percent: 100,
        ..one_phone_of_coord01(&app, cache.path())
    };
    let report = run(&options).await.expect("the run completes");
    assert_eq!(report.unexpected_errors(), 0, "{report}");
    assert_eq!(report.stats.visits.len(), 3, "{report}");
    assert_eq!(report.stats.photos, 6);
    assert_eq!(
        (
            report.stats.interrupted,
            report.stats.reuploads,
            report.stats.resubmits
        ),
        (6, 6, 3)
    );
    assert_eq!(
        report.stats.percentiles(Op::Login).map(|p| p.count),
        Some(2)
    );

    let token = app.token("coord01").await;
    for id in &report.stats.visits {
        let visit = app.get(&format!("/api/v1/visits/{id}"), &token).await;
        assert_eq!(
            visit.expect(200)["photos"].as_array().map(Vec::len),
            Some(2)
        );
    }
    let cases = app
        .get("/api/v1/cases?state=visited", &app.token("reviewer").await)
        .await;
    let visited = cases.expect(200)["items"].as_array().map_or(0, Vec::len);
    assert_eq!(
        visited, 3,
        "one case per visit, none visited twice: {}",
        cases.text
    );
}

#[tokio::test]
async fn a_journal_records_the_acknowledged_and_a_second_run_sends_again_what_was_not() {
    let app = spawn_app().await;
    let cache = tempfile::tempdir().expect("photo cache dir");
    let journal = cache.path().join("journal");
    let options = Options {
        journal: Some(journal.clone()),
        ..one_phone_of_coord01(&app, cache.path())
    };
    let first = run(&options).await.expect("the first run completes");
    assert_eq!(first.unexpected_errors(), 0, "{first}");
    assert_eq!(first.stats.visits.len(), 2, "{first}");
    let lines: Vec<Value> = std::fs::read_to_string(&journal)
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let count = |event: &str| lines.iter().filter(|l| l["event"] == event).count();
    assert_eq!(
        (count("planned"), count("photo"), count("visit")),
        (2, 4, 2)
    );

    // As if the answers had been lost (a server killed after committing): the journal keeps
    // the plans, not the acknowledgements. The next run sends both visits again, with the
    // same ids and photos, and the server answers them as resends; no new visit is made for
    // their households, though the demo has none left for coord01 anyway.
    let planned: String = lines
        .iter()
        .filter(|l| l["event"] == "planned")
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&journal, planned).expect("rewrite journal");
    let second = run(&Options {
        visits: 0,
        ..options
    })
    .await
    .expect("the second run completes");
    assert_eq!(second.unexpected_errors(), 0, "{second}");
    assert_eq!(second.stats.resumed, 2, "{second}");
    let mut again = second.stats.visits.clone();
    let mut before = first.stats.visits.clone();
    again.sort();
    before.sort();
    assert_eq!(again, before, "the same visits, acknowledged again");
    let acknowledged = std::fs::read_to_string(&journal)
        .expect("journal")
        .lines()
        .filter(|l| l.contains(r#""event":"visit""#) && l.contains(r#""status":200"#))
        .count();
    assert_eq!(acknowledged, 2, "both answered as resends");
    let cases = app
        .get("/api/v1/cases?state=visited", &app.token("reviewer").await)
        .await;
    assert_eq!(
        cases.expect(200)["items"].as_array().map_or(0, Vec::len),
        2,
        "no second visit of a household: {}",
        cases.text
    );
}
