//! The console in a real browser: Debian's headless Chromium, driven over WebDriver by
//! chromedriver, against the real server. Every page the flow passes through is saved as a
//! full-page screenshot at 1366 px wide under `target/browser-screenshots/<database>/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install chromium
//! chromium-driver fonts-noto-cjk`), or `CHROMIUM` and `CHROMEDRIVER` naming them.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::cases::{add_user, case, visit_with};
use crate::console::single_staff_case;
use crate::helpers::{CAOSHI, PASSWORD, TestApp, spawn_app};
use crate::visits::answers;

const WIDTH: u32 = 1366;
const HEIGHT: u32 = 768;

fn program(variable: &str, default: &str) -> String {
    let path = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: the browser tests need Debian's chromium and chromium-driver \
         (apt-get install chromium chromium-driver fonts-noto-cjk), or {variable} set"
    );
    path
}

/// A chromedriver on a free port, stopped with the test.
struct Driver {
    process: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(program("CHROMEDRIVER", "/usr/bin/chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // Owned before waiting, so that a failed start still stops the process.
        let driver = Driver {
            process,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer on {}", driver.url);
    }

    /// A new browser: its own profile, so its own cookies.
    async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": program("CHROMIUM", "/usr/bin/chromium"),
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         format!("--window-size={WIDTH},{HEIGHT}"), "--lang=zh-CN"],
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a WebDriver session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Numbered full-page screenshots of one test run.
struct Shots {
    dir: PathBuf,
    taken: usize,
}

impl Shots {
    fn new() -> Shots {
        let database = match std::env::var("TEST_DATABASE_URL") {
            Ok(_) => "postgres",
            Err(_) => "sqlite",
        };
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/browser-screenshots")
            .join(database);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Shots { dir, taken: 0 }
    }

    /// The whole page at the console's design width: the window is made as tall as the page
    /// for the picture, then put back to 1366×768.
    async fn take(&mut self, browser: &Client, name: &str) {
        let height = browser
            .execute("return document.documentElement.scrollHeight", vec![])
            .await
            .unwrap()
            .as_u64()
            .unwrap_or(u64::from(HEIGHT)) as u32;
        browser
            .set_window_size(WIDTH, height.clamp(HEIGHT, 8000))
            .await
            .unwrap();
        let png = browser.screenshot().await.unwrap();
        browser.set_window_size(WIDTH, HEIGHT).await.unwrap();
        self.taken += 1;
        let path = self.dir.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&path, png).unwrap();
    }
}

struct Page<'a> {
    app: &'a TestApp,
    browser: Client,
}

impl Page<'_> {
    async fn open(&self, path: &str) {
        self.browser
            .goto(&format!("{}{path}", self.app.address()))
            .await
            .unwrap();
    }

    async fn click(&self, xpath: &str) {
        self.browser
            .find(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|e| panic!("{xpath}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Clicks something that loads another page, and waits until that page has loaded (the
    /// old page's marker is gone and the new one is complete).
    async fn follow(&self, xpath: &str) {
        self.browser
            .execute("window.dibaoOldPage = true", vec![])
            .await
            .unwrap();
        self.click(xpath).await;
        for _ in 0..200 {
            let loaded = self
                .browser
                .execute(
                    "return window.dibaoOldPage === undefined && document.readyState === 'complete'",
                    vec![],
                )
                .await
                .is_ok_and(|v| v == json!(true));
            if loaded {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page after clicking {xpath}");
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .send_keys(text)
            .await
            .unwrap();
    }

    async fn text(&self) -> String {
        self.browser
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn path(&self) -> String {
        self.browser.current_url().await.unwrap().path().to_owned()
    }

    async fn log_in(&self, username: &str) {
        self.open("/console/login").await;
        self.type_into("input[name=username]", username).await;
        self.type_into("input[name=password]", PASSWORD).await;
        self.follow("//button[@type='submit']").await;
    }

    /// Submits the posted form whose action ends with `action`.
    async fn submit(&self, action: &str) {
        self.follow(&format!(
            "//form[@method='post'][substring(@action, string-length(@action) - {}) = '{action}']//button[not(@type) or @type='submit']",
            action.len() - 1
        ))
        .await;
    }
}

#[tokio::test]
async fn a_reviewer_returns_a_flagged_case_then_recommends_publishes_and_the_county_confirms_in_chromium()
 {
    let app = spawn_app().await;
    let driver = Driver::start().await;
    let mut shots = Shots::new();
    let reviewer_token = app.token("reviewer").await;
    let (home, id, photos) = single_staff_case(&app, "郑小花", 8300).await;

    // The reviewer logs in, finds the flagged case in the queue and claims it from the list.
    let reviewer = Page {
        app: &app,
        browser: driver.browser().await,
    };
    reviewer.open("/console/login").await;
    shots.take(&reviewer.browser, "login").await;
    reviewer.log_in("reviewer").await;
    assert_eq!(reviewer.path().await, "/console/queue");
    let queue = reviewer.text().await;
    assert!(
        queue.contains("郑小花") && queue.contains("仅一人入户"),
        "{queue}"
    );
    shots.take(&reviewer.browser, "queue").await;
    reviewer
        .follow("//tr[td/a[text()='郑小花']]//form[contains(@action,'/claim')]//button")
        .await;
    assert_eq!(reviewer.path().await, format!("/console/cases/{id}"));
    let page = reviewer.text().await;
    assert!(
        page.contains("乡镇审核中") && page.contains("仅一人入户"),
        "{page}"
    );
    assert_eq!(
        reviewer
            .browser
            .find_all(Locator::Css("svg.map g.photo"))
            .await
            .unwrap()
            .len(),
        photos,
        "every photo is on the map"
    );
    shots.take(&reviewer.browser, "case-claimed").await;

    // Acknowledge the flag and send it back for a new kitchen photo.
    reviewer
        .click("//input[@name='acknowledged_flags'][@value='single_staff']")
        .await;
    reviewer
        .click("//input[@name='action'][@value='return']")
        .await;
    reviewer
        .click("//input[@name='redo_photo'][@value='kitchen']")
        .await;
    reviewer
        .type_into("textarea[name=reason]", "请两人入户并补拍厨房")
        .await;
    reviewer.submit("/actions").await;
    assert!(reviewer.text().await.contains("已退回补查"));
    shots.take(&reviewer.browser, "case-returned").await;
    assert_eq!(case(&app, &reviewer_token, &id).await["state"], "returned");

    // The phone revisits with two staff; the reviewer claims again and recommends.
    visit_with(&app, &home, 8400, answers()).await;
    reviewer.open(&format!("/console/cases/{id}")).await;
    reviewer.submit("/claim").await;
    reviewer
        .click("//input[@name='action'][@value='recommend']")
        .await;
    reviewer
        .type_into("textarea[name=reason]", "复查属实")
        .await;
    shots.take(&reviewer.browser, "case-recommend").await;
    reviewer.submit("/actions").await;
    assert!(reviewer.text().await.contains("乡镇已推荐"));

    // Publish the notice in the console, posted on the boards 8 days ago so it is over.
    reviewer.open("/console/notices").await;
    assert!(reviewer.text().await.contains("郑小花"));
    let posted = (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::days(8))
        .date_naive()
        .to_string();
    reviewer
        .browser
        .execute(
            "document.querySelector('input[name=starts_on]').value = arguments[0]",
            vec![json!(posted)],
        )
        .await
        .unwrap();
    shots.take(&reviewer.browser, "notices").await;
    reviewer.submit("/console/notices").await;
    assert!(reviewer.path().await.starts_with("/console/notices/"));
    let notice = reviewer.text().await;
    assert!(
        notice.contains("郑*花") && notice.contains(&posted),
        "{notice}"
    );
    shots.take(&reviewer.browser, "notice").await;
    reviewer.click("//a[contains(@href,'/print')]").await;
    let tabs = reviewer.browser.windows().await.unwrap();
    reviewer
        .browser
        .switch_to_window(tabs.last().unwrap().clone())
        .await
        .unwrap();
    let sheet = reviewer.text().await;
    assert!(sheet.contains("最低生活保障对象公示") && !sheet.contains("郑小花"));
    shots.take(&reviewer.browser, "notice-print").await;

    // The county officer lands on the confirmations and approves.
    let county = Page {
        app: &app,
        browser: driver.browser().await,
    };
    county.log_in("county").await;
    assert_eq!(
        county.path().await,
        "/console/county",
        "{}",
        county.text().await
    );
    shots.take(&county.browser, "county").await;
    county.follow("//a[text()='郑小花']").await;
    county
        .click("//input[@name='action'][@value='confirm']")
        .await;
    county.type_into("textarea[name=reason]", "同意").await;
    county.submit("/actions").await;
    assert!(county.text().await.contains("已批准"));
    shots.take(&county.browser, "case-approved").await;
    county.open(&format!("/console/cases/{id}/letter")).await;
    assert!(county.text().await.contains("郑小花"));
    shots.take(&county.browser, "decision-letter").await;
    county.open(&format!("/console/cases/{id}")).await;
    assert_eq!(case(&app, &reviewer_token, &id).await["state"], "approved");

    // The approval is in this month's spot-check frame and report.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let month = format!("from={}&to={today}", today - chrono::Duration::days(30));
    county
        .open(&format!("/console/spot-checks?{month}&rate_percent=100"))
        .await;
    assert!(county.text().await.contains("峰口镇"));
    shots.take(&county.browser, "spot-check-preview").await;
    county.submit("/console/spot-checks").await;
    assert!(
        county.path().await.starts_with("/console/spot-checks/"),
        "{}",
        county.text().await
    );
    shots.take(&county.browser, "spot-check-draw").await;
    county.open(&format!("/console/report?{month}")).await;
    assert_eq!(
        county
            .browser
            .find_all(Locator::Css("figure.chart svg"))
            .await
            .unwrap()
            .len(),
        2
    );
    shots.take(&county.browser, "report").await;
    county.submit("/console/report").await;
    assert!(county.text().await.contains("数据截至"));
    county.open(&format!("/console/cases/{id}")).await;

    // In English, the same page.
    county.follow("//a[text()='English']").await;
    assert!(county.text().await.contains("approved"));
    shots.take(&county.browser, "case-approved-en").await;

    // Another township's reviewer gets the 403 page.
    add_user(&app, "reviewer_caoshi", "township_reviewer", CAOSHI).await;
    let outsider = Page {
        app: &app,
        browser: driver.browser().await,
    };
    outsider.log_in("reviewer_caoshi").await;
    outsider.open(&format!("/console/cases/{id}")).await;
    let refused = outsider.text().await;
    assert!(
        refused.contains("403") && refused.contains("forbidden"),
        "{refused}"
    );
    shots.take(&outsider.browser, "other-township-403").await;

    for page in [reviewer, county, outsider] {
        page.browser.close().await.unwrap();
    }
}
