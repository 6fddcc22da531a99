//! The administrative tree (province → city → county → township → village) that scopes
//! every user and every household.

pub mod api;
pub mod boundary;
pub mod settings;
pub mod store;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Province,
    City,
    County,
    Township,
    Village,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Province,
        Kind::City,
        Kind::County,
        Kind::Township,
        Kind::Village,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Province => "province",
            Kind::City => "city",
            Kind::County => "county",
            Kind::Township => "township",
            Kind::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A child must sit lower in the tree than its parent (levels may be skipped, e.g. a
    /// county directly under a province).
    pub fn may_contain(self, child: Kind) -> bool {
        child > self
    }
}

/// Statistical division codes (统计用区划代码) are 12 digits.
pub fn parse_code(code: &str) -> ApiResult<&str> {
    if code.len() == 12 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(ApiError::unprocessable(
            "jurisdiction_code_invalid",
            "A jurisdiction code is the 12-digit statistical division code",
            "区划代码应为 12 位统计用区划代码",
        )
        .with_details(serde_json::json!({ "field": "code" })))
    }
}

/// The path of a node: its parent's path plus its own code.
pub fn child_path(parent_path: &str, code: &str) -> String {
    format!("{parent_path}{code}/")
}

/// The codes along a path, root first.
pub fn path_codes(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The deepest node two paths share, if any.
pub fn common_ancestor<'a>(a: &'a str, b: &str) -> Option<&'a str> {
    path_codes(a)
        .zip(path_codes(b))
        .take_while(|(x, y)| x == y)
        .last()
        .map(|(x, _)| x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_nest_downwards_only() {
        assert!(Kind::County.may_contain(Kind::Township));
        assert!(Kind::Province.may_contain(Kind::County));
        assert!(!Kind::Village.may_contain(Kind::Township));
        assert!(!Kind::Township.may_contain(Kind::Township));
    }

    #[test]
    fn codes_are_twelve_digits() {
        assert!(parse_code("421083100201").is_ok());
        assert!(parse_code("42108310020").is_err());
        assert!(parse_code("42108310020x").is_err());
    }

    #[test]
    fn the_common_ancestor_is_the_longest_shared_prefix() {
        let a = "/420000000000/421083000000/421083100000/";
        let b = "/420000000000/421083000000/421083101000/421083101201/";
        assert_eq!(common_ancestor(a, b), Some("421083000000"));
        assert_eq!(common_ancestor(a, "/430000000000/"), None);
        assert_eq!(
            child_path("/420000000000/", "421083000000"),
            "/420000000000/421083000000/"
        );
    }
}
