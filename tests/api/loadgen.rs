//! The load generator against a test server: a tiny fleet, every resilience path taken.

use dibao::loadgen::{Op, Options, run};

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_small_fleet_stores_its_visits_with_no_unexpected_error() {
    let app = spawn_app().await;
    let cache = tempfile::tempdir().expect("photo cache dir");
    let options = Options {
        url: app.address().to_owned(),
        phones: 2,
        // Three visits where the demo assigned coord01 two: the reviewer prepares the rest.
        visits: 3,
        duration_secs: 300,
        photos_per_visit: 2,
        photo_megapixels: 1.0,
        photo_quality: 90,
        photo_cache: Some(cache.path().to_path_buf()),
        distinct_photos: None,
        first_scene: 0,
        // Both phones on one coordinator: they must split its assignments.
        coordinators: vec!["coord01".into()],
        reviewer: "reviewer".into(),
        password: crate::helpers::PASSWORD.into(),
        prepare: true,
        login_concurrency: 8,
        interrupt_percent: 100,
        reupload_percent: 100,
        resubmit_percent: 100,
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
