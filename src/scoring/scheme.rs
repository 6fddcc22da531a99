//! A point scheme as data: the types a scheme file (TOML) deserializes into.
//!
//! Units are fixed so that no number is ever a float: money in fen (1/100 yuan), shares and
//! multiples in basis points (1/10,000: 15,000 bp is 1.5 ×), `number` answers in units of
//! 10^-`decimals`. Optional fields are left out of the serialized form when absent, so adding an
//! optional field to the format later does not change the content hash of existing schemes.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::household::{LabourCapacity, MemberFacts, Student};
use super::interval::{Exact, Interval};

/// The source of `schemes/default.toml`, the scheme the demo county publishes.
pub const DEFAULT_SCHEME: &str = include_str!("../../schemes/default.toml");

/// Basis points in one whole (100%).
pub const BP: i64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    /// Stable identifier chosen by the county, e.g. `honghu-2024`.
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    /// 12-digit statistical division code of the publishing county.
    pub county_code: String,
    pub effective_from: NaiveDate,
    /// Class when no class rule matches.
    pub default_class: ReviewClass,
    /// The checklist, in the order the phone shows it.
    pub items: Vec<Item>,
    /// Checklist groups and point sections, in display order.
    pub sections: Vec<Section>,
    #[serde(default)]
    pub hard_rules: Vec<HardRule>,
    pub income_test: IncomeTest,
    pub outcome_bands: Vec<OutcomeBand>,
    /// First matching rule gives the class; otherwise `default_class`.
    #[serde(default)]
    pub class_rules: Vec<ClassRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    /// Key of the section the phone shows the item in.
    pub section: String,
    #[serde(rename = "type")]
    pub value_type: ValueType,
    /// A required item must be answered in every visit.
    pub required: bool,
    /// Only for `choice` items, which need at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChoiceOption>,
    /// Allowed answers for `integer`, `money` (fen) and `number` (10^-decimals) items; absent is
    /// unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Interval>,
    /// Decimal places of a `number` item (0–6); absent means 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u8>,
    /// Photos the visit must carry as evidence for this item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    Bool,
    Choice,
    Integer,
    /// Whole fen.
    Money,
    /// Fixed-point decimal with the item's `decimals`.
    Number,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    HouseExterior,
    Kitchen,
    Bedroom,
    MembersWithStaff,
    Documents,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    /// Most points the section can give; `0` means 0, absent means unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<i32>,
    /// Fewest points (usually negative) the section can give; absent means unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<PointRule>,
}

/// How a rule turns facts and answers into points. Rules of one section are summed, then the
/// section's cap and floor apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PointRule {
    /// `points` once when the condition holds.
    When {
        id: String,
        label_zh: String,
        label_en: String,
        when: Condition,
        points: i32,
    },
    /// `points` for each unit of a whole-number quantity (a count of members or an integer
    /// item); negative counts give nothing.
    PerUnit {
        id: String,
        label_zh: String,
        label_en: String,
        count: Quantity,
        points: i32,
    },
    /// Points by the chosen option of a choice item; unlisted options give nothing. The line
    /// shown is the option's label.
    PerOption {
        id: String,
        item: String,
        points: BTreeMap<String, i32>,
    },
    /// Points of the band the quantity falls in. Bands must not overlap or leave gaps between
    /// them; values outside all bands give nothing.
    Bands {
        id: String,
        of: Quantity,
        bands: Vec<PointBand>,
    },
}

impl PointRule {
    pub fn id(&self) -> &str {
        match self {
            PointRule::When { id, .. }
            | PointRule::PerUnit { id, .. }
            | PointRule::PerOption { id, .. }
            | PointRule::Bands { id, .. } => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointBand {
    pub range: Interval,
    pub points: i32,
    pub label_zh: String,
    pub label_en: String,
}

/// A rule checked before any points (一票否决 and routing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardRule {
    pub id: String,
    pub effect: Effect,
    pub when: Condition,
    pub reason_zh: String,
    pub reason_en: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The outcome is `rejected_by_rule`, whatever the income and points.
    Reject,
    /// Separate register and a mandatory county visit; never changes the outcome.
    CountyVisit,
    /// Shown to the reviewer; changes nothing else.
    Warn,
}

/// A yes/no question about the answers and the household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// Every condition holds.
    All(Vec<Condition>),
    /// At least one condition holds.
    Any(Vec<Condition>),
    /// A bool item answered `true`.
    IsTrue(String),
    /// A choice item answered with one of the options.
    OneOf {
        item: String,
        options: Vec<String>,
    },
    Compare(Comparison),
}

/// `of op value`, e.g. homes >= 2. An unanswered item makes the comparison false.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub of: Quantity,
    pub op: Op,
    /// In the quantity's unit: count, fen, 10^-decimals, points or basis points.
    pub value: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
}

/// A number the rules can look at, computed exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Quantity {
    /// An integer, money (fen) or number item's answer.
    Item(String),
    /// A money item divided by (members × S), in basis points: 240,000 bp is 24 months of the
    /// standard per person.
    ItemPerMemberOfStandard(String),
    /// A money item divided by the household's countable income (12-month income minus excluded
    /// income, before deductions), in basis points. Any cost against no income is +∞.
    ItemToIncome(String),
    /// How many members match the filter (`{}` counts everyone).
    Members(MemberFilter),
    Income(IncomeFigure),
    /// The total score; only class rules may use it, since it exists only after the points.
    Score,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomeFigure {
    /// Per-person monthly income in fen.
    PerPersonMonthly,
    /// Per-person monthly income divided by S, in basis points.
    PerPersonToStandard,
}

/// Members matching every stated field; an absent field matches everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberFilter {
    /// Age in completed years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<Interval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labour: Option<Vec<LabourCapacity>>,
    /// Members without a disability never match a stated grade range; `{}` matches any grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disability_grade: Option<Interval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chronic_illness: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student: Option<Vec<Student>>,
}

impl MemberFilter {
    pub fn matches(&self, member: &MemberFacts) -> bool {
        self.age
            .as_ref()
            .is_none_or(|r| r.contains(Exact::whole(member.age.into())))
            && self
                .labour
                .as_ref()
                .is_none_or(|l| l.contains(&member.labour_capacity))
            && self.disability_grade.as_ref().is_none_or(|r| {
                member
                    .disability_grade
                    .is_some_and(|g| r.contains(Exact::whole(g.into())))
            })
            && self
                .chronic_illness
                .is_none_or(|c| c == member.chronic_illness)
            && self
                .student
                .as_ref()
                .is_none_or(|s| s.contains(&member.student))
    }
}

/// Parameters of the income test (step 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeTest {
    /// The standard S in fen per person per month.
    pub standard_fen: Standard,
    /// Near-poverty (低保边缘) limit as a multiple of S in basis points (15,000 = 1.5 S).
    pub near_poverty_multiple_bp: i64,
    /// Least payment per person as a share of S in basis points (2,000 = 0.2 S).
    pub payment_floor_bp: i64,
    /// The payment is rounded to a multiple of this many fen (100 = whole yuan).
    pub payment_round_to_fen: i64,
    pub payment_rounding: Rounding,
    /// Money items holding 12-month income; their sum is the gross income.
    pub income_items: Vec<String>,
    /// Income items not counted (awards, public assistance, …); a subset of `income_items`.
    #[serde(default)]
    pub excluded_items: Vec<String>,
    #[serde(default)]
    pub deductions: Vec<Deduction>,
}

impl IncomeTest {
    pub fn standard(&self, urban: bool) -> i64 {
        if urban {
            self.standard_fen.urban
        } else {
            self.standard_fen.rural
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standard {
    pub urban: i64,
    pub rural: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To the nearest multiple, halves up.
    HalfUp,
    Down,
    Up,
}

/// An allowed deduction: `share_bp` of a money item, rounded down to the fen (10% of wages as
/// job cost is `share_bp = 1000`; medical costs in full are `share_bp = 10000`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deduction {
    pub id: String,
    pub label_zh: String,
    pub label_en: String,
    pub item: String,
    pub share_bp: i64,
}

/// Which score range gives which band. The bands must cover 0–100 without overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBand {
    pub band: ScoreBand,
    pub range: Interval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreBand {
    Recommend,
    /// Needs democratic appraisal and county confirmation.
    Borderline,
    NotRecommended,
}

/// Re-check class: A yearly, B half-yearly, C quarterly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewClass {
    A,
    B,
    C,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRule {
    pub class: ReviewClass,
    pub when: Condition,
}

impl Scheme {
    /// Parses a scheme file. A parsed scheme may still be invalid: run
    /// [`validate`](super::validate) before publishing or assessing with it.
    pub fn from_toml(text: &str) -> Result<Scheme, toml::de::Error> {
        toml::from_str(text)
    }

    /// The DOMAIN.md default scheme (`schemes/default.toml`), compiled into the binary.
    pub fn default_scheme() -> Scheme {
        // The file is part of the source tree and a unit test parses and validates it.
        Scheme::from_toml(DEFAULT_SCHEME).expect("schemes/default.toml parses")
    }

    /// SHA-256 (lower-case hex) of the scheme's canonical form: the compact `serde_json`
    /// serialization of the parsed scheme (fields in declaration order, maps sorted by key,
    /// absent optional fields left out). Hashing the parsed value rather than the file means
    /// whitespace, comments, key order within a table and number spelling in the TOML do not
    /// change the hash; any change of meaning does. Store the hash when publishing: it is the
    /// version's identity.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a scheme always serializes to JSON");
        hex::encode(Sha256::digest(canonical))
    }

    pub fn item(&self, key: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.key == key)
    }
}

impl Item {
    /// The label of one of a choice item's options.
    pub fn option(&self, key: &str) -> Option<&ChoiceOption> {
        self.options.iter().find(|option| option.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_formatting_and_comments() {
        let original = Scheme::default_scheme();
        // Re-serialized by the toml crate: no comments, different layout and key order.
        let table: toml::Table = toml::from_str(DEFAULT_SCHEME).unwrap();
        let reformatted = toml::to_string(&table).unwrap();
        assert_ne!(reformatted, DEFAULT_SCHEME);
        // By hand: comments and blank lines stripped, underscores dropped from numbers.
        let stripped: String = DEFAULT_SCHEME
            .lines()
            .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
            .map(|line| line.replace("75_000", "75000") + "\n")
            .collect();
        let hash = original.content_hash();
        assert_eq!(hash.len(), 64);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        for text in [reformatted, stripped] {
            assert_eq!(Scheme::from_toml(&text).unwrap().content_hash(), hash);
        }
    }

    #[test]
    fn the_hash_changes_with_the_meaning() {
        let original = Scheme::default_scheme();
        let mut changed = original.clone();
        changed.income_test.standard_fen.rural += 1;
        assert_ne!(changed.content_hash(), original.content_hash());
        let mut relabelled = original.clone();
        relabelled.sections[1].label_en.push('!');
        assert_ne!(relabelled.content_hash(), original.content_hash());
    }

    #[test]
    fn misspelt_fields_are_refused_when_parsing() {
        let text = DEFAULT_SCHEME.replacen("points = 20", "pionts = 20", 1);
        let error = Scheme::from_toml(&text).unwrap_err();
        assert!(error.to_string().contains("pionts"), "{error}");
        // Household facts are a closed set: an unknown one is refused with its name.
        let text = DEFAULT_SCHEME.replacen("per_person_to_standard", "per_person_yearly", 1);
        let error = Scheme::from_toml(&text).unwrap_err();
        assert!(error.to_string().contains("per_person_yearly"), "{error}");
        let text = DEFAULT_SCHEME.replacen("chronic_illness = true", "chronic = true", 1);
        let error = Scheme::from_toml(&text).unwrap_err();
        assert!(error.to_string().contains("chronic"), "{error}");
    }
}
