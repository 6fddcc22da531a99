//! Full validation of a scheme before it is published: every problem is reported, not just the
//! first, each with a stable code, a path into the scheme and an English and a Chinese message.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::interval::{Edge, Interval};
use super::scheme::{
    BP, Condition, IncomeFigure, Item, MemberFilter, PointRule, Quantity, Scheme, ValueType,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeProblem {
    pub code: ProblemCode,
    /// Where in the scheme, e.g. `sections.health.rules[2].bands[1]`.
    pub path: String,
    pub message_en: String,
    pub message_zh: String,
}

/// Stable problem codes (serialized in snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// An empty identifier, label or reason.
    MissingLabel,
    DuplicateKey,
    UnknownSection,
    UnknownItem,
    UnknownOption,
    /// An item of the wrong type for where it is used.
    TypeMismatch,
    /// A field that does not apply to the item's type (options on a bool item, …).
    MisplacedField,
    /// A choice item without options.
    NoOptions,
    /// Both edges named on one side, or an empty range.
    InvalidRange,
    BandsOverlap,
    BandsGap,
    NoBands,
    CapBelowFloor,
    /// Outcome bands that leave part of 0–100 without a band.
    OutcomeBandsIncomplete,
    /// The standard S is zero or negative.
    InvalidStandard,
    InvalidParameter,
    /// The score used outside class rules.
    ScoreNotAvailable,
    /// A per-unit rule counting something that is not a count.
    NotCountable,
    /// `all = []` or `any = []`.
    EmptyCondition,
}

/// Checks everything [`assess`](super::assess) relies on; a scheme that passes can be
/// published and assessed with.
pub fn validate(scheme: &Scheme) -> Result<(), Vec<SchemeProblem>> {
    let mut v = Validator {
        scheme,
        problems: Vec::new(),
    };
    v.header();
    v.items();
    v.sections();
    v.hard_rules();
    v.income_test();
    v.outcome_bands();
    v.class_rules();
    if v.problems.is_empty() {
        Ok(())
    } else {
        Err(v.problems)
    }
}

/// What kind of number a quantity yields; decides which rules may use it and how band edges
/// meet (on whole numbers, `max_inclusive = 4` meets `min_inclusive = 5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Members or an integer item: per-unit rules may multiply by it.
    Count,
    /// Fen, fixed-point numbers, points.
    Whole,
    /// Ratios in basis points.
    Fraction,
}

struct Validator<'a> {
    scheme: &'a Scheme,
    problems: Vec<SchemeProblem>,
}

impl<'a> Validator<'a> {
    fn push(&mut self, code: ProblemCode, path: &str, en: String, zh: String) {
        self.problems.push(SchemeProblem {
            code,
            path: path.to_owned(),
            message_en: en,
            message_zh: zh,
        });
    }

    fn label(&mut self, path: &str, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.push(
                ProblemCode::MissingLabel,
                &format!("{path}.{field}"),
                format!("`{field}` must not be empty"),
                format!("“{field}”不能为空"),
            );
        }
    }

    fn header(&mut self) {
        let s = self.scheme;
        self.label("scheme", "id", &s.id);
        self.label("scheme", "name_zh", &s.name_zh);
        self.label("scheme", "name_en", &s.name_en);
        if s.county_code.len() != 12 || !s.county_code.bytes().all(|b| b.is_ascii_digit()) {
            self.push(
                ProblemCode::InvalidParameter,
                "scheme.county_code",
                format!(
                    "county_code `{}` must be a 12-digit division code",
                    s.county_code
                ),
                format!("county_code“{}”应为12位区划代码", s.county_code),
            );
        }
    }

    fn items(&mut self) {
        let mut seen = HashSet::new();
        for (i, item) in self.scheme.items.iter().enumerate() {
            let path = format!("items.{}", item.key);
            self.label(&format!("items[{i}]"), "key", &item.key);
            if !seen.insert(item.key.as_str()) {
                self.duplicate(&format!("items[{i}]"), ("item key", "项目键"), &item.key);
            }
            self.label(&path, "label_zh", &item.label_zh);
            self.label(&path, "label_en", &item.label_en);
            if !self.scheme.sections.iter().any(|s| s.key == item.section) {
                self.push(
                    ProblemCode::UnknownSection,
                    &format!("{path}.section"),
                    format!("no section `{}`", item.section),
                    format!("没有分区“{}”", item.section),
                );
            }
            self.item_type(&path, item);
        }
    }

    fn item_type(&mut self, path: &str, item: &Item) {
        let choice = item.value_type == ValueType::Choice;
        if choice && item.options.is_empty() {
            self.push(
                ProblemCode::NoOptions,
                &format!("{path}.options"),
                "a choice item needs at least one option".into(),
                "选择题至少需要一个选项".into(),
            );
        }
        if !choice && !item.options.is_empty() {
            self.misplaced(path, "options", "choice");
        }
        let mut seen = HashSet::new();
        for (j, option) in item.options.iter().enumerate() {
            let option_path = format!("{path}.options[{j}]");
            self.label(&option_path, "key", &option.key);
            if !seen.insert(option.key.as_str()) {
                self.duplicate(&option_path, ("option key", "选项键"), &option.key);
            }
            self.label(&option_path, "label_zh", &option.label_zh);
            self.label(&option_path, "label_en", &option.label_en);
        }
        match (&item.range, item.value_type) {
            (Some(_), ValueType::Bool | ValueType::Choice) => {
                self.misplaced(path, "range", "integer, money or number");
            }
            (Some(range), _) => self.interval(&format!("{path}.range"), range),
            (None, _) => {}
        }
        match (item.decimals, item.value_type) {
            (Some(_), t) if t != ValueType::Number => self.misplaced(path, "decimals", "number"),
            (Some(d), _) if d > 6 => self.push(
                ProblemCode::InvalidParameter,
                &format!("{path}.decimals"),
                format!("decimals must be 0–6, not {d}"),
                format!("小数位数应为0–6，不能是{d}"),
            ),
            _ => {}
        }
    }

    fn sections(&mut self) {
        let mut keys = HashSet::new();
        let mut rule_ids = HashSet::new();
        for (i, section) in self.scheme.sections.iter().enumerate() {
            let path = format!("sections.{}", section.key);
            self.label(&format!("sections[{i}]"), "key", &section.key);
            if !keys.insert(section.key.as_str()) {
                self.duplicate(
                    &format!("sections[{i}]"),
                    ("section key", "分区键"),
                    &section.key,
                );
            }
            self.label(&path, "label_zh", &section.label_zh);
            self.label(&path, "label_en", &section.label_en);
            if let (Some(cap), Some(floor)) = (section.cap, section.floor)
                && cap < floor
            {
                self.push(
                    ProblemCode::CapBelowFloor,
                    &format!("{path}.cap"),
                    format!("cap {cap} is below floor {floor}"),
                    format!("上限{cap}低于下限{floor}"),
                );
            }
            for (j, rule) in section.rules.iter().enumerate() {
                let rule_path = format!("{path}.rules[{j}]");
                self.label(&rule_path, "id", rule.id());
                if !rule_ids.insert(rule.id()) {
                    self.duplicate(&rule_path, ("rule id", "规则编号"), rule.id());
                }
                self.point_rule(&rule_path, rule);
            }
        }
    }

    fn point_rule(&mut self, path: &str, rule: &PointRule) {
        match rule {
            PointRule::When {
                label_zh,
                label_en,
                when,
                ..
            } => {
                self.label(path, "label_zh", label_zh);
                self.label(path, "label_en", label_en);
                self.condition(&format!("{path}.when"), when, false);
            }
            PointRule::PerUnit {
                label_zh,
                label_en,
                count,
                ..
            } => {
                self.label(path, "label_zh", label_zh);
                self.label(path, "label_en", label_en);
                let count_path = format!("{path}.count");
                if let Some(kind) = self.quantity(&count_path, count, false)
                    && kind != Kind::Count
                {
                    self.push(
                        ProblemCode::NotCountable,
                        &count_path,
                        "per-unit points need a count: members or an integer item".into(),
                        "按数量计分只能用于成员人数或整数项目".into(),
                    );
                }
            }
            PointRule::PerOption { item, points, .. } => {
                let item_path = format!("{path}.item");
                if let Some(item) = self.typed_item(&item_path, item, &[ValueType::Choice]) {
                    for option in points.keys() {
                        self.option(&format!("{path}.points.{option}"), item, option);
                    }
                }
            }
            PointRule::Bands { of, bands, .. } => {
                let kind = self.quantity(&format!("{path}.of"), of, false);
                if bands.is_empty() {
                    self.push(
                        ProblemCode::NoBands,
                        &format!("{path}.bands"),
                        "a bands rule needs at least one band".into(),
                        "分档规则至少需要一档".into(),
                    );
                }
                for (k, band) in bands.iter().enumerate() {
                    let band_path = format!("{path}.bands[{k}]");
                    self.label(&band_path, "label_zh", &band.label_zh);
                    self.label(&band_path, "label_en", &band.label_en);
                    self.interval(&format!("{band_path}.range"), &band.range);
                }
                let ranges: Vec<_> = bands.iter().map(|b| &b.range).collect();
                self.sequence(
                    &format!("{path}.bands"),
                    &ranges,
                    kind != Some(Kind::Fraction),
                );
            }
        }
    }

    fn hard_rules(&mut self) {
        let mut ids = HashSet::new();
        for (i, rule) in self.scheme.hard_rules.iter().enumerate() {
            let path = format!("hard_rules[{i}]");
            self.label(&path, "id", &rule.id);
            if !ids.insert(rule.id.as_str()) {
                self.duplicate(&path, ("hard rule id", "否决规则编号"), &rule.id);
            }
            self.label(&path, "reason_zh", &rule.reason_zh);
            self.label(&path, "reason_en", &rule.reason_en);
            self.condition(&format!("{path}.when"), &rule.when, false);
        }
    }

    fn income_test(&mut self) {
        let test = &self.scheme.income_test;
        for (field, zh, standard) in [
            ("urban", "城市", test.standard_fen.urban),
            ("rural", "农村", test.standard_fen.rural),
        ] {
            if standard <= 0 {
                self.push(
                    ProblemCode::InvalidStandard,
                    &format!("income_test.standard_fen.{field}"),
                    format!("the {field} standard must be above 0 fen, not {standard}"),
                    format!("{zh}低保标准应大于0分，不能是{standard}"),
                );
            }
        }
        let parameters = [
            (
                "near_poverty_multiple_bp",
                test.near_poverty_multiple_bp,
                BP,
                i64::MAX,
            ),
            ("payment_floor_bp", test.payment_floor_bp, 0, BP),
            (
                "payment_round_to_fen",
                test.payment_round_to_fen,
                1,
                i64::MAX,
            ),
        ];
        for (field, value, min, max) in parameters {
            if !(min..=max).contains(&value) {
                self.parameter(&format!("income_test.{field}"), value, min, max);
            }
        }
        let mut seen = HashSet::new();
        for (i, key) in test.income_items.iter().enumerate() {
            let path = format!("income_test.income_items[{i}]");
            if !seen.insert(key.as_str()) {
                self.duplicate(&path, ("income item", "收入项目"), key);
            }
            self.typed_item(&path, key, &[ValueType::Money]);
        }
        for (i, key) in test.excluded_items.iter().enumerate() {
            if !test.income_items.contains(key) {
                self.push(
                    ProblemCode::UnknownItem,
                    &format!("income_test.excluded_items[{i}]"),
                    format!("excluded item `{key}` is not one of the income items"),
                    format!("不计入项目“{key}”不在收入项目中"),
                );
            }
        }
        let mut ids = HashSet::new();
        for (i, deduction) in test.deductions.iter().enumerate() {
            let path = format!("income_test.deductions[{i}]");
            self.label(&path, "id", &deduction.id);
            if !ids.insert(deduction.id.as_str()) {
                self.duplicate(&path, ("deduction id", "扣除项编号"), &deduction.id);
            }
            self.label(&path, "label_zh", &deduction.label_zh);
            self.label(&path, "label_en", &deduction.label_en);
            self.typed_item(
                &format!("{path}.item"),
                &deduction.item,
                &[ValueType::Money],
            );
            if !(0..=BP).contains(&deduction.share_bp) {
                self.parameter(&format!("{path}.share_bp"), deduction.share_bp, 0, BP);
            }
        }
    }

    fn outcome_bands(&mut self) {
        let bands = &self.scheme.outcome_bands;
        let mut seen = Vec::new();
        for (i, band) in bands.iter().enumerate() {
            let path = format!("outcome_bands[{i}]");
            if seen.contains(&band.band) {
                self.duplicate(&path, ("outcome band", "结果分档"), &type_name(band.band));
            }
            seen.push(band.band);
            self.interval(&format!("{path}.range"), &band.range);
        }
        let ranges: Vec<_> = bands.iter().map(|b| &b.range).collect();
        self.sequence("outcome_bands", &ranges, true);
        // With no gaps between them, the bands cover 0–100 when one reaches 0 and one 100.
        let reaches_0 = ranges.iter().any(|r| {
            r.lower()
                .is_none_or(|e| e.value < 0 || (e.value == 0 && e.inclusive))
        });
        let reaches_100 = ranges.iter().any(|r| {
            r.upper()
                .is_none_or(|e| e.value > 100 || (e.value == 100 && e.inclusive))
        });
        if !(reaches_0 && reaches_100) {
            self.push(
                ProblemCode::OutcomeBandsIncomplete,
                "outcome_bands",
                "outcome bands must cover every score from 0 to 100".into(),
                "结果分档应覆盖0到100的全部分数".into(),
            );
        }
    }

    fn class_rules(&mut self) {
        for (i, rule) in self.scheme.class_rules.iter().enumerate() {
            self.condition(&format!("class_rules[{i}].when"), &rule.when, true);
        }
    }

    fn condition(&mut self, path: &str, condition: &Condition, score_allowed: bool) {
        match condition {
            Condition::All(parts) | Condition::Any(parts) => {
                let name = if matches!(condition, Condition::All(_)) {
                    "all"
                } else {
                    "any"
                };
                if parts.is_empty() {
                    self.push(
                        ProblemCode::EmptyCondition,
                        &format!("{path}.{name}"),
                        format!("`{name}` needs at least one condition"),
                        format!("“{name}”至少需要一个条件"),
                    );
                }
                for (i, part) in parts.iter().enumerate() {
                    self.condition(&format!("{path}.{name}[{i}]"), part, score_allowed);
                }
            }
            Condition::IsTrue(key) => {
                self.typed_item(&format!("{path}.is_true"), key, &[ValueType::Bool]);
            }
            Condition::OneOf { item, options } => {
                let item_path = format!("{path}.one_of.item");
                let item = self.typed_item(&item_path, item, &[ValueType::Choice]);
                if options.is_empty() {
                    self.push(
                        ProblemCode::EmptyCondition,
                        &format!("{path}.one_of.options"),
                        "`one_of` needs at least one option".into(),
                        "“one_of”至少需要一个选项".into(),
                    );
                }
                if let Some(item) = item {
                    for (i, option) in options.iter().enumerate() {
                        self.option(&format!("{path}.one_of.options[{i}]"), item, option);
                    }
                }
            }
            Condition::Compare(comparison) => {
                self.quantity(&format!("{path}.compare.of"), &comparison.of, score_allowed);
            }
        }
    }

    /// Checks a quantity and tells what kind of number it yields; `None` when it is invalid.
    fn quantity(&mut self, path: &str, quantity: &Quantity, score_allowed: bool) -> Option<Kind> {
        const NUMERIC: &[ValueType] = &[ValueType::Integer, ValueType::Money, ValueType::Number];
        match quantity {
            Quantity::Item(key) => {
                let item = self.typed_item(&format!("{path}.item"), key, NUMERIC)?;
                Some(if item.value_type == ValueType::Integer {
                    Kind::Count
                } else {
                    Kind::Whole
                })
            }
            Quantity::ItemPerMemberOfStandard(key) => self
                .typed_item(
                    &format!("{path}.item_per_member_of_standard"),
                    key,
                    &[ValueType::Money],
                )
                .map(|_| Kind::Fraction),
            Quantity::ItemToIncome(key) => self
                .typed_item(&format!("{path}.item_to_income"), key, &[ValueType::Money])
                .map(|_| Kind::Fraction),
            Quantity::Members(filter) => {
                self.member_filter(&format!("{path}.members"), filter);
                Some(Kind::Count)
            }
            Quantity::Income(IncomeFigure::PerPersonMonthly) => Some(Kind::Whole),
            Quantity::Income(IncomeFigure::PerPersonToStandard) => Some(Kind::Fraction),
            Quantity::Score if score_allowed => Some(Kind::Whole),
            Quantity::Score => {
                self.push(
                    ProblemCode::ScoreNotAvailable,
                    path,
                    "the score exists only after the points: only class rules may use it".into(),
                    "总分在计分之后才有，只能用于分类规则".into(),
                );
                None
            }
        }
    }

    fn member_filter(&mut self, path: &str, filter: &MemberFilter) {
        if let Some(age) = &filter.age {
            self.interval(&format!("{path}.age"), age);
        }
        if let Some(grade) = &filter.disability_grade {
            self.interval(&format!("{path}.disability_grade"), grade);
        }
        for (field, empty) in [
            ("labour", filter.labour.as_ref().is_some_and(Vec::is_empty)),
            (
                "student",
                filter.student.as_ref().is_some_and(Vec::is_empty),
            ),
        ] {
            if empty {
                self.push(
                    ProblemCode::EmptyCondition,
                    &format!("{path}.{field}"),
                    format!("`{field}` matches nobody when empty; leave it out to match everyone"),
                    format!("“{field}”为空时不匹配任何人；不限制请省略"),
                );
            }
        }
    }

    /// The item if it exists and has one of the types; reports otherwise.
    fn typed_item(&mut self, path: &str, key: &str, types: &[ValueType]) -> Option<&'a Item> {
        let scheme = self.scheme;
        let Some(item) = scheme.item(key) else {
            self.push(
                ProblemCode::UnknownItem,
                path,
                format!("no item `{key}`"),
                format!("没有项目“{key}”"),
            );
            return None;
        };
        if !types.contains(&item.value_type) {
            let wanted: Vec<String> = types.iter().map(|t| type_name(*t)).collect();
            self.push(
                ProblemCode::TypeMismatch,
                path,
                format!(
                    "item `{key}` is {}, here it must be {}",
                    type_name(item.value_type),
                    wanted.join(" or ")
                ),
                format!(
                    "项目“{key}”的类型为 {}，此处应为 {}",
                    type_name(item.value_type),
                    wanted.join(" 或 ")
                ),
            );
            return None;
        }
        Some(item)
    }

    fn option(&mut self, path: &str, item: &Item, option: &str) {
        if item.option(option).is_none() {
            self.push(
                ProblemCode::UnknownOption,
                path,
                format!("item `{}` has no option `{option}`", item.key),
                format!("项目“{}”没有选项“{option}”", item.key),
            );
        }
    }

    fn interval(&mut self, path: &str, range: &Interval) {
        let both = |a: Option<i64>, b: Option<i64>| a.is_some() && b.is_some();
        if both(range.min_inclusive, range.min_exclusive)
            || both(range.max_inclusive, range.max_exclusive)
        {
            self.push(
                ProblemCode::InvalidRange,
                path,
                "name one lower edge and one upper edge at most".into(),
                "下限和上限各只能写一个".into(),
            );
            return;
        }
        if let (Some(low), Some(high)) = (range.lower(), range.upper())
            && (low.value > high.value
                || (low.value == high.value && !(low.inclusive && high.inclusive)))
        {
            self.push(
                ProblemCode::InvalidRange,
                path,
                format!("{range} contains nothing"),
                format!("{range} 为空区间"),
            );
        }
    }

    /// Reports overlaps and gaps between ranges meant to follow one another.
    fn sequence(&mut self, path: &str, ranges: &[&Interval], whole: bool) {
        let normalize = |edge: Option<Edge>, upper: bool| {
            edge.map(|e| {
                // On whole numbers, (4, … is [5, … and …, 4] is …, 5): edges meet by value.
                if whole && e.inclusive == upper {
                    Edge {
                        value: e.value.saturating_add(1),
                        inclusive: !upper,
                    }
                } else {
                    e
                }
            })
        };
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        order
            .sort_by_key(|&i| normalize(ranges[i].lower(), false).map(|e| (e.value, !e.inclusive)));
        for pair in order.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            let high = normalize(ranges[before].upper(), true);
            let low = normalize(ranges[after].lower(), false);
            let overlap = match (high, low) {
                (None, _) | (_, None) => Some(true),
                (Some(h), Some(l)) if h.value != l.value => Some(h.value > l.value),
                (Some(h), Some(l)) if h.inclusive == l.inclusive => Some(h.inclusive),
                _ => None,
            };
            let (a, b) = (ranges[before], ranges[after]);
            match overlap {
                Some(true) => self.push(
                    ProblemCode::BandsOverlap,
                    &format!("{path}[{after}]"),
                    format!("{b} overlaps {a}"),
                    format!("{b} 与 {a} 重叠"),
                ),
                Some(false) => self.push(
                    ProblemCode::BandsGap,
                    &format!("{path}[{after}]"),
                    format!("gap between {a} and {b}"),
                    format!("{a} 与 {b} 之间有空档"),
                ),
                None => {}
            }
        }
    }

    fn duplicate(&mut self, path: &str, (what_en, what_zh): (&str, &str), key: &str) {
        self.push(
            ProblemCode::DuplicateKey,
            path,
            format!("duplicate {what_en} `{key}`"),
            format!("重复的{what_zh}“{key}”"),
        );
    }

    fn misplaced(&mut self, path: &str, field: &str, types: &str) {
        self.push(
            ProblemCode::MisplacedField,
            &format!("{path}.{field}"),
            format!("`{field}` applies only to {types} items"),
            format!("“{field}”只适用于{types}类型的项目"),
        );
    }

    fn parameter(&mut self, path: &str, value: i64, min: i64, max: i64) {
        let range = Interval {
            min_inclusive: Some(min),
            max_inclusive: (max != i64::MAX).then_some(max),
            ..Interval::default()
        };
        self.push(
            ProblemCode::InvalidParameter,
            path,
            format!("{value} is outside {range}"),
            format!("{value} 超出 {range}"),
        );
    }
}

/// The name a scheme file uses for a value, e.g. `choice` or `not_recommended`.
fn type_name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_scheme_is_valid() {
        assert_eq!(validate(&Scheme::default_scheme()), Ok(()));
    }

    /// Each line that is wrong says so; the test expects exactly these problems.
    const BROKEN: &str = r#"
id = "broken"
name_zh = "坏方案"
name_en = ""                                       # missing label
county_code = "4210"                               # not 12 digits
effective_from = "2024-01-01"
default_class = "C"

[[items]]
key = "homes"
label_zh = "住房"
label_en = "Homes"
section = "assets"
type = "integer"
required = true
range = { min_inclusive = 0, min_exclusive = 0 }   # two lower edges

[[items]]
key = "homes"                                      # duplicate
label_zh = "住房"
label_en = "Homes again"
section = "nowhere"                                # unknown section
type = "bool"
required = true

[[items]]
key = "housing"
label_zh = "住房状况"
label_en = " "                                     # missing label
section = "assets"
type = "choice"
required = true
options = [{ key = "poor", label_zh = "简陋", label_en = "poor" }]

[[items]]
key = "kind"
label_zh = "类别"
label_en = "Kind"
section = "assets"
type = "choice"                                    # no options
required = false

[[items]]
key = "savings"
label_zh = "存款"
label_en = "Savings"
section = "assets"
type = "money"
required = true
decimals = 2                                       # only for numbers

[[sections]]
key = "assets"
label_zh = "资产"
label_en = "Assets"
cap = -5                                           # below the floor
floor = 0

[[sections.rules]]
kind = "per_option"
id = "housing"
item = "housing"
points = { poor = 8, palace = -8 }                 # no option palace

[[sections.rules]]
kind = "per_unit"
id = "savings"
label_zh = "存款"
label_en = "savings"
count = { item = "savings" }                       # money is not a count
points = 1

[[sections.rules]]
kind = "bands"
id = "income"
of = { income = "per_person_to_standard" }

[[sections.rules.bands]]
range = { max_inclusive = 2500 }
points = 15
label_zh = "甲"
label_en = "a"

[[sections.rules.bands]]
range = { min_inclusive = 2500, max_inclusive = 5000 }   # 2500 in both bands
points = 10
label_zh = "乙"
label_en = "b"

[[sections.rules.bands]]
range = { min_exclusive = 6000, max_inclusive = 7500 }   # (5000, 6000] in none
points = 6
label_zh = "丙"
label_en = "c"

[[sections.rules]]
kind = "when"
id = "income"                                      # duplicate rule id
label_zh = "空"
label_en = "empty"
when = { any = [] }                                # empty condition
points = 1

[[hard_rules]]
id = "cars"
effect = "reject"
when = { compare = { of = { item = "cars" }, op = ">=", value = 1 } }   # unknown item
reason_zh = "有车"
reason_en = "Has a car"

[[hard_rules]]
id = "high_score"
effect = "warn"
when = { compare = { of = "score", op = ">", value = 90 } }   # no score yet
reason_zh = "高分"
reason_en = "High score"

[[hard_rules]]
id = "housing"
effect = "reject"
when = { is_true = "housing" }                     # a choice, not a bool
reason_zh = "住房"
reason_en = "Housing"

[income_test]
standard_fen = { urban = 0, rural = 58_000 }       # S must be positive
near_poverty_multiple_bp = 9_000                   # below 1 x S
payment_floor_bp = 2_000
payment_round_to_fen = 100
payment_rounding = "half_up"
income_items = ["savings"]
excluded_items = ["awards"]                        # not an income item

[[outcome_bands]]
band = "recommend"
range = { min_inclusive = 60, max_inclusive = 99 } # 100 uncovered

[[outcome_bands]]
band = "not_recommended"
range = { max_exclusive = 45 }                     # 45–59 uncovered
"#;

    #[test]
    fn every_problem_is_reported() {
        let scheme = Scheme::from_toml(BROKEN).unwrap();
        let problems = validate(&scheme).unwrap_err();
        assert!(
            problems
                .iter()
                .all(|p| !p.message_en.is_empty() && !p.message_zh.is_empty())
        );
        let found: Vec<(ProblemCode, &str)> =
            problems.iter().map(|p| (p.code, p.path.as_str())).collect();
        use ProblemCode::*;
        assert_eq!(
            found,
            vec![
                (MissingLabel, "scheme.name_en"),
                (InvalidParameter, "scheme.county_code"),
                (InvalidRange, "items.homes.range"),
                (DuplicateKey, "items[1]"),
                (UnknownSection, "items.homes.section"),
                (MissingLabel, "items.housing.label_en"),
                (NoOptions, "items.kind.options"),
                (MisplacedField, "items.savings.decimals"),
                (CapBelowFloor, "sections.assets.cap"),
                (UnknownOption, "sections.assets.rules[0].points.palace"),
                (NotCountable, "sections.assets.rules[1].count"),
                (BandsOverlap, "sections.assets.rules[2].bands[1]"),
                (BandsGap, "sections.assets.rules[2].bands[2]"),
                (DuplicateKey, "sections.assets.rules[3]"),
                (EmptyCondition, "sections.assets.rules[3].when.any"),
                (UnknownItem, "hard_rules[0].when.compare.of.item"),
                (ScoreNotAvailable, "hard_rules[1].when.compare.of"),
                (TypeMismatch, "hard_rules[2].when.is_true"),
                (InvalidStandard, "income_test.standard_fen.urban"),
                (InvalidParameter, "income_test.near_poverty_multiple_bp"),
                (UnknownItem, "income_test.excluded_items[0]"),
                (BandsGap, "outcome_bands[0]"),
                (OutcomeBandsIncomplete, "outcome_bands"),
            ]
        );
        assert_eq!(
            problems[17].message_en,
            "item `housing` is choice, here it must be bool"
        );
        let overlap = &problems[11];
        assert_eq!(overlap.message_en, "[2500, 5000] overlaps (-∞, 2500]");
        assert_eq!(overlap.message_zh, "[2500, 5000] 与 (-∞, 2500] 重叠");
    }

    /// A scheme with the given outcome bands and nothing else wrong.
    fn outcome_problems(bands: &[(&str, &str)]) -> Vec<(ProblemCode, String)> {
        let mut text = include_str!("../../schemes/default.toml").to_owned();
        let start = text.find("[[outcome_bands]]").unwrap();
        let end = text.find("# A: no member").unwrap();
        let replacement: String = bands
            .iter()
            .map(|(band, range)| format!("[[outcome_bands]]\nband = \"{band}\"\nrange = {range}\n"))
            .collect();
        text.replace_range(start..end, &replacement);
        match validate(&Scheme::from_toml(&text).unwrap()) {
            Ok(()) => Vec::new(),
            Err(problems) => problems.into_iter().map(|p| (p.code, p.path)).collect(),
        }
    }

    #[test]
    fn whole_number_bands_meet_by_value() {
        // On scores, [45, 59] and [60, ∞) leave nothing between them.
        assert_eq!(
            outcome_problems(&[
                ("not_recommended", "{ max_inclusive = 44 }"),
                ("borderline", "{ min_inclusive = 45, max_inclusive = 59 }"),
                ("recommend", "{ min_exclusive = 59 }"),
            ]),
            vec![]
        );
        assert_eq!(
            outcome_problems(&[
                ("not_recommended", "{ max_exclusive = 45 }"),
                ("borderline", "{ min_inclusive = 44, max_exclusive = 60 }"),
                ("recommend", "{ min_inclusive = 60 }"),
            ]),
            vec![(ProblemCode::BandsOverlap, "outcome_bands[1]".to_owned())]
        );
        assert_eq!(
            outcome_problems(&[
                (
                    "not_recommended",
                    "{ min_inclusive = 1, max_exclusive = 45 }"
                ),
                ("borderline", "{ min_inclusive = 45, max_exclusive = 60 }"),
                ("borderline", "{ min_inclusive = 60 }"),
            ]),
            vec![
                (ProblemCode::DuplicateKey, "outcome_bands[2]".to_owned()),
                (
                    ProblemCode::OutcomeBandsIncomplete,
                    "outcome_bands".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_cap_of_zero_is_a_cap() {
        let mut scheme = Scheme::default_scheme();
        let living = scheme
            .sections
            .iter()
            .position(|s| s.key == "living")
            .unwrap();
        scheme.sections[living].cap = Some(0);
        assert_eq!(validate(&scheme), Ok(()));
        scheme.sections[living].floor = Some(1);
        let problems = validate(&scheme).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, ProblemCode::CapBelowFloor);
    }
}
