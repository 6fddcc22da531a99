//! Cases: one household's cycle from application to approval or rejection. The lifecycle is
//! a pure table ([`lifecycle`]); deadlines count working days ([`workdays`]); [`service`]
//! applies steps with history and audit; [`notice`] holds the public notice, objections and
//! appraisals; [`letter`] writes the applicant's decision letter; [`recheck`] says when an
//! approved household is visited again.

pub mod api;
pub mod letter;
pub mod lifecycle;
pub mod notice;
pub mod recheck;
pub mod service;
pub mod store;
pub mod workdays;
