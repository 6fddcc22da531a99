//! County oversight: the county's own checks on township decisions (spot checks first).

pub mod api;
pub mod sampling;
pub mod store;
