//! Staff accounts: each has one role and is bound to one jurisdiction node.

pub mod api;
pub mod store;
