//! CSV import of households (one row per member): all-or-nothing by default, idempotent on
//! re-run, bad rows reported by line.

use serde_json::{Value, json};

use crate::helpers::{TestApp, fresh_id, spawn_app, with_wrong_check};

const IMPORT: &str = "/api/v1/households/import";

/// One CSV row in the order of `dibao::households::import::COLUMNS`.
struct Row<'a> {
    reference: &'a str,
    village: &'a str,
    head_name: &'a str,
    location: (f64, f64),
    worker: &'a str,
    member_name: &'a str,
    id_number: &'a str,
    relation: &'a str,
}

impl Row<'_> {
    fn line(&self) -> String {
        let fields = [
            self.reference.to_owned(),
            self.village.to_owned(),
            self.head_name.to_owned(),
            format!("洪湖市{}路1号", self.reference),
            "rural".to_owned(),
            self.location.0.to_string(),
            self.location.1.to_string(),
            "13900002222".to_owned(),
            self.worker.to_owned(),
            self.member_name.to_owned(),
            self.id_number.to_owned(),
            self.relation.to_owned(),
            "full".to_owned(),
            String::new(),
            "false".to_owned(),
            "none".to_owned(),
        ];
        assert_eq!(fields.len(), dibao::households::import::COLUMNS.len());
        fields.join(",")
    }
}

fn csv(rows: &[Row<'_>]) -> String {
    let mut text = dibao::households::import::COLUMNS.join(",");
    text.push('\n');
    for row in rows {
        text.push_str(&row.line());
        text.push('\n');
    }
    text
}

/// coord01's village, a location inside it, and the admin's token.
async fn setup(app: &TestApp) -> (String, String, (f64, f64)) {
    let admin = app.token("admin").await;
    let coord = app.login("coord01").await;
    let village = coord.user["jurisdiction_code"]
        .as_str()
        .expect("village")
        .to_owned();
    let location = app.location_in(&village, &admin).await;
    let location = (
        location["lat"].as_f64().expect("lat"),
        location["lon"].as_f64().expect("lon"),
    );
    (admin, village, location)
}

async fn import(app: &TestApp, token: &str, query: &str, body: &str) -> crate::helpers::Resp {
    app.post_raw(
        &format!("{IMPORT}{query}"),
        token,
        Some("text/csv; charset=utf-8"),
        body.to_owned(),
    )
    .await
}

/// The household holding a person, as the admin sees it (None when there is none).
async fn holder(app: &TestApp, admin: &str, id_number: &str) -> Option<String> {
    let found = app
        .post_json(
            "/api/v1/members/lookup",
            admin,
            &json!({ "id_number": id_number }),
        )
        .await;
    found.expect(200)["household_id"]
        .as_str()
        .map(str::to_owned)
}

fn error_lines(errors: &Value) -> Vec<(u64, String)> {
    errors
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().expect("line"),
                e["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn importing_a_csv_creates_households_and_re_importing_changes_nothing() {
    let app = spawn_app().await;
    let (admin, village, location) = setup(&app).await;
    let (a_head, a_child, b_head) = (fresh_id(true), fresh_id(false), fresh_id(false));
    let file = csv(&[
        Row {
            reference: "IMP-001",
            village: &village,
            head_name: "赵大海",
            location,
            worker: "coord01",
            member_name: "赵大海",
            id_number: &a_head,
            relation: "head",
        },
        Row {
            reference: "IMP-001",
            village: &village,
            head_name: "赵大海",
            location,
            worker: "coord01",
            member_name: "赵小月",
            id_number: &a_child,
            relation: "child",
        },
        Row {
            reference: "IMP-002",
            village: &village,
            head_name: "钱秀兰",
            location,
            worker: "",
            member_name: "钱秀兰",
            id_number: &b_head,
            relation: "head",
        },
    ]);

    let first = import(&app, &admin, "", &file).await;
    let report = first.expect(200).clone();
    assert_eq!(report["rows_total"], 3);
    assert_eq!(report["rows_imported"], 3);
    assert_eq!(report["households_created"], 2);
    assert_eq!(report["members_created"], 3);
    assert_eq!(report["households_unchanged"], 0);
    assert_eq!(report["errors"], json!([]));

    let a = holder(&app, &admin, &a_head).await.expect("imported");
    assert_eq!(
        holder(&app, &admin, &a_child).await.as_deref(),
        Some(a.as_str())
    );
    let b = holder(&app, &admin, &b_head).await.expect("imported");
    assert_ne!(a, b);
    let view = app.get(&format!("/api/v1/households/{a}"), &admin).await;
    let view = view.expect(200);
    assert_eq!(view["reference"], "IMP-001");
    assert_eq!(view["village_code"], village.as_str());
    assert_eq!(view["members"].as_array().map(Vec::len), Some(2));
    let coord01 = app.login("coord01").await.user["id"].clone();
    assert_eq!(view["responsible_worker_id"], coord01);

    let again = import(&app, &admin, "", &file).await;
    let report = again.expect(200);
    assert_eq!(report["households_unchanged"], 2);
    assert_eq!(report["households_created"], 0);
    assert_eq!(report["households_updated"], 0);
    assert_eq!(report["members_created"], 0);
    let listed = app
        .list_all(
            "/api/v1/households",
            &format!("jurisdiction={village}"),
            50,
            &admin,
        )
        .await;
    assert_eq!(listed.len(), 22);
}

/// Line 2: a good one-person household; line 3: a bad check character; line 4: an unknown
/// relation. The bad rows belong to households of their own.
fn mixed_file(village: &str, location: (f64, f64), good: &str) -> String {
    let bad_check = with_wrong_check(&fresh_id(true));
    let other = fresh_id(true);
    csv(&[
        Row {
            reference: "GOOD-1",
            village,
            head_name: "孙好人",
            location,
            worker: "",
            member_name: "孙好人",
            id_number: good,
            relation: "head",
        },
        Row {
            reference: "BAD-1",
            village,
            head_name: "周错号",
            location,
            worker: "",
            member_name: "周错号",
            id_number: &bad_check,
            relation: "head",
        },
        Row {
            reference: "BAD-2",
            village,
            head_name: "吴关系",
            location,
            worker: "",
            member_name: "吴关系",
            id_number: &other,
            relation: "cousin",
        },
    ])
}

#[tokio::test]
async fn a_csv_with_bad_rows_imports_nothing_by_default() {
    let app = spawn_app().await;
    let (admin, village, location) = setup(&app).await;
    let good = fresh_id(true);
    let file = mixed_file(&village, location, &good);

    let resp = import(&app, &admin, "", &file).await;
    let details = resp.expect_error(422, "import_rejected").clone();
    assert_eq!(
        error_lines(&details["errors"]),
        [
            (3, "id_number_checksum".to_owned()),
            (4, "csv_value_invalid".to_owned())
        ]
    );
    assert_eq!(details["errors"][0]["field"], "id_number");
    assert_eq!(details["errors"][1]["field"], "relation");
    for error in details["errors"].as_array().expect("errors") {
        assert!(!error["message"].as_str().unwrap_or_default().is_empty());
        assert!(!error["message_zh"].as_str().unwrap_or_default().is_empty());
    }
    assert_eq!(details["rows_total"], 3);
    assert_eq!(details["households_created"], 0);
    assert_eq!(holder(&app, &admin, &good).await, None, "nothing imported");
}

#[tokio::test]
async fn skip_bad_rows_imports_the_good_households_and_reports_the_bad_rows() {
    let app = spawn_app().await;
    let (admin, village, location) = setup(&app).await;
    let good = fresh_id(true);
    let file = mixed_file(&village, location, &good);

    let resp = import(&app, &admin, "?skip_bad_rows=true", &file).await;
    let report = resp.expect(200);
    assert_eq!(report["households_created"], 1);
    assert_eq!(report["rows_imported"], 1);
    assert_eq!(
        error_lines(&report["errors"]),
        [
            (3, "id_number_checksum".to_owned()),
            (4, "csv_value_invalid".to_owned())
        ]
    );
    assert!(
        holder(&app, &admin, &good).await.is_some(),
        "the good one is in"
    );
}

#[tokio::test]
async fn a_row_whose_person_is_active_in_a_demo_household_is_reported() {
    let app = spawn_app().await;
    let (admin, village, location) = setup(&app).await;
    let demo = app.a_household_of(&village, &admin).await;
    let taken = demo["members"][0]["id_number"]
        .as_str()
        .expect("id")
        .to_owned();
    let good = fresh_id(false);
    let file = csv(&[
        Row {
            reference: "NEW-1",
            village: &village,
            head_name: "郑新户",
            location,
            worker: "",
            member_name: "郑新户",
            id_number: &good,
            relation: "head",
        },
        Row {
            reference: "DUP-1",
            village: &village,
            head_name: "冯重复",
            location,
            worker: "",
            member_name: "冯重复",
            id_number: &taken,
            relation: "head",
        },
    ]);

    let rejected = import(&app, &admin, "", &file).await;
    let details = rejected.expect_error(422, "import_rejected");
    assert_eq!(
        error_lines(&details["errors"]),
        [(3, "id_number_active_elsewhere".to_owned())]
    );
    assert_eq!(holder(&app, &admin, &good).await, None);

    let skipped = import(&app, &admin, "?skip_bad_rows=true", &file).await;
    let report = skipped.expect(200);
    assert_eq!(
        error_lines(&report["errors"]),
        [(3, "id_number_active_elsewhere".to_owned())]
    );
    assert_eq!(report["households_created"], 1);
    assert_eq!(report["households_skipped"], 1);
    assert!(holder(&app, &admin, &good).await.is_some());
    assert_eq!(
        holder(&app, &admin, &taken).await.as_deref(),
        demo["id"].as_str(),
        "the person stays where they were"
    );
}

#[tokio::test]
async fn skip_bad_rows_skips_a_whole_household_when_one_of_its_rows_is_bad() {
    let app = spawn_app().await;
    let (admin, village, location) = setup(&app).await;
    let head = fresh_id(true);
    let bad_spouse = with_wrong_check(&fresh_id(false));
    let file = csv(&[
        Row {
            reference: "HALF-1",
            village: &village,
            head_name: "陈半户",
            location,
            worker: "",
            member_name: "陈半户",
            id_number: &head,
            relation: "head",
        },
        Row {
            reference: "HALF-1",
            village: &village,
            head_name: "陈半户",
            location,
            worker: "",
            member_name: "林配偶",
            id_number: &bad_spouse,
            relation: "spouse",
        },
    ]);
    let resp = import(&app, &admin, "?skip_bad_rows=true", &file).await;
    let report = resp.expect(200);
    assert_eq!(
        error_lines(&report["errors"]),
        [(3, "id_number_checksum".to_owned())]
    );
    assert_eq!(report["households_skipped"], 1, "{report}");
    assert_eq!(report["households_created"], 0, "{report}");
    assert_eq!(holder(&app, &admin, &head).await, None, "no half household");
}

#[tokio::test]
async fn row_errors_name_the_line_in_the_file_even_after_a_blank_line() {
    let app = spawn_app().await;
    let (admin, village, location) = setup(&app).await;
    let bad_check = with_wrong_check(&fresh_id(true));
    let good = fresh_id(true);
    let rows = [
        Row {
            reference: "L-1",
            village: &village,
            head_name: "甲",
            location,
            worker: "",
            member_name: "甲",
            id_number: &good,
            relation: "head",
        },
        Row {
            reference: "L-2",
            village: &village,
            head_name: "乙",
            location,
            worker: "",
            member_name: "乙",
            id_number: &bad_check,
            relation: "head",
        },
    ];
    // header (1), good row (2), blank (3), bad row (4)
    let file = format!(
        "{}\n{}\n\n{}\n",
        dibao::households::import::COLUMNS.join(","),
        rows[0].line(),
        rows[1].line()
    );
    let resp = import(&app, &admin, "?skip_bad_rows=true", &file).await;
    let report = resp.expect(200);
    assert_eq!(
        error_lines(&report["errors"]),
        [(4, "id_number_checksum".to_owned())]
    );
}

#[tokio::test]
async fn a_file_without_the_required_columns_is_rejected_at_line_1() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let resp = import(
        &app,
        &admin,
        "",
        "household_ref,village_code\nX,421083105201\n",
    )
    .await;
    let details = resp.expect_error(422, "import_rejected");
    assert_eq!(details["errors"][0]["line"], 1);
    assert_eq!(details["errors"][0]["field"], "header");
    assert!(
        details["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("member_name")),
        "{details}"
    );
}

#[tokio::test]
async fn only_admins_import() {
    let app = spawn_app().await;
    let (_, village, location) = setup(&app).await;
    let file = csv(&[Row {
        reference: "X-1",
        village: &village,
        head_name: "某某",
        location,
        worker: "",
        member_name: "某某",
        id_number: &fresh_id(true),
        relation: "head",
    }]);
    for user in ["coord01", "reviewer", "county"] {
        let token = app.token(user).await;
        import(&app, &token, "", &file)
            .await
            .expect_error(403, "forbidden");
    }
}

#[tokio::test]
async fn an_import_that_is_not_csv_is_refused_with_415() {
    let app = spawn_app().await;
    let (admin, village, location) = setup(&app).await;
    let id = fresh_id(true);
    let file = csv(&[Row {
        reference: "X-1",
        village: &village,
        head_name: "某某",
        location,
        worker: "",
        member_name: "某某",
        id_number: &id,
        relation: "head",
    }]);
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let resp = app
            .post_raw(IMPORT, &admin, content_type, file.clone())
            .await;
        resp.expect_error(415, "unsupported_media_type");
    }
    assert_eq!(holder(&app, &admin, &id).await, None);
}
