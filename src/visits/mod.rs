//! Home visits from the phone: the assignments download, submission, evidence checks.

pub mod api;
pub mod assignments;
pub mod checks;
pub mod service;
pub mod store;
