//! The web console for township reviewers and county officers: server-rendered pages (maud),
//! plain forms, no scripts. Every page calls the same core functions and authorization as
//! the JSON API; only the rendering is its own.

mod case;
mod labels;
mod layout;
mod map;
mod notices;
mod oversight;
mod queue;
pub mod session;

use actix_web::web;

pub use session::CookieKey;

/// Console paths only: the targets of `next` and `back` parameters, so that no link can
/// redirect a signed-in user to another site.
fn path_inside_console(path: &str) -> bool {
    (path == "/console" || path.starts_with("/console/")) && !path.contains("//")
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(queue::home))
        .route("/console/login", web::get().to(session::login_form))
        .route("/console/login", web::post().to(session::login))
        .route("/console/logout", web::post().to(session::logout))
        .route("/console/lang", web::get().to(layout::switch_lang))
        .route("/console/queue", web::get().to(queue::queue))
        .route("/console/county", web::get().to(queue::county))
        .route(
            "/console/queue/recommend",
            web::post().to(queue::bulk_recommend),
        )
        .route("/console/cases", web::get().to(queue::by_state))
        .route("/console/cases/{id}", web::get().to(case::case_page))
        .route("/console/cases/{id}/claim", web::post().to(case::claim))
        .route("/console/cases/{id}/actions", web::post().to(case::act))
        .route("/console/cases/{id}/reveal", web::post().to(case::reveal))
        .route("/console/cases/{id}/letter", web::get().to(case::letter))
        .route(
            "/console/cases/{id}/objections",
            web::post().to(case::file_objection),
        )
        .route(
            "/console/cases/{id}/objections/{objection_id}",
            web::post().to(case::resolve_objection),
        )
        .route("/console/notices", web::get().to(notices::notices))
        .route("/console/notices", web::post().to(notices::publish))
        .route("/console/notices/{id}", web::get().to(notices::notice_page))
        .route("/console/notices/{id}/print", web::get().to(notices::print))
        .route(
            "/console/spot-checks",
            web::get().to(oversight::spot_checks),
        )
        .route("/console/spot-checks", web::post().to(oversight::store))
        .route("/console/spot-checks/{id}", web::get().to(oversight::draw))
        .route("/console/report", web::get().to(oversight::report))
        .route(
            "/console/report",
            web::post().to(oversight::recompute_report),
        )
        .route(
            "/console/visits/{id}/photos/{digest}/{size}",
            web::get().to(case::photo),
        );
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_console_paths_are_redirect_targets() {
        assert!(super::path_inside_console("/console/cases/1"));
        assert!(super::path_inside_console("/console"));
        assert!(!super::path_inside_console("https://evil.example/console/"));
        assert!(!super::path_inside_console("//evil.example/console/"));
        assert!(!super::path_inside_console("/console//evil.example"));
        assert!(!super::path_inside_console("/consoleevil"));
    }
}
