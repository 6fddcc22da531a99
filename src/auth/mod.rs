//! Who is calling and what they may do. Every handler gets a [`Caller`] from the bearer token;
//! [`Caller::authorize`] is the one place that decides role and jurisdiction.

pub mod api;
mod extract;
pub use extract::request_id;
pub mod password;
pub mod store;
pub mod tokens;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::Actor;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Coordinator,
    TownshipReviewer,
    CountyOfficer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::TownshipReviewer => "township_reviewer",
            Role::CountyOfficer => "county_officer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::Coordinator,
            Role::TownshipReviewer,
            Role::CountyOfficer,
            Role::Admin,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Everything a caller can ask to do. Which role may do what is [`Role::may`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadJurisdictions,
    ManageJurisdictions,
    ReadHouseholds,
    WriteHouseholds,
    ImportHouseholds,
    ReadUsers,
    ManageUsers,
    VerifyAudit,
    /// Read a county's scoring schemes and settings (also from below: a village reads its county's).
    ReadSchemes,
    PublishSchemes,
    /// Record an assessment outside a visit (office assessment, re-scoring).
    RecordAssessments,
    /// Upload evidence photos (every staff role visits: coordinators, county spot checks).
    UploadPhotos,
    /// Submit a home visit (coordinators; county staff on spot checks).
    SubmitVisits,
    /// Read cases, queues and notices. Who may move a case is the lifecycle table's call.
    ReadCases,
    /// Open a case: an application taken at the township window.
    OpenCases,
    /// Change a county's settings: confirmation delegation, evidence thresholds, re-check intervals.
    ConfigureCounty,
    /// Draw the county's spot checks.
    DrawSpotChecks,
    /// Read the county's accuracy and timeliness report.
    ReadReports,
    /// Export the approved roll (花名册); names and ID numbers are masked below the county.
    ExportRoll,
}

impl Role {
    /// The permission table. Jurisdiction is checked separately, for every action.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Admin => true,
            _ if matches!(action, UploadPhotos | ReadCases) => true,
            Role::CountyOfficer => matches!(
                action,
                ReadJurisdictions
                    | ReadHouseholds
                    | ReadUsers
                    | VerifyAudit
                    | ReadSchemes
                    | PublishSchemes
                    | ConfigureCounty
                    | DrawSpotChecks
                    | SubmitVisits
                    | ReadReports
                    | ExportRoll
            ),
            Role::TownshipReviewer => matches!(
                action,
                ReadJurisdictions
                    | ReadHouseholds
                    | WriteHouseholds
                    | ReadUsers
                    | ReadSchemes
                    | RecordAssessments
                    | OpenCases
                    | ExportRoll
            ),
            Role::Coordinator => matches!(
                action,
                ReadJurisdictions | ReadHouseholds | ReadSchemes | SubmitVisits
            ),
        }
    }
}

/// A jurisdiction subtree, as the path prefix of its root (`/421083000000/421083100000/`).
/// Only built from an authenticated caller or, for command-line jobs, explicitly for everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    path: String,
}

impl Scope {
    /// The subtree of the node at `path`: what staff bound to that node see. Public for
    /// tools that already hold the database (benchmarks); requests get theirs from the login.
    pub fn of_path(path: &str) -> Scope {
        Scope {
            path: path.to_owned(),
        }
    }

    /// The whole system, for operator commands run on the server itself (demo, imports).
    pub fn everything() -> Scope {
        Scope { path: "/".into() }
    }

    pub fn contains(&self, path: &str) -> bool {
        path.starts_with(&self.path)
    }

    /// SQL LIKE pattern matching every path inside this scope (paths hold only digits and '/').
    pub fn like_pattern(&self) -> String {
        format!("{}%", self.path)
    }

    pub fn root_path(&self) -> &str {
        &self.path
    }
}

/// The authenticated user behind a request, checked against the database on every request
/// (a disabled or deleted user, or a logged-out session, stops working at once).
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub jurisdiction_code: String,
    pub session_id: String,
    pub scope: Scope,
    pub request_id: Option<String>,
}

impl Caller {
    /// The single authorization decision: the role may do the action, and the target
    /// (a jurisdiction path) lies inside the caller's subtree.
    pub fn authorize(&self, action: Action, target_path: &str) -> ApiResult<()> {
        self.authorize_role(action)?;
        if self.scope.contains(target_path) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// For settings a node inherits from above (its county's scheme): the target may be in
    /// the caller's subtree or one of the caller's own ancestors.
    pub fn authorize_inherited(&self, action: Action, target_path: &str) -> ApiResult<()> {
        self.authorize_role(action)?;
        if self.scope.contains(target_path) || self.scope.root_path().starts_with(target_path) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// For actions whose targets are then filtered by [`Caller::scope`] (listings).
    pub fn authorize_role(&self, action: Action) -> ApiResult<()> {
        if self.role.may(action) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id.clone()),
            name: self.username.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_contains_its_subtree_and_nothing_beside_it() {
        let township = Scope::of_path("/421083000000/421083100000/");
        assert!(township.contains("/421083000000/421083100000/"));
        assert!(township.contains("/421083000000/421083100000/421083100201/"));
        assert!(!township.contains("/421083000000/421083101000/421083101201/"));
        assert!(!township.contains("/421083000000/"));
    }

    #[test]
    fn only_admins_manage_and_coordinators_only_read() {
        assert!(Role::Admin.may(Action::ManageUsers));
        assert!(!Role::CountyOfficer.may(Action::ManageJurisdictions));
        assert!(Role::TownshipReviewer.may(Action::WriteHouseholds));
        assert!(!Role::Coordinator.may(Action::WriteHouseholds));
        assert!(Role::Coordinator.may(Action::ReadHouseholds));
        assert!(Role::CountyOfficer.may(Action::VerifyAudit));
        assert!(!Role::TownshipReviewer.may(Action::VerifyAudit));
    }
}
