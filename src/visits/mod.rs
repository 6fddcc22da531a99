//! Home visits from the phone: submission, evidence checks.

pub mod checks;
