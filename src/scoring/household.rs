//! The household facts the engine reads, in the scoring module's own small types: callers map
//! their stored household into these so the core depends on nothing else in the crate.

use serde::{Deserialize, Serialize};

/// Capacity to work (劳动能力).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabourCapacity {
    Full,
    Partial,
    None,
}

/// Current schooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Student {
    None,
    Primary,
    Junior,
    Senior,
    University,
}

/// One member as of the visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFacts {
    /// Age in completed years on the day of the visit.
    pub age: u32,
    pub labour_capacity: LabourCapacity,
    /// 1 (most severe) to 4, as on the disability certificate.
    pub disability_grade: Option<u8>,
    pub chronic_illness: bool,
    pub student: Student,
}

/// The household as registered, independent of the visit's answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdFacts {
    /// Urban households are tested against the urban standard, rural ones against the rural.
    pub urban: bool,
    pub members: Vec<MemberFacts>,
}
