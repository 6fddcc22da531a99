//! Append-only audit log with a hash chain: each entry's hash covers its content and the
//! previous entry's hash, so editing or deleting any row breaks every later link.

pub mod api;
pub mod chain;
pub mod store;

/// Who did it, and in which request; carried from the HTTP layer (or the CLI) into every write.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<String>,
    pub name: String,
    pub request_id: Option<String>,
}

impl Actor {
    /// Batch jobs and the command line: no user account, named by the command.
    pub fn system(command: &str) -> Actor {
        Actor {
            user_id: None,
            name: format!("system:{command}"),
            request_id: None,
        }
    }
}

/// One change to record. `summary` holds before/after of the fields that changed, with
/// personal data (ID numbers, phones) masked.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub summary: serde_json::Value,
}
