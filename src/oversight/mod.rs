//! County oversight: the county's own checks on township decisions (spot checks, reports, the
//! approved roll).

pub mod api;
pub mod report;
pub mod roll;
pub mod sampling;
pub mod snapshots;
pub mod spot_checks;
pub mod store;
