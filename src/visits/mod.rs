//! Home visits from the phone: submission, evidence checks.

pub mod api;
pub mod checks;
pub mod service;
pub mod store;
