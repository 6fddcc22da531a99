//! Households (户) and their members. A person (ID number) belongs to at most one active
//! household in the whole system: the rule that prevents duplicate assistance (重复救助).

pub mod api;
pub mod id_number;
pub mod import;
pub mod service;
pub mod store;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use id_number::IdNumber;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
            /// The accepted values, for error messages.
            pub fn allowed() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

text_enum!(
    /// Relation to the head of household.
    Relation { Head = "head", Spouse = "spouse", Child = "child", Parent = "parent", Grandchild = "grandchild", Sibling = "sibling", Other = "other" }
);
text_enum!(
    /// Capacity to work (劳动能力).
    LabourCapacity { Full = "full", Partial = "partial", None = "none" }
);
text_enum!(
    /// Current schooling.
    Student { None = "none", Primary = "primary", Junior = "junior", Senior = "senior", University = "university" }
);

/// A WGS84 point, checked at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    #[schema(example = 29.83)]
    pub lat: f64,
    #[schema(example = 113.47)]
    pub lon: f64,
}

impl Location {
    pub fn new(lat: f64, lon: f64) -> ApiResult<Location> {
        if lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon)
        {
            Ok(Location { lat, lon })
        } else {
            Err(field_error(
                "location",
                "location_invalid",
                "A location needs latitude in [-90, 90] and longitude in [-180, 180]",
                "坐标无效：纬度应在 -90 到 90 之间，经度应在 -180 到 180 之间",
            ))
        }
    }
}

/// A member as submitted (API body or CSV row), before validation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    #[schema(example = "刘德兵")]
    pub name: String,
    /// 18-character resident ID number (last character may be X).
    #[schema(example = "42108319800101001X")]
    pub id_number: String,
    pub relation: Relation,
    pub labour_capacity: LabourCapacity,
    /// Disability grade 1 (most severe) to 4.
    pub disability_grade: Option<u8>,
    #[serde(default)]
    pub chronic_illness: bool,
    #[serde(default = "no_schooling")]
    pub student: Student,
}

fn no_schooling() -> Student {
    Student::None
}

/// A validated member.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub id_number: IdNumber,
    pub relation: Relation,
    pub labour_capacity: LabourCapacity,
    pub disability_grade: Option<u8>,
    pub chronic_illness: bool,
    pub student: Student,
}

pub fn field_error(
    field: &str,
    code: &'static str,
    en: impl Into<String>,
    zh: impl Into<String>,
) -> ApiError {
    ApiError::unprocessable(code, en, zh).with_details(serde_json::json!({ "field": field }))
}

/// Trimmed text of 1..=max characters.
pub fn required_text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(field_error(
            field,
            "text_length_invalid",
            format!("{field} must have 1 to {max} characters"),
            format!("{field} 长度应为 1 到 {max} 个字符"),
        ));
    }
    Ok(value.to_owned())
}

/// An ID number from a request, or a 422 saying exactly what is wrong with it.
pub fn parse_id_number(raw: &str) -> ApiResult<IdNumber> {
    IdNumber::parse(raw).map_err(|e| {
        ApiError::unprocessable(e.code(), e.message_en(), e.message_zh())
            .with_details(serde_json::json!({ "field": "id_number" }))
    })
}

impl MemberInput {
    pub fn validate(&self) -> ApiResult<Member> {
        let id_number = parse_id_number(&self.id_number)?;
        if let Some(grade) = self.disability_grade
            && !(1..=4).contains(&grade)
        {
            return Err(field_error(
                "disability_grade",
                "disability_grade_invalid",
                "Disability grade is 1 to 4",
                "残疾等级应为 1 到 4 级",
            ));
        }
        Ok(Member {
            name: required_text("name", &self.name, 50)?,
            id_number,
            relation: self.relation,
            labour_capacity: self.labour_capacity,
            disability_grade: self.disability_grade,
            chronic_illness: self.chronic_illness,
            student: self.student,
        })
    }
}

/// Phone numbers: digits with optional +, - and spaces, 5–20 characters.
pub fn validated_phone(phone: &str) -> ApiResult<String> {
    let phone = phone.trim();
    let ok = (5..=20).contains(&phone.len())
        && phone
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b' '));
    if ok {
        Ok(phone.to_owned())
    } else {
        Err(field_error(
            "phone",
            "phone_invalid",
            "The phone number is not valid",
            "电话号码格式不正确",
        ))
    }
}

/// A household needs exactly one head and no person twice.
pub fn check_member_set(members: &[Member]) -> ApiResult<()> {
    if members.is_empty() || members.len() > 30 {
        return Err(field_error(
            "members",
            "members_count_invalid",
            "A household has 1 to 30 members",
            "家庭成员人数应为 1 到 30 人",
        ));
    }
    let heads = members
        .iter()
        .filter(|m| m.relation == Relation::Head)
        .count();
    if heads != 1 {
        return Err(field_error(
            "members",
            "household_head_count",
            "A household has exactly one member with relation 'head'",
            "一户必须有且只有一名户主",
        ));
    }
    let mut ids: Vec<&str> = members.iter().map(|m| m.id_number.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(field_error(
            "members",
            "id_number_repeated",
            "The same ID number appears twice in this household",
            "同一身份证号码在本户中出现了两次",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::households::id_number::check_character;

    fn member(relation: Relation, first17: &str) -> Member {
        let id = format!("{first17}{}", check_character(first17));
        MemberInput {
            name: "刘德兵".into(),
            id_number: id,
            relation,
            labour_capacity: LabourCapacity::Full,
            disability_grade: None,
            chronic_illness: false,
            student: Student::None,
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn a_household_needs_one_head_and_distinct_people() {
        let head = member(Relation::Head, "42108319800101001");
        let child = member(Relation::Child, "42108320100101002");
        assert!(check_member_set(&[head.clone(), child.clone()]).is_ok());
        assert_eq!(
            check_member_set(std::slice::from_ref(&child))
                .unwrap_err()
                .code,
            "household_head_count"
        );
        assert_eq!(
            check_member_set(&[head.clone(), head.clone()])
                .unwrap_err()
                .code,
            "household_head_count"
        );
        let twin = Member {
            relation: Relation::Spouse,
            ..head.clone()
        };
        assert_eq!(
            check_member_set(&[head, twin]).unwrap_err().code,
            "id_number_repeated"
        );
    }

    #[test]
    fn locations_must_be_on_earth() {
        assert!(Location::new(29.8, 113.4).is_ok());
        assert!(Location::new(95.0, 113.4).is_err());
        assert!(Location::new(29.8, f64::NAN).is_err());
    }
}
