//! The web console over HTTP, as a browser without scripts uses it: login form, session
//! cookie, CSRF tokens in every form, and the same rules as the API behind each page.

use std::collections::BTreeMap;

use serde_json::json;

use crate::cases::{add_user, case, case_of, publish, recommendable_home, visit_with};
use crate::helpers::{CAOSHI, FENGKOU, PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::oversight::approved_home;
use crate::visits::{Home, answers, clean_photos, visit};

/// A browser: keeps cookies, never follows redirects (the tests look at them).
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let start = self.body.find("name=\"csrf\" value=\"").expect("a form") + 19;
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request.header("cookie", cookie).send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        assert_ne!(status, 500, "the console answered 500");
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let url = format!("{}{path}", self.app.address());
        self.send(self.client.get(url)).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.app.address());
        self.send(self.client.post(url).form(fields)).await
    }

    async fn log_in(&mut self, username: &str) {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        let done = self
            .post(
                "/console/login",
                &[
                    ("csrf", &csrf),
                    ("username", username),
                    ("password", PASSWORD),
                    ("next", "/console"),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some("/console"));
    }
}

/// A recommendable home visited by one coordinator alone, so that its case waits in the
/// queue with the single_staff flag: (home, case id, number of photos).
pub async fn single_staff_case(app: &TestApp, name: &str, scene: u64) -> (Home, String, usize) {
    let coord = app.token("coord01").await;
    let home = recommendable_home(app, name).await;
    let photos = clean_photos(app, &coord, &home, scene).await;
    let mut body = visit(&home, &photos);
    body["staff"] = json!([{ "user_id": "me" }]);
    app.post_json("/api/v1/visits", &coord, &body)
        .await
        .expect(201);
    let id = case_of(app, &home.id).await;
    (home, id, photos.len())
}

#[tokio::test]
async fn a_reviewer_claims_acknowledges_and_recommends_and_the_county_confirms_in_the_console() {
    let app = spawn_app().await;
    let (_, id, _) = single_staff_case(&app, "郑小花", 8100).await;

    let mut reviewer = Browser::new(&app);
    reviewer.log_in("reviewer").await;
    let home_page = reviewer.get("/console").await;
    assert_eq!(home_page.location.as_deref(), Some("/console/queue"));
    let queue = reviewer.get("/console/queue?flag=single_staff").await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains("郑小花"), "{}", queue.body);
    assert!(queue.body.contains("仅一人入户"));

    let claimed = reviewer
        .post(
            &format!("/console/cases/{id}/claim"),
            &[("csrf", &queue.csrf())],
        )
        .await;
    assert_eq!(claimed.status, 303);
    let page = reviewer.get(&format!("/console/cases/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("single_staff"));
    assert!(
        page.body.contains("入户工作人员 1 人（至少 2 人）"),
        "the flag's measured value in words: {}",
        page.body
    );
    assert!(page.body.contains("户主") && page.body.contains("无劳动能力"));
    assert!(page.body.contains("/thumbnail"), "thumbnails shown");
    let api_case = case(&app, &app.token("reviewer").await, &id).await;
    let assessment = api_case["assessment_id"].as_str().unwrap().to_owned();
    // The history in words, on China's clocks (the API writes UTC).
    let applied_at: chrono::DateTime<chrono::Utc> = api_case["history"][0]["at"]
        .as_str()
        .expect("a history entry")
        .parse()
        .expect("RFC 3339");
    let china = (applied_at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M");
    assert!(
        page.body
            .contains(&format!("<td>{china}</td><td>申请</td>")),
        "the application at {china} Beijing time: {}",
        page.body
    );

    // Without acknowledging the flag the core refuses, and the page says why.
    let csrf = page.csrf();
    let refused = reviewer
        .post(
            &format!("/console/cases/{id}/actions"),
            &[
                ("csrf", &csrf),
                ("action", "recommend"),
                ("assessment_id", &assessment),
                ("reason", "核查属实"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("flags_unacknowledged"),
        "{}",
        refused.body
    );
    let recommended = reviewer
        .post(
            &format!("/console/cases/{id}/actions"),
            &[
                ("csrf", &csrf),
                ("action", "recommend"),
                ("assessment_id", &assessment),
                ("acknowledged_flags", "single_staff"),
                ("reason", "核查属实"),
            ],
        )
        .await;
    assert_eq!(recommended.status, 303, "{}", recommended.body);
    let reviewer_token = app.token("reviewer").await;
    assert_eq!(
        case(&app, &reviewer_token, &id).await["state"],
        "recommended"
    );

    // The notice went up 8 days ago, so it is over; the county confirms in its console.
    publish(&app, &reviewer_token, 8).await;
    let mut county = Browser::new(&app);
    county.log_in("county").await;
    assert_eq!(
        county.get("/console").await.location.as_deref(),
        Some("/console/county")
    );
    let waiting = county.get("/console/county").await;
    assert_eq!(waiting.status, 200);
    assert!(waiting.body.contains(&format!("/console/cases/{id}")));
    let page = county.get(&format!("/console/cases/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"confirm\""), "{}", page.body);
    let confirmed = county
        .post(
            &format!("/console/cases/{id}/actions"),
            &[
                ("csrf", &page.csrf()),
                ("action", "confirm"),
                ("assessment_id", &assessment),
                ("acknowledged_flags", "single_staff"),
                ("reason", "同意"),
            ],
        )
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert_eq!(case(&app, &reviewer_token, &id).await["state"], "approved");
}

#[tokio::test]
async fn another_townships_reviewer_gets_403_and_forms_without_the_csrf_token_are_refused() {
    let app = spawn_app().await;
    let home = recommendable_home(&app, "冯大山").await;
    let id = case_of(&app, &home.id).await;
    add_user(&app, "reviewer_caoshi", "township_reviewer", CAOSHI).await;

    let mut outsider = Browser::new(&app);
    outsider.log_in("reviewer_caoshi").await;
    let page = outsider.get(&format!("/console/cases/{id}")).await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("forbidden"));

    let mut reviewer = Browser::new(&app);
    reviewer.log_in("reviewer").await;
    for fields in [vec![], vec![("csrf", "forged")]] {
        let refused = reviewer
            .post(&format!("/console/cases/{id}/reveal"), &fields)
            .await;
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("csrf_failed"));
    }
    // A login form posted from elsewhere has no matching double-submit cookie.
    let mut stranger = Browser::new(&app);
    let login = stranger
        .post(
            "/console/login",
            &[
                ("csrf", "x"),
                ("username", "reviewer"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(login.status, 403);
    assert!(!stranger.cookies.contains_key("dibao_console"));
}

#[tokio::test]
async fn an_id_number_is_masked_until_revealed_and_the_reveal_is_audited() {
    let app = spawn_app().await;
    let home = recommendable_home(&app, "褚小明").await;
    let id = case_of(&app, &home.id).await;
    let token = app.token("reviewer").await;
    let household = app
        .get(&format!("/api/v1/households/{}", home.id), &token)
        .await
        .expect(200)
        .clone();
    let member = &household["members"][0];
    let number = member["id_number"].as_str().unwrap();

    let mut reviewer = Browser::new(&app);
    reviewer.log_in("reviewer").await;
    let page = reviewer.get(&format!("/console/cases/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(number), "masked by default");
    assert!(page.body.contains(&number[number.len() - 4..]));
    let revealed = reviewer
        .post(
            &format!("/console/cases/{id}/reveal"),
            &[
                ("csrf", &page.csrf()),
                ("member_id", member["id"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(revealed.status, 200);
    assert!(revealed.body.contains(number));
    let audited: i64 = diesel::RunQueryDsl::get_result::<Count>(
        diesel::sql_query(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'member.id_number_revealed'",
        ),
        &mut *app.conn(),
    )
    .unwrap()
    .n;
    assert_eq!(audited, 1);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn without_a_valid_session_every_page_goes_to_the_login_and_logout_ends_the_api_session_too()
{
    let app = spawn_app().await;
    let mut anonymous = Browser::new(&app);
    let page = anonymous.get("/console/queue").await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some("/console/login?next=%2Fconsole%2Fqueue")
    );
    anonymous
        .cookies
        .insert("dibao_console".into(), "user.session.forged".into());
    assert_eq!(anonymous.get("/console/queue").await.status, 303);

    let mut coordinator = Browser::new(&app);
    coordinator.log_in("coord01").await;
    assert_eq!(coordinator.get("/console/queue").await.status, 403);

    let mut reviewer = Browser::new(&app);
    reviewer.log_in("reviewer").await;
    let queue = reviewer.get("/console/queue").await;
    assert_eq!(queue.status, 200);
    let session = reviewer.cookies["dibao_console"].clone();
    let out = reviewer
        .post("/console/logout", &[("csrf", &queue.csrf())])
        .await;
    assert_eq!(out.status, 303);
    assert!(!reviewer.cookies.contains_key("dibao_console"));
    // The old cookie, replayed, no longer works: the session itself is revoked.
    let mut replay = Browser::new(&app);
    replay.cookies.insert("dibao_console".into(), session);
    assert_eq!(replay.get("/console/queue").await.status, 303);
}

#[tokio::test]
async fn clean_cases_ticked_in_the_queue_are_recommended_together() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for (name, scene) in [("韩一", 8300), ("韩二", 8400)] {
        let home = recommendable_home(&app, name).await;
        visit_with(&app, &home, scene, answers()).await;
        ids.push(case_of(&app, &home.id).await);
    }
    let mut reviewer = Browser::new(&app);
    reviewer.log_in("reviewer").await;
    let queue = reviewer.get("/console/queue").await;
    for id in &ids {
        assert!(
            queue
                .body
                .contains(&format!("name=\"case_id\" value=\"{id}\""))
        );
    }
    let csrf = queue.csrf();
    let done = reviewer
        .post(
            "/console/queue/recommend",
            &[
                ("csrf", &csrf),
                ("case_id", &ids[0]),
                ("case_id", &ids[1]),
                ("reason", "入户核查无疑点"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location.unwrap().ends_with("recommended=2"));
    let token = app.token("reviewer").await;
    for id in &ids {
        assert_eq!(case(&app, &token, id).await["state"], "recommended");
    }
}

/// The first case linked from a console page.
fn first_case_link(body: &str) -> String {
    let start = body.find("href=\"/console/cases/").expect("a case link") + 21;
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].to_owned()
}

#[tokio::test]
async fn an_application_at_the_window_is_accepted_and_assigned_in_the_console() {
    let app = spawn_app().await;
    let token = app.token("reviewer").await;
    let mut reviewer = Browser::new(&app);
    reviewer.log_in("reviewer").await;
    let applied = reviewer.get("/console/cases?state=applied").await;
    assert_eq!(applied.status, 200);
    let id = first_case_link(&applied.body);
    assert_eq!(case(&app, &token, &id).await["state"], "applied");

    let page = reviewer.get(&format!("/console/cases/{id}")).await;
    assert!(page.body.contains("value=\"accept\""), "{}", page.body);
    let accepted = reviewer
        .post(
            &format!("/console/cases/{id}/actions"),
            &[("csrf", &page.csrf()), ("action", "accept")],
        )
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    assert_eq!(case(&app, &token, &id).await["state"], "accepted");

    // The coordinators of the household's village are offered; one is named.
    let page = reviewer.get(&format!("/console/cases/{id}")).await;
    let coordinator = app.login("coord01").await.user["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let village = case(&app, &token, &id).await["village_code"].clone();
    let offered = page.body.contains(&format!("value=\"{coordinator}\""));
    assert_eq!(offered, village == "421083105001", "{}", page.body);
    let named = if offered { coordinator.as_str() } else { "" };
    let assigned = reviewer
        .post(
            &format!("/console/cases/{id}/actions"),
            &[
                ("csrf", &page.csrf()),
                ("action", "assign"),
                ("coordinator_id", named),
            ],
        )
        .await;
    assert_eq!(assigned.status, 303, "{}", assigned.body);
    assert_eq!(case(&app, &token, &id).await["state"], "visit_assigned");

    // A state that does not exist is a clear 422 page.
    let wrong = reviewer.get("/console/cases?state=nonsense").await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("state_invalid"));
}

#[tokio::test]
async fn the_queue_counts_link_to_the_cases_of_the_township_shown() {
    let app = spawn_app().await;
    let token = app.token("county").await;
    let mut county = Browser::new(&app);
    county.log_in("county").await;
    let queue = county
        .get(&format!("/console/queue?township={FENGKOU}"))
        .await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    let chip = format!("/console/cases?state=applied&amp;township={FENGKOU}");
    assert!(queue.body.contains(&chip), "{}", queue.body);

    let fengkou = county.get(&chip.replace("&amp;", "&")).await;
    assert_eq!(fengkou.status, 200);
    let id = first_case_link(&fengkou.body);
    assert_eq!(case(&app, &token, &id).await["township_code"], FENGKOU);
    // 曹市镇 has no application in the demo county: the county's own list has 峰口镇's.
    let caoshi = county
        .get(&format!("/console/cases?state=applied&township={CAOSHI}"))
        .await;
    assert_eq!(caoshi.status, 200);
    assert!(
        !caoshi.body.contains("href=\"/console/cases/"),
        "{}",
        caoshi.body
    );
    let whole = county.get("/console/cases?state=applied").await;
    assert!(
        whole
            .body
            .contains(&format!("href=\"/console/cases/{id}\""))
    );

    // A township outside the caller's area is not found, for a reviewer too.
    let mut reviewer = Browser::new(&app);
    reviewer.log_in("reviewer").await;
    let outside = reviewer
        .get(&format!("/console/cases?state=applied&township={CAOSHI}"))
        .await;
    assert_eq!(outside.status, 404, "{}", outside.body);
    assert_eq!(
        county
            .get("/console/cases?state=applied&township=421087100000")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_notice_is_published_printed_and_objected_to_in_the_console() {
    let app = spawn_app().await;
    let token = app.token("reviewer").await;
    let home = recommendable_home(&app, "卫小兰").await;
    visit_with(&app, &home, 8600, answers()).await;
    let id = case_of(&app, &home.id).await;
    let mut reviewer = Browser::new(&app);
    reviewer.log_in("reviewer").await;
    let queue = reviewer.get("/console/queue").await;
    reviewer
        .post(
            &format!("/console/cases/{id}/claim"),
            &[("csrf", &queue.csrf())],
        )
        .await;
    let page = reviewer.get(&format!("/console/cases/{id}")).await;
    let assessment = case(&app, &token, &id).await["assessment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    reviewer
        .post(
            &format!("/console/cases/{id}/actions"),
            &[
                ("csrf", &page.csrf()),
                ("action", "recommend"),
                ("assessment_id", &assessment),
                ("reason", "核查属实"),
            ],
        )
        .await;

    let notices = reviewer.get("/console/notices").await;
    assert!(notices.body.contains("卫小兰"), "{}", notices.body);
    let bad_date = reviewer
        .post(
            "/console/notices",
            &[("csrf", &notices.csrf()), ("starts_on", "2026-13-40")],
        )
        .await;
    assert_eq!(bad_date.status, 422);
    let published = reviewer
        .post("/console/notices", &[("csrf", &notices.csrf())])
        .await;
    assert_eq!(published.status, 303, "{}", published.body);
    let notice_path = published.location.unwrap();
    let notice = reviewer.get(&notice_path).await;
    assert!(notice.body.contains("卫*兰") && notice.body.contains(&id));
    let sheet = reviewer.get(&format!("{notice_path}/print")).await;
    assert!(sheet.body.contains("卫*兰") && !sheet.body.contains("卫小兰"));
    assert_eq!(case(&app, &token, &id).await["state"], "public_notice");
    // Nothing is left to publish.
    let again = reviewer
        .post("/console/notices", &[("csrf", &notices.csrf())])
        .await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("nothing_to_publish"));

    // An objection is recorded on a villager's behalf, then found unfounded.
    let page = reviewer.get(&format!("/console/cases/{id}")).await;
    assert!(page.body.contains("/objections\""), "{}", page.body);
    let empty = reviewer
        .post(
            &format!("/console/cases/{id}/objections"),
            &[("csrf", &page.csrf()), ("objector_name", "王五")],
        )
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("text_length"));
    let filed = reviewer
        .post(
            &format!("/console/cases/{id}/objections"),
            &[
                ("csrf", &page.csrf()),
                ("objector_name", "王五"),
                ("objector_contact", "13800001111"),
                ("content", "该户有经营收入"),
            ],
        )
        .await;
    assert_eq!(filed.status, 303, "{}", filed.body);
    let detail = case(&app, &token, &id).await;
    let objection = detail["objections"][0]["id"].as_str().unwrap().to_owned();
    let page = reviewer.get(&format!("/console/cases/{id}")).await;
    assert!(page.body.contains("该户有经营收入") && page.body.contains("13800001111"));
    let sheet = reviewer.get(&format!("{notice_path}/print")).await;
    assert!(!sheet.body.contains("13800001111") && !sheet.body.contains("王五"));
    let resolved = reviewer
        .post(
            &format!("/console/cases/{id}/objections/{objection}"),
            &[
                ("csrf", &page.csrf()),
                ("outcome", "unfounded"),
                ("note", "经核实无经营收入"),
            ],
        )
        .await;
    assert_eq!(resolved.status, 303, "{}", resolved.body);
    let detail = case(&app, &token, &id).await;
    assert_eq!(detail["objections"][0]["status"], "unfounded");
    assert_eq!(detail["state"], "public_notice");
}

#[tokio::test]
async fn the_county_previews_stores_and_reads_a_spot_check_draw_and_its_report_in_the_console() {
    // Reports counted on every view: on the 4th of a month (Beijing) the period below is the
    // refresher's "this month to date", kept from before these approvals.
    let app = spawn_app_with(|s| s.report_max_age = 0).await;
    let (reviewer, coord) = (app.token("reviewer").await, app.token("coord01").await);
    for (name, scene) in [("严小春", 8700), ("严小夏", 8800)] {
        approved_home(&app, &reviewer, &coord, FENGKOU, name, scene).await;
    }
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let from = (today - chrono::Duration::days(3)).to_string();
    let mut county = Browser::new(&app);
    county.log_in("county").await;

    let preview = county
        .get(&format!(
            "/console/spot-checks?from={from}&to={today}&rate_percent=100"
        ))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(preview.body.contains("峰口镇") && preview.body.contains("<strong>2</strong>"));
    let field = |page: &Page, name: &str| {
        let start = page
            .body
            .find(&format!("name=\"{name}\" value=\""))
            .unwrap()
            + name.len()
            + 15;
        let end = page.body[start..].find('"').unwrap() + start;
        page.body[start..end].to_owned()
    };
    let seed = field(&preview, "seed");
    let stored = county
        .post(
            "/console/spot-checks",
            &[
                ("csrf", &preview.csrf()),
                ("from", &from),
                ("to", &today.to_string()),
                ("rate_percent", "100"),
                ("seed", &seed),
            ],
        )
        .await;
    assert_eq!(stored.status, 303, "{}", stored.body);
    let draw = county.get(&stored.location.unwrap()).await;
    assert_eq!(draw.status, 200);
    assert!(
        draw.body.contains(&format!("<code>{seed}</code>")),
        "the previewed draw is stored"
    );
    assert_eq!(draw.body.matches("href=\"/console/cases/").count(), 2);
    assert!(draw.body.contains("峰口镇"));
    // The same period cannot be drawn twice.
    let list = county.get("/console/spot-checks").await;
    let twice = county
        .post(
            "/console/spot-checks",
            &[
                ("csrf", &list.csrf()),
                ("from", &from),
                ("to", &today.to_string()),
            ],
        )
        .await;
    assert_eq!(twice.status, 409, "{}", twice.body);

    let report = county
        .get(&format!("/console/report?from={from}&to={today}"))
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body.matches("<figure class=\"chart\">").count(), 2);
    assert!(report.body.contains("0% (0/2)"), "{}", report.body);
    let backwards = county
        .get(&format!("/console/report?from={today}&to={from}"))
        .await;
    assert_eq!(backwards.status, 422);
    assert!(backwards.body.contains("period_invalid"));

    // Township reviewers draw nothing and read no county report.
    let mut township = Browser::new(&app);
    township.log_in("reviewer").await;
    assert_eq!(township.get("/console/spot-checks").await.status, 403);
    assert_eq!(township.get("/console/report").await.status, 403);
}

/// The county total's approvals and the "figures as of" instant on a report page.
fn approvals_and_as_of(page: &Page) -> (String, String) {
    let cell_after = |marker: &str, skip: usize| {
        let mut rest = &page.body[page.body.find(marker).expect(marker)..];
        for _ in 0..=skip {
            rest = &rest[rest.find("<td>").unwrap() + 4..];
        }
        rest[..rest.find('<').unwrap()].to_owned()
    };
    let as_of = {
        let start = page.body.find("<time datetime=\"").unwrap() + 16;
        page.body[start..start + page.body[start..].find('"').unwrap()].to_owned()
    };
    // The county row: name, processed, past deadline, spot checks, overturned, visits, approvals.
    (cell_after("<td>全县</td>", 5), as_of)
}

#[tokio::test]
async fn the_console_keeps_the_county_report_until_it_ages_or_an_officer_recomputes_it() {
    let app = spawn_app().await;
    let (reviewer, coord) = (app.token("reviewer").await, app.token("coord01").await);
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    // Not a period the background refresher recomputes (last month, this month to date).
    let page = format!(
        "/console/report?from={}&to={today}",
        today - chrono::Duration::days(40)
    );
    let mut county = Browser::new(&app);
    county.log_in("county").await;
    let first = county.get(&page).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let (approvals, as_of) = approvals_and_as_of(&first);

    approved_home(&app, &reviewer, &coord, FENGKOU, "严小秋", 8900).await;
    let kept = county.get(&page).await;
    assert_eq!(
        approvals_and_as_of(&kept),
        (approvals.clone(), as_of.clone()),
        "a report younger than DIBAO_REPORT_MAX_AGE is shown as kept"
    );

    let recomputed = county
        .post(
            "/console/report",
            &[
                ("csrf", &kept.csrf()),
                ("from", &(today - chrono::Duration::days(40)).to_string()),
                ("to", &today.to_string()),
            ],
        )
        .await;
    assert_eq!(recomputed.status, 200, "{}", recomputed.body);
    let (now_approved, recomputed_at) = approvals_and_as_of(&recomputed);
    assert_eq!(
        now_approved.parse::<u32>().unwrap(),
        approvals.parse::<u32>().unwrap() + 1
    );
    let instant = |at: &str| chrono::DateTime::parse_from_rfc3339(at).unwrap();
    assert!(
        instant(&recomputed_at) > instant(&as_of),
        "{recomputed_at} after {as_of}"
    );
    // The next view shows the recomputed report, and a form without the CSRF token is refused.
    assert_eq!(
        approvals_and_as_of(&county.get(&page).await),
        (now_approved, recomputed_at)
    );
    let forged = county
        .post(
            "/console/report",
            &[("from", "2026-01-01"), ("to", "2026-01-31")],
        )
        .await;
    assert_eq!(forged.status, 403);

    // With DIBAO_REPORT_MAX_AGE=0 every view counts afresh.
    let app = spawn_app_with(|s| s.report_max_age = 0).await;
    let (reviewer, coord) = (app.token("reviewer").await, app.token("coord01").await);
    let mut county = Browser::new(&app);
    county.log_in("county").await;
    let (before, _) = approvals_and_as_of(&county.get(&page).await);
    approved_home(&app, &reviewer, &coord, FENGKOU, "严小冬", 9000).await;
    let (after, _) = approvals_and_as_of(&county.get(&page).await);
    assert_eq!(
        after.parse::<u32>().unwrap(),
        before.parse::<u32>().unwrap() + 1
    );
}

#[tokio::test]
async fn repeated_wrong_passwords_on_the_login_page_get_429_with_retry_after() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let form = browser.get("/console/login").await;
    let csrf = form.csrf();
    let mut last = None;
    for _ in 0..8 {
        let page = browser
            .post(
                "/console/login",
                &[
                    ("csrf", &csrf),
                    ("username", "reviewer"),
                    ("password", "wrong-password"),
                ],
            )
            .await;
        assert!(matches!(page.status, 401 | 429), "{}", page.status);
        last = Some(page);
    }
    let throttled = last.unwrap();
    assert_eq!(throttled.status, 429);
    let wait: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0);
    assert!(throttled.body.contains("too_many"), "{}", throttled.body);

    // Error pages are never cached either.
    let mut reviewer = Browser::new(&app);
    reviewer.log_in("coord01").await;
    let refused = reviewer.get("/console/queue").await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.headers["cache-control"], "no-store");
}
