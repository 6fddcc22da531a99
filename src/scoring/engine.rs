//! The assessment: (scheme, household facts, answers) → outcome, score and explanation.

use serde::{Deserialize, Serialize};

use super::answers::{AnswerValue, Answers};
use super::explain::ExplanationLine;
use super::household::HouseholdFacts;
use super::interval::Exact;
use super::scheme::{
    BP, Comparison, Condition, Effect, IncomeFigure, IncomeTest, Op, PointRule, Quantity,
    ReviewClass, Rounding, Scheme, ScoreBand, Section,
};

/// Lowest and highest total score.
const SCORE_MIN: i32 = 0;
const SCORE_MAX: i32 = 100;

/// The full result of one assessment; stored as JSON next to the scheme version and inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub outcome: Outcome,
    /// Set by any COUNTY_VISIT rule: separate register and a mandatory county visit. It routes
    /// the case and never changes the outcome.
    pub county_visit: bool,
    /// 0–100 after section caps and floors. Computed even when the outcome is decided by a
    /// hard rule or the income test, so a reviewer sees the whole picture.
    pub score: i32,
    /// The band of `score`, whatever the outcome.
    pub band: ScoreBand,
    pub class: ReviewClass,
    pub income: IncomeComputation,
    /// Monthly payment estimate in fen, rounded as the scheme says (whole yuan by default).
    /// Present only when the household passes the income test and no REJECT rule hit.
    pub payment_fen: Option<i64>,
    /// Every hard rule that holds, REJECT, COUNTY_VISIT and WARN alike, in scheme order.
    pub rule_hits: Vec<RuleHit>,
    /// Each section with rules: its raw sum and its points after cap and floor.
    pub sections: Vec<SectionScore>,
    /// One line per rule that gave points, then any cap or floor cut, section by section; the
    /// lines' points add up to `score`.
    pub explanation: Vec<ExplanationLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    RejectedByRule,
    /// Per-person income above S (including near-poverty households).
    IncomeNotEligible,
    Recommend,
    Borderline,
    NotRecommended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHit {
    pub id: String,
    pub effect: Effect,
    pub reason_zh: String,
    pub reason_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionScore {
    pub key: String,
    /// Sum of the section's rules before cap and floor.
    pub raw: i64,
    pub points: i64,
}

/// Every term of the income test, in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomeComputation {
    /// Sum of the 12-month income items.
    pub gross_fen: i64,
    /// The excluded items' part of `gross_fen` (awards, public assistance, …).
    pub excluded_fen: i64,
    pub deductions: Vec<DeductionTerm>,
    /// gross − excluded − deductions, but never below 0.
    pub net_fen: i64,
    /// Household size used as divisor (an empty household counts as one).
    pub members: u32,
    /// net / 12 / members, rounded down to the fen; every comparison uses this value.
    pub per_person_monthly_fen: i64,
    /// The standard S applied (urban or rural).
    pub standard_fen: i64,
    pub status: IncomeStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeductionTerm {
    pub id: String,
    pub fen: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomeStatus {
    /// Per-person income ≤ S.
    Eligible,
    /// S < per-person income ≤ near-poverty multiple × S (低保边缘): recorded, not eligible.
    NearPoverty,
    NotEligible,
}

/// Assesses a household under a validated scheme ([`super::validate`]); pure and
/// deterministic.
///
/// Order (DOMAIN.md): hard rules, then the income test, then points. The order decides the
/// outcome — any REJECT gives `rejected_by_rule`; otherwise failing the income test gives
/// `income_not_eligible`; otherwise the score's band — but all three are always computed and
/// reported. Unanswered items make conditions on them false and count as 0 in income and
/// per-unit rules. On an invalid scheme the function still returns, but the result means
/// nothing (an uncovered score falls in `not_recommended`).
pub fn assess(scheme: &Scheme, household: &HouseholdFacts, answers: &Answers) -> Assessment {
    let test = &scheme.income_test;
    let income = income_test(test, household, answers);
    let mut facts = Facts {
        household,
        answers,
        members: income.members.into(),
        standard: income.standard_fen,
        countable_income: income.gross_fen.saturating_sub(income.excluded_fen).max(0),
        per_person: income.per_person_monthly_fen,
        score: None,
    };

    let rule_hits: Vec<RuleHit> = scheme
        .hard_rules
        .iter()
        .filter(|rule| facts.holds(&rule.when))
        .map(|rule| RuleHit {
            id: rule.id.clone(),
            effect: rule.effect,
            reason_zh: rule.reason_zh.clone(),
            reason_en: rule.reason_en.clone(),
        })
        .collect();
    let rejected = rule_hits.iter().any(|hit| hit.effect == Effect::Reject);
    let county_visit = rule_hits
        .iter()
        .any(|hit| hit.effect == Effect::CountyVisit);

    let (score, sections, explanation) = points(scheme, &facts);
    let band = scheme
        .outcome_bands
        .iter()
        .find(|b| b.range.contains(Exact::whole(score.into())))
        .map_or(ScoreBand::NotRecommended, |b| b.band);
    facts.score = Some(score.into());
    let class = scheme
        .class_rules
        .iter()
        .find(|rule| facts.holds(&rule.when))
        .map_or(scheme.default_class, |rule| rule.class);

    let eligible = income.status == IncomeStatus::Eligible;
    let outcome = if rejected {
        Outcome::RejectedByRule
    } else if !eligible {
        Outcome::IncomeNotEligible
    } else {
        match band {
            ScoreBand::Recommend => Outcome::Recommend,
            ScoreBand::Borderline => Outcome::Borderline,
            ScoreBand::NotRecommended => Outcome::NotRecommended,
        }
    };
    let payment_fen = (eligible && !rejected).then(|| payment(test, &income));
    Assessment {
        outcome,
        county_visit,
        score,
        band,
        class,
        income,
        payment_fen,
        rule_hits,
        sections,
        explanation,
    }
}

fn income_test(
    test: &IncomeTest,
    household: &HouseholdFacts,
    answers: &Answers,
) -> IncomeComputation {
    let amount = |key: &String| {
        answers
            .get(key)
            .and_then(AnswerValue::as_integer)
            .unwrap_or(0)
    };
    let sum = |keys: &[String]| keys.iter().map(amount).fold(0_i64, i64::saturating_add);
    let gross_fen = sum(&test.income_items);
    let excluded_fen = sum(&test.excluded_items);
    let deductions: Vec<DeductionTerm> = test
        .deductions
        .iter()
        .map(|d| DeductionTerm {
            id: d.id.clone(),
            fen: share(amount(&d.item), d.share_bp),
        })
        .collect();
    let deducted = deductions
        .iter()
        .map(|d| d.fen)
        .fold(0_i64, i64::saturating_add);
    let net_fen = gross_fen
        .saturating_sub(excluded_fen)
        .saturating_sub(deducted)
        .max(0);
    let members = u32::try_from(household.members.len())
        .unwrap_or(u32::MAX)
        .max(1);
    let per_person_monthly_fen = net_fen / (12 * i64::from(members));
    let standard_fen = test.standard(household.urban);
    let status = if per_person_monthly_fen <= standard_fen {
        IncomeStatus::Eligible
    } else if i128::from(per_person_monthly_fen) * i128::from(BP)
        <= i128::from(standard_fen) * i128::from(test.near_poverty_multiple_bp)
    {
        IncomeStatus::NearPoverty
    } else {
        IncomeStatus::NotEligible
    };
    IncomeComputation {
        gross_fen,
        excluded_fen,
        deductions,
        net_fen,
        members,
        per_person_monthly_fen,
        standard_fen,
        status,
    }
}

/// `share_bp` of an amount, rounded down to the fen.
fn share(amount: i64, share_bp: i64) -> i64 {
    let exact = i128::from(amount) * i128::from(share_bp);
    i64::try_from(exact.div_euclid(i128::from(BP))).unwrap_or(i64::MAX)
}

/// members × max(S − per-person income, floor share × S), rounded once at the end so the
/// floor share never loses a fraction of a fen per person.
fn payment(test: &IncomeTest, income: &IncomeComputation) -> i64 {
    let standard = i128::from(income.standard_fen);
    let gap = (standard - i128::from(income.per_person_monthly_fen)) * i128::from(BP);
    let floor = standard * i128::from(test.payment_floor_bp);
    // In fen × BP.
    let total = i128::from(income.members) * gap.max(floor);
    let unit = i128::from(test.payment_round_to_fen) * i128::from(BP);
    let units = match test.payment_rounding {
        Rounding::HalfUp => (2 * total + unit).div_euclid(2 * unit),
        Rounding::Down => total.div_euclid(unit),
        Rounding::Up => (total + unit - 1).div_euclid(unit),
    };
    i64::try_from(units * i128::from(test.payment_round_to_fen)).unwrap_or(i64::MAX)
}

/// Sums each section's rules, applies its cap and floor, then clamps the total to 0–100.
fn points(scheme: &Scheme, facts: &Facts) -> (i32, Vec<SectionScore>, Vec<ExplanationLine>) {
    let with_rules = scheme.sections.iter().filter(|s| !s.rules.is_empty());
    let mut sections = Vec::with_capacity(with_rules.clone().count());
    // At most one line per rule, one cut per section and one for the total.
    let mut lines =
        Vec::with_capacity(with_rules.clone().map(|s| s.rules.len() + 1).sum::<usize>() + 1);
    let mut total: i64 = 0;
    for section in with_rules {
        let mut raw: i64 = 0;
        for rule in &section.rules {
            if let Some(line) = award(scheme, section, rule, facts) {
                raw = raw.saturating_add(line.points);
                lines.push(line);
            }
        }
        let mut points = raw;
        if let Some(cap) = section.cap
            && points > cap.into()
        {
            lines.push(ExplanationLine::cap(section, cap, i64::from(cap) - points));
            points = cap.into();
        }
        if let Some(floor) = section.floor
            && points < floor.into()
        {
            lines.push(ExplanationLine::floor(
                section,
                floor,
                i64::from(floor) - points,
            ));
            points = floor.into();
        }
        total = total.saturating_add(points);
        sections.push(SectionScore {
            key: section.key.clone(),
            raw,
            points,
        });
    }
    if total > SCORE_MAX.into() {
        lines.push(ExplanationLine::total_cap(
            SCORE_MAX,
            i64::from(SCORE_MAX) - total,
        ));
    } else if total < SCORE_MIN.into() {
        lines.push(ExplanationLine::total_floor(
            SCORE_MIN,
            i64::from(SCORE_MIN) - total,
        ));
    }
    let score =
        i32::try_from(total.clamp(SCORE_MIN.into(), SCORE_MAX.into())).expect("clamped to 0–100");
    (score, sections, lines)
}

/// The line for what one rule gives, if it gives anything.
fn award(
    scheme: &Scheme,
    section: &Section,
    rule: &PointRule,
    facts: &Facts,
) -> Option<ExplanationLine> {
    match rule {
        PointRule::When {
            id,
            label_zh,
            label_en,
            when,
            points,
        } => (*points != 0 && facts.holds(when))
            .then(|| ExplanationLine::rule(section, id, label_zh, label_en, (*points).into())),
        PointRule::PerUnit {
            id,
            label_zh,
            label_en,
            count,
            points,
        } => {
            let units = facts.value(count)?.as_whole()?;
            (units > 0 && *points != 0).then(|| {
                let total = units.saturating_mul((*points).into());
                ExplanationLine::units(section, id, label_zh, label_en, units, total)
            })
        }
        PointRule::PerOption { id, item, points } => {
            let Some(AnswerValue::Choice(chosen)) = facts.answers.get(item) else {
                return None;
            };
            let points = *points.get(chosen).filter(|p| **p != 0)?;
            let option = scheme.item(item)?.option(chosen)?;
            Some(ExplanationLine::rule(
                section,
                id,
                &option.label_zh,
                &option.label_en,
                points.into(),
            ))
        }
        PointRule::Bands { id, of, bands } => {
            let value = facts.value(of)?;
            let band = bands
                .iter()
                .find(|b| b.points != 0 && b.range.contains(value))?;
            Some(ExplanationLine::rule(
                section,
                id,
                &band.label_zh,
                &band.label_en,
                band.points.into(),
            ))
        }
    }
}

/// What conditions and quantities are evaluated against.
struct Facts<'a> {
    household: &'a HouseholdFacts,
    answers: &'a Answers,
    /// At least 1.
    members: i64,
    standard: i64,
    /// 12-month income minus excluded income, at least 0.
    countable_income: i64,
    per_person: i64,
    /// Known only once the points are summed (for class rules).
    score: Option<i64>,
}

impl Facts<'_> {
    fn holds(&self, condition: &Condition) -> bool {
        match condition {
            Condition::All(parts) => parts.iter().all(|c| self.holds(c)),
            Condition::Any(parts) => parts.iter().any(|c| self.holds(c)),
            Condition::IsTrue(key) => {
                matches!(self.answers.get(key), Some(AnswerValue::Bool(true)))
            }
            Condition::OneOf { item, options } => {
                matches!(self.answers.get(item), Some(AnswerValue::Choice(c)) if options.contains(c))
            }
            Condition::Compare(Comparison { of, op, value }) => self.value(of).is_some_and(|v| {
                let ordering = v.cmp_whole(*value);
                match op {
                    Op::Lt => ordering.is_lt(),
                    Op::Le => ordering.is_le(),
                    Op::Eq => ordering.is_eq(),
                    Op::Ne => ordering.is_ne(),
                    Op::Ge => ordering.is_ge(),
                    Op::Gt => ordering.is_gt(),
                }
            }),
        }
    }

    /// The exact value of a quantity; `None` when it depends on an unanswered item.
    fn value(&self, quantity: &Quantity) -> Option<Exact> {
        let bp = i128::from(BP);
        let item = |key: &String| self.answers.get(key)?.as_integer().map(i128::from);
        Some(match quantity {
            Quantity::Item(key) => Exact::ratio(item(key)?, 1),
            Quantity::ItemPerMemberOfStandard(key) => Exact::ratio(
                item(key)? * bp,
                i128::from(self.members) * i128::from(self.standard),
            ),
            Quantity::ItemToIncome(key) => {
                Exact::ratio(item(key)? * bp, self.countable_income.into())
            }
            Quantity::Members(filter) => {
                let count = self
                    .household
                    .members
                    .iter()
                    .filter(|m| filter.matches(m))
                    .count();
                Exact::whole(i64::try_from(count).unwrap_or(i64::MAX))
            }
            Quantity::Income(IncomeFigure::PerPersonMonthly) => Exact::whole(self.per_person),
            Quantity::Income(IncomeFigure::PerPersonToStandard) => {
                Exact::ratio(i128::from(self.per_person) * bp, self.standard.into())
            }
            Quantity::Score => Exact::whole(self.score?),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use proptest::prelude::*;

    use super::*;
    use crate::scoring::household::{LabourCapacity, MemberFacts, Student};
    use crate::scoring::scheme::ValueType;
    use crate::scoring::validate;

    use LabourCapacity::{Full, Partial};

    const URBAN_S: i64 = 75_000;
    const RURAL_S: i64 = 58_000;

    static DEFAULT: LazyLock<Scheme> = LazyLock::new(Scheme::default_scheme);

    fn member(
        age: u32,
        labour_capacity: LabourCapacity,
        disability_grade: Option<u8>,
        chronic_illness: bool,
        student: Student,
    ) -> MemberFacts {
        MemberFacts {
            age,
            labour_capacity,
            disability_grade,
            chronic_illness,
            student,
        }
    }

    /// A member with nothing special beyond age and labour capacity.
    fn plain(age: u32, labour: LabourCapacity) -> MemberFacts {
        member(age, labour, None, false, Student::None)
    }

    fn unable(age: u32) -> MemberFacts {
        plain(age, LabourCapacity::None)
    }

    fn money(fen: i64) -> AnswerValue {
        AnswerValue::Money(fen)
    }

    fn count(n: i64) -> AnswerValue {
        AnswerValue::Integer(n)
    }

    fn yes() -> AnswerValue {
        AnswerValue::Bool(true)
    }

    fn choice(option: &str) -> AnswerValue {
        AnswerValue::Choice(option.into())
    }

    /// Every required item of the default scheme answered with "nothing": no assets, one
    /// home, no income, no costs, good housing, enough food and clothing.
    fn answers(overrides: &[(&str, AnswerValue)]) -> Answers {
        let mut answers: Answers = DEFAULT
            .items
            .iter()
            .filter(|item| item.required)
            .map(|item| {
                let value = match item.value_type {
                    ValueType::Bool => AnswerValue::Bool(false),
                    ValueType::Choice => choice("good"),
                    ValueType::Integer => count(0),
                    ValueType::Money => money(0),
                    ValueType::Number => AnswerValue::Number(0),
                };
                (item.key.clone(), value)
            })
            .collect();
        answers.insert("homes".into(), count(1));
        for (key, value) in overrides {
            assert!(answers.contains_key(*key), "{key} is a required item");
            answers.insert((*key).into(), value.clone());
        }
        answers
    }

    fn household(urban: bool, members: Vec<MemberFacts>) -> HouseholdFacts {
        HouseholdFacts { urban, members }
    }

    struct Case {
        name: &'static str,
        household: HouseholdFacts,
        answers: Answers,
        outcome: Outcome,
        score: i32,
        band: ScoreBand,
        class: ReviewClass,
        per_person: i64,
        status: IncomeStatus,
        payment: Option<i64>,
        county_visit: bool,
        hits: &'static [&'static str],
        lines: Vec<(&'static str, &'static str)>,
    }

    const L_NO_ABLE: (&str, &str) = (
        "劳动能力: 家庭成员均无劳动能力 +20",
        "Labour: no member able to work +20",
    );
    const INCOME_25: (&str, &str) = (
        "收入: 人均收入不超过标准的25% +15",
        "Income: per-person income at most 25% of the standard +15",
    );
    const INCOME_50: (&str, &str) = (
        "收入: 人均收入超过标准的25%、不超过50% +10",
        "Income: per-person income over 25% and at most 50% of the standard +10",
    );
    const INCOME_100: (&str, &str) = (
        "收入: 人均收入超过标准的75%、不超过标准 +3",
        "Income: per-person income over 75% of the standard and at most the standard +3",
    );
    const CHRONIC_1: (&str, &str) = (
        "健康: 慢性病或重病成员 ×1 +6",
        "Health: member with chronic or serious illness ×1 +6",
    );
    const FOOD: (&str, &str) = ("生活: 食物不足 +5", "Living: food insufficient +5");
    const CLOTHING: (&str, &str) = (
        "生活: 衣被不足以应对季节变化 +5",
        "Living: seasonal clothing inadequate +5",
    );
    const APPLIANCE_1: (&str, &str) = (
        "资产: 非必需家电 ×1 -2",
        "Assets: non-essential appliance ×1 -2",
    );
    const VEHICLE: (&str, &str) = ("资产: 生产生活用车 -3", "Assets: livelihood vehicle -3");
    const DANGEROUS_C: (&str, &str) = ("住房: 危房(C级) +15", "Housing: dangerous house (C) +15");
    const DANGEROUS_D: (&str, &str) = ("住房: 危房(D级) +15", "Housing: dangerous house (D) +15");
    const POOR: (&str, &str) = ("住房: 简陋 +8", "Housing: poor +8");
    const ADEQUATE: (&str, &str) = ("住房: 一般 +3", "Housing: adequate +3");
    const MINOR_1: (&str, &str) = (
        "抚养: 未成年人(18岁以下) ×1 +3",
        "Dependants: minor (under 18) ×1 +3",
    );

    /// The members of the large rural household of cases 14 and 15.
    fn seven_members() -> Vec<MemberFacts> {
        vec![
            member(62, LabourCapacity::None, Some(1), true, Student::None),
            member(58, LabourCapacity::None, None, true, Student::None),
            member(35, LabourCapacity::None, Some(2), false, Student::None),
            member(30, LabourCapacity::None, None, true, Student::None),
            unable(75),
            member(16, LabourCapacity::None, None, false, Student::Senior),
            member(19, LabourCapacity::None, None, false, Student::University),
        ]
    }

    const SEVEN_MEMBERS_POINTS: &[(&str, &str)] = &[
        L_NO_ABLE,
        (
            "劳动能力: 劳动年龄内无劳动能力成员 ×5 +25",
            "Labour: working-age member unable to work ×5 +25",
        ),
        ("劳动能力: 上限30分 -15", "Labour: cap 30 -15"),
        (
            "健康: 重度残疾成员(1–2级) ×2 +20",
            "Health: member with severe disability (grade 1–2) ×2 +20",
        ),
        (
            "健康: 慢性病或重病成员 ×3 +18",
            "Health: member with chronic or serious illness ×3 +18",
        ),
        (
            "健康: 自付医疗费用占收入50%及以上 +10",
            "Health: medical costs 50% of income or more +10",
        ),
        ("健康: 上限25分 -23", "Health: cap 25 -23"),
        (
            "抚养: 70岁及以上成员 ×1 +4",
            "Dependants: member aged 70 or over ×1 +4",
        ),
        MINOR_1,
        (
            "抚养: 高中或大学在读学生 ×2 +10",
            "Dependants: student in senior high school or university ×2 +10",
        ),
        ("抚养: 上限15分 -2", "Dependants: cap 15 -2"),
        DANGEROUS_D,
        FOOD,
        CLOTHING,
    ];

    /// Households worked by hand against DOMAIN.md's default scheme (S = 75,000 fen urban,
    /// 58,000 rural). Arithmetic in fen; p = per-person monthly income; sections in scheme
    /// order: labour (cap 30), health (25), dependants (15), housing (15), living (10), assets
    /// (floor -15), income (15).
    fn cases() -> Vec<Case> {
        vec![
            // 1. Rural couple aged 74 and 72, neither able to work, one chronically ill.
            //    Income: basic pension subsidy 360,000, all excluded → net 0, p = 0 ≤ S.
            //    Labour: nobody able +20. Health: chronic ×1 +6; medical 0 of income 0 → no
            //    band. Dependants: 70+ ×2 +8. Housing poor +8. Income p/S = 0 ≤ 25% +15.
            //    Total 20+6+8+8+15 = 57 → borderline [45, 60). Class A (nobody able).
            //    Payment 2 × max(58,000 − 0, 11,600) = 116,000.
            Case {
                name: "elderly rural couple",
                household: household(
                    false,
                    vec![
                        unable(74),
                        member(72, LabourCapacity::None, None, true, Student::None),
                    ],
                ),
                answers: answers(&[
                    ("basic_pension_subsidy", money(360_000)),
                    ("housing_condition", choice("poor")),
                ]),
                outcome: Outcome::Borderline,
                score: 57,
                band: ScoreBand::Borderline,
                class: ReviewClass::A,
                per_person: 0,
                status: IncomeStatus::Eligible,
                payment: Some(116_000),
                county_visit: false,
                hits: &[],
                lines: vec![
                    L_NO_ABLE,
                    CHRONIC_1,
                    (
                        "抚养: 70岁及以上成员 ×2 +8",
                        "Dependants: member aged 70 or over ×2 +8",
                    ),
                    POOR,
                    INCOME_25,
                ],
            },
            // 2. Urban mother (38, works) with children of 12 and 8.
            //    Wages 1,440,000; job cost 10% = 144,000; education 200,000.
            //    Net 1,440,000 − 344,000 = 1,096,000; p = ⌊1,096,000 / 36⌋ = 30,444 ≤ S.
            //    p/S = 40.6% → (25%, 50%] +10. Dependants: minors ×2 +6. Housing adequate +3.
            //    Clothing +5. Total 24 → not recommended; class C (someone able, < 60).
            //    Payment 3 × (75,000 − 30,444) = 133,668 → ¥1,336.68 → ¥1,337 = 133,700.
            Case {
                name: "urban single mother",
                household: household(
                    true,
                    vec![
                        plain(38, Full),
                        member(12, LabourCapacity::None, None, false, Student::Junior),
                        member(8, LabourCapacity::None, None, false, Student::Primary),
                    ],
                ),
                answers: answers(&[
                    ("wage_income", money(1_440_000)),
                    ("education_costs", money(200_000)),
                    ("housing_condition", choice("adequate")),
                    ("clothing_inadequate", yes()),
                ]),
                outcome: Outcome::NotRecommended,
                score: 24,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 30_444,
                status: IncomeStatus::Eligible,
                payment: Some(133_700),
                county_visit: false,
                hits: &[],
                lines: vec![
                    (
                        "抚养: 未成年人(18岁以下) ×2 +6",
                        "Dependants: minor (under 18) ×2 +6",
                    ),
                    ADEQUATE,
                    CLOTHING,
                    INCOME_50,
                ],
            },
            // 3. Urban carer (48) with two adults unable to work: 22 (disability 1, chronic)
            //    and 51 (disability 2). Wages 2,400,000, medical 900,000.
            //    Deductions 240,000 + 900,000; net 1,260,000; p = 1,260,000 / 36 = 35,000.
            //    p/S = 46.7% → +10. Medical / income = 900,000 / 2,400,000 = 37.5% → +6.
            //    Labour: working-age unable ×2 +10. Health: severe ×2 +20, chronic +6,
            //    medical +6 = 32 → cap 25 (−7). Housing poor +8. Food +5. Appliance −2.
            //    Total 10+25+8+5−2+10 = 56 → borderline; class C.
            //    Payment 3 × (75,000 − 35,000) = 120,000.
            Case {
                name: "carer with two disabled adults, health capped",
                household: household(
                    true,
                    vec![
                        plain(48, Full),
                        member(22, LabourCapacity::None, Some(1), true, Student::None),
                        member(51, LabourCapacity::None, Some(2), false, Student::None),
                    ],
                ),
                answers: answers(&[
                    ("wage_income", money(2_400_000)),
                    ("medical_costs", money(900_000)),
                    ("housing_condition", choice("poor")),
                    ("food_insufficient", yes()),
                    ("non_essential_appliances", count(1)),
                ]),
                outcome: Outcome::Borderline,
                score: 56,
                band: ScoreBand::Borderline,
                class: ReviewClass::C,
                per_person: 35_000,
                status: IncomeStatus::Eligible,
                payment: Some(120_000),
                county_visit: false,
                hits: &[],
                lines: vec![
                    (
                        "劳动能力: 劳动年龄内无劳动能力成员 ×2 +10",
                        "Labour: working-age member unable to work ×2 +10",
                    ),
                    (
                        "健康: 重度残疾成员(1–2级) ×2 +20",
                        "Health: member with severe disability (grade 1–2) ×2 +20",
                    ),
                    CHRONIC_1,
                    (
                        "健康: 自付医疗费用占收入25%(含)至50% +6",
                        "Health: medical costs 25% to under 50% of income +6",
                    ),
                    ("健康: 上限25分 -7", "Health: cap 25 -7"),
                    POOR,
                    FOOD,
                    APPLIANCE_1,
                    INCOME_50,
                ],
            },
            // 4. Rural single (66, partial capacity, chronic) with savings 1,392,001 fen:
            //    24 × 58,000 = 1,392,000 per person, so 1 fen over → REJECT.
            //    Income: farming 300,000 + pension subsidy 180,000 (excluded) → net 300,000,
            //    p = 25,000 ≤ S; p/S = 43.1% → +10. Labour: partial counts as able → 0.
            //    Health chronic +6. Housing D +15. Food +5, clothing +5. Livestock ×1 −2.
            //    Total 6+15+10−2+10 = 39 → band not recommended, outcome rejected; class C;
            //    no payment for a rejected household.
            Case {
                name: "savings one fen over 24 months of the standard",
                household: household(false, vec![member(66, Partial, None, true, Student::None)]),
                answers: answers(&[
                    ("financial_assets", money(1_392_001)),
                    ("agricultural_income", money(300_000)),
                    ("basic_pension_subsidy", money(180_000)),
                    ("housing_condition", choice("dangerous_d")),
                    ("food_insufficient", yes()),
                    ("clothing_inadequate", yes()),
                    ("large_livestock", count(1)),
                ]),
                outcome: Outcome::RejectedByRule,
                score: 39,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 25_000,
                status: IncomeStatus::Eligible,
                payment: None,
                county_visit: false,
                hits: &["financial_assets_over_limit"],
                lines: vec![
                    CHRONIC_1,
                    DANGEROUS_D,
                    FOOD,
                    CLOTHING,
                    ("资产: 大牲畜 ×1 -2", "Assets: large livestock ×1 -2"),
                    INCOME_50,
                ],
            },
            // 5. The same with savings of exactly 24 × S = 1,392,000: not over the limit.
            //    Outcome is the band (39 → not recommended); payment 58,000 − 25,000 = 33,000.
            Case {
                name: "savings exactly 24 months of the standard",
                household: household(false, vec![member(66, Partial, None, true, Student::None)]),
                answers: answers(&[
                    ("financial_assets", money(1_392_000)),
                    ("agricultural_income", money(300_000)),
                    ("basic_pension_subsidy", money(180_000)),
                    ("housing_condition", choice("dangerous_d")),
                    ("food_insufficient", yes()),
                    ("clothing_inadequate", yes()),
                    ("large_livestock", count(1)),
                ]),
                outcome: Outcome::NotRecommended,
                score: 39,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 25_000,
                status: IncomeStatus::Eligible,
                payment: Some(33_000),
                county_visit: false,
                hits: &[],
                lines: vec![
                    CHRONIC_1,
                    DANGEROUS_D,
                    FOOD,
                    CLOTHING,
                    ("资产: 大牲畜 ×1 -2", "Assets: large livestock ×1 -2"),
                    INCOME_50,
                ],
            },
            // 6. Urban parent (40) and child (10); business income 2,700,000 → p = 112,500
            //    = exactly 1.5 S → near poverty, not eligible. Points: minor +3, adequate +3;
            //    no income band above S. Score 6; class C; no payment.
            Case {
                name: "exactly 1.5 S is near poverty",
                household: household(
                    true,
                    vec![
                        plain(40, Full),
                        member(10, LabourCapacity::None, None, false, Student::Primary),
                    ],
                ),
                answers: answers(&[
                    ("business_income", money(2_700_000)),
                    ("housing_condition", choice("adequate")),
                ]),
                outcome: Outcome::IncomeNotEligible,
                score: 6,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 112_500,
                status: IncomeStatus::NearPoverty,
                payment: None,
                county_visit: false,
                hits: &[],
                lines: vec![MINOR_1, ADEQUATE],
            },
            // 7. The same one fen per person higher: 2,700,024 / 24 = 112,501 > 1.5 S.
            Case {
                name: "1.5 S plus one fen is above near poverty",
                household: household(
                    true,
                    vec![
                        plain(40, Full),
                        member(10, LabourCapacity::None, None, false, Student::Primary),
                    ],
                ),
                answers: answers(&[
                    ("business_income", money(2_700_024)),
                    ("housing_condition", choice("adequate")),
                ]),
                outcome: Outcome::IncomeNotEligible,
                score: 6,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 112_501,
                status: IncomeStatus::NotEligible,
                payment: None,
                county_visit: false,
                hits: &[],
                lines: vec![MINOR_1, ADEQUATE],
            },
            // 8. Urban single (35, works), business income 900,000 → p = 75,000 = S: passes.
            //    p/S = 100% → (75%, 100%] +3. Score 3; class C.
            //    Payment max(75,000 − 75,000, 0.2 × 75,000) = 15,000: the floor.
            Case {
                name: "exactly S passes and gets the payment floor",
                household: household(true, vec![plain(35, Full)]),
                answers: answers(&[("business_income", money(900_000))]),
                outcome: Outcome::NotRecommended,
                score: 3,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 75_000,
                status: IncomeStatus::Eligible,
                payment: Some(15_000),
                county_visit: false,
                hits: &[],
                lines: vec![INCOME_100],
            },
            // 9. The same with 900,012 → p = 75,001 = S + 1 fen: near poverty, no points.
            Case {
                name: "S plus one fen fails",
                household: household(true, vec![plain(35, Full)]),
                answers: answers(&[("business_income", money(900_012))]),
                outcome: Outcome::IncomeNotEligible,
                score: 0,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 75_001,
                status: IncomeStatus::NearPoverty,
                payment: None,
                county_visit: false,
                hits: &[],
                lines: vec![],
            },
            // 10. Rural: 80 and 76 (disability 2) unable, 45 partial + chronic, 17 a senior
            //     high school student. A close relative is a village cadre → county visit.
            //     Gross 600,000 farming + 240,000 transfers + 100,000 scholarship + 360,000
            //     pension subsidy = 1,300,000; excluded 460,000; deductions medical 300,000 +
            //     education 250,000; net 290,000; p = ⌊290,000 / 48⌋ = 6,041; p/S = 10.4% +15.
            //     Medical / (1,300,000 − 460,000) = 35.7% → +6.
            //     Labour: 17-year-old unable +5 (partial 45 is able). Health: severe +10,
            //     chronic +6, medical +6 = 22. Dependants: 70+ ×2 +8, minor +3, student +5 =
            //     16 → cap 15 (−1). Housing C +15. Clothing +5. Livestock ×2 −4, vehicle −3.
            //     Total 5+22+15+15+5−7+15 = 70 → recommend; class B (able member, ≥ 60).
            //     Payment 4 × (58,000 − 6,041) = 207,836 → ¥2,078.36 → ¥2,078 = 207,800.
            Case {
                name: "four generations, relative is a cadre",
                household: household(
                    false,
                    vec![
                        unable(80),
                        member(76, LabourCapacity::None, Some(2), false, Student::None),
                        member(45, Partial, None, true, Student::None),
                        member(17, LabourCapacity::None, None, false, Student::Senior),
                    ],
                ),
                answers: answers(&[
                    ("agricultural_income", money(600_000)),
                    ("transfer_income", money(240_000)),
                    ("awards_scholarships", money(100_000)),
                    ("basic_pension_subsidy", money(360_000)),
                    ("medical_costs", money(300_000)),
                    ("education_costs", money(250_000)),
                    ("housing_condition", choice("dangerous_c")),
                    ("clothing_inadequate", yes()),
                    ("large_livestock", count(2)),
                    ("livelihood_vehicles", count(1)),
                    ("vehicle_highest_value", money(300_000)),
                    ("relative_official", yes()),
                ]),
                outcome: Outcome::Recommend,
                score: 70,
                band: ScoreBand::Recommend,
                class: ReviewClass::B,
                per_person: 6_041,
                status: IncomeStatus::Eligible,
                payment: Some(207_800),
                county_visit: true,
                hits: &["relative_official"],
                lines: vec![
                    (
                        "劳动能力: 劳动年龄内无劳动能力成员 ×1 +5",
                        "Labour: working-age member unable to work ×1 +5",
                    ),
                    (
                        "健康: 重度残疾成员(1–2级) ×1 +10",
                        "Health: member with severe disability (grade 1–2) ×1 +10",
                    ),
                    CHRONIC_1,
                    (
                        "健康: 自付医疗费用占收入25%(含)至50% +6",
                        "Health: medical costs 25% to under 50% of income +6",
                    ),
                    (
                        "抚养: 70岁及以上成员 ×2 +8",
                        "Dependants: member aged 70 or over ×2 +8",
                    ),
                    MINOR_1,
                    (
                        "抚养: 高中或大学在读学生 ×1 +5",
                        "Dependants: student in senior high school or university ×1 +5",
                    ),
                    ("抚养: 上限15分 -1", "Dependants: cap 15 -1"),
                    DANGEROUS_C,
                    CLOTHING,
                    ("资产: 大牲畜 ×2 -4", "Assets: large livestock ×2 -4"),
                    VEHICLE,
                    INCOME_25,
                ],
            },
            // 11–14. Urban single aged 65 unable to work, no income: nobody able +20, p = 0
            //     +15 → 35 before the rest; class A; payment 75,000.
            // 11. + dangerous C +15, food +5, clothing +5 = 60 → recommend (edge).
            Case {
                name: "score exactly 60",
                household: household(true, vec![unable(65)]),
                answers: answers(&[
                    ("housing_condition", choice("dangerous_c")),
                    ("food_insufficient", yes()),
                    ("clothing_inadequate", yes()),
                ]),
                outcome: Outcome::Recommend,
                score: 60,
                band: ScoreBand::Recommend,
                class: ReviewClass::A,
                per_person: 0,
                status: IncomeStatus::Eligible,
                payment: Some(URBAN_S),
                county_visit: false,
                hits: &[],
                lines: vec![L_NO_ABLE, DANGEROUS_C, FOOD, CLOTHING, INCOME_25],
            },
            // 12. + chronic +6, dangerous C +15, food +5, one appliance −2 = 59 → borderline.
            Case {
                name: "score exactly 59",
                household: household(
                    true,
                    vec![member(65, LabourCapacity::None, None, true, Student::None)],
                ),
                answers: answers(&[
                    ("housing_condition", choice("dangerous_c")),
                    ("food_insufficient", yes()),
                    ("non_essential_appliances", count(1)),
                ]),
                outcome: Outcome::Borderline,
                score: 59,
                band: ScoreBand::Borderline,
                class: ReviewClass::A,
                per_person: 0,
                status: IncomeStatus::Eligible,
                payment: Some(URBAN_S),
                county_visit: false,
                hits: &[],
                lines: vec![
                    L_NO_ABLE,
                    CHRONIC_1,
                    DANGEROUS_C,
                    FOOD,
                    APPLIANCE_1,
                    INCOME_25,
                ],
            },
            // 13. + dangerous D +15, one appliance −2, a tricycle −3 = 45 → borderline (edge).
            Case {
                name: "score exactly 45",
                household: household(true, vec![unable(65)]),
                answers: answers(&[
                    ("housing_condition", choice("dangerous_d")),
                    ("non_essential_appliances", count(1)),
                    ("livelihood_vehicles", count(1)),
                    ("vehicle_highest_value", money(300_000)),
                ]),
                outcome: Outcome::Borderline,
                score: 45,
                band: ScoreBand::Borderline,
                class: ReviewClass::A,
                per_person: 0,
                status: IncomeStatus::Eligible,
                payment: Some(URBAN_S),
                county_visit: false,
                hits: &[],
                lines: vec![L_NO_ABLE, DANGEROUS_D, APPLIANCE_1, VEHICLE, INCOME_25],
            },
            // 14. + chronic +6, adequate housing +3 = 44 → not recommended.
            Case {
                name: "score exactly 44",
                household: household(
                    true,
                    vec![member(65, LabourCapacity::None, None, true, Student::None)],
                ),
                answers: answers(&[("housing_condition", choice("adequate"))]),
                outcome: Outcome::NotRecommended,
                score: 44,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::A,
                per_person: 0,
                status: IncomeStatus::Eligible,
                payment: Some(URBAN_S),
                county_visit: false,
                hits: &[],
                lines: vec![L_NO_ABLE, CHRONIC_1, ADEQUATE, INCOME_25],
            },
            // 15. Rural, seven members nobody able to work (see seven_members): public
            //     assistance 500,000 (excluded), medical 400,000 → countable income 0, so
            //     medical burden is infinite (+10); net max(0, −400,000) = 0, p = 0 (+15).
            //     Labour +20 + 5 working-age (58, 35, 30, 16, 19) ×5 = 45 → cap 30 (−15).
            //     Health: severe ×2 +20, chronic ×3 +18, medical +10 = 48 → cap 25 (−23).
            //     Dependants: 70+ +4, minor (16) +3, students ×2 +10 = 17 → cap 15 (−2).
            //     Housing D +15; food +5, clothing +5. Assets: livestock ×5 −10,
            //     appliances ×3 −6, vehicle −3 = −19 → floor −15 (+4).
            //     Total 30+25+15+15+10−15+15 = 95 → recommend; class A.
            //     Payment 7 × 58,000 = 406,000.
            Case {
                name: "large household, caps and the assets floor",
                household: household(false, seven_members()),
                answers: answers(&[
                    ("public_assistance", money(500_000)),
                    ("medical_costs", money(400_000)),
                    ("housing_condition", choice("dangerous_d")),
                    ("food_insufficient", yes()),
                    ("clothing_inadequate", yes()),
                    ("large_livestock", count(5)),
                    ("non_essential_appliances", count(3)),
                    ("livelihood_vehicles", count(1)),
                    ("vehicle_highest_value", money(500_000)),
                ]),
                outcome: Outcome::Recommend,
                score: 95,
                band: ScoreBand::Recommend,
                class: ReviewClass::A,
                per_person: 0,
                status: IncomeStatus::Eligible,
                payment: Some(406_000),
                county_visit: false,
                hits: &[],
                lines: [
                    SEVEN_MEMBERS_POINTS,
                    &[
                        ("资产: 大牲畜 ×5 -10", "Assets: large livestock ×5 -10"),
                        (
                            "资产: 非必需家电 ×3 -6",
                            "Assets: non-essential appliance ×3 -6",
                        ),
                        VEHICLE,
                        ("资产: 下限-15分 +4", "Assets: floor -15 +4"),
                        INCOME_25,
                    ],
                ]
                .concat(),
            },
            // 16. The same household without assets: 30+25+15+15+10+0+15 = 110 → the total is
            //     clamped to 100 (−10).
            Case {
                name: "total clamped to 100",
                household: household(false, seven_members()),
                answers: answers(&[
                    ("public_assistance", money(500_000)),
                    ("medical_costs", money(400_000)),
                    ("housing_condition", choice("dangerous_d")),
                    ("food_insufficient", yes()),
                    ("clothing_inadequate", yes()),
                ]),
                outcome: Outcome::Recommend,
                score: 100,
                band: ScoreBand::Recommend,
                class: ReviewClass::A,
                per_person: 0,
                status: IncomeStatus::Eligible,
                payment: Some(406_000),
                county_visit: false,
                hits: &[],
                lines: [
                    SEVEN_MEMBERS_POINTS,
                    &[INCOME_25, ("总分: 上限100分 -10", "Total: cap 100 -10")],
                ]
                .concat(),
            },
            // 17. Urban single (40, works) who owns a shop and whose brother is a civil
            //     servant: REJECT and COUNTY_VISIT both hit. No income → +15; score 15.
            //     Outcome rejected, county visit still flagged; no payment.
            Case {
                name: "reject and county visit together",
                household: household(true, vec![plain(40, Full)]),
                answers: answers(&[("commercial_property", yes()), ("relative_official", yes())]),
                outcome: Outcome::RejectedByRule,
                score: 15,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 0,
                status: IncomeStatus::Eligible,
                payment: None,
                county_visit: true,
                hits: &["commercial_property", "relative_official"],
                lines: vec![INCOME_25],
            },
            // 18. Urban single (50, works, chronic): business 1,000,000, medical 100,000 →
            //     medical / income exactly 10% → [10%, 25%) +3; chronic +6.
            //     Net 900,000 → p = 75,000 = S → +3. Score 12; payment floor 15,000.
            Case {
                name: "medical burden exactly 10%",
                household: household(true, vec![member(50, Full, None, true, Student::None)]),
                answers: answers(&[
                    ("business_income", money(1_000_000)),
                    ("medical_costs", money(100_000)),
                ]),
                outcome: Outcome::NotRecommended,
                score: 12,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 75_000,
                status: IncomeStatus::Eligible,
                payment: Some(15_000),
                county_visit: false,
                hits: &[],
                lines: vec![
                    CHRONIC_1,
                    (
                        "健康: 自付医疗费用占收入10%(含)至25% +3",
                        "Health: medical costs 10% to under 25% of income +3",
                    ),
                    INCOME_100,
                ],
            },
            // 19. Urban single (50, works): business 225,000 → p = 18,750 = exactly 0.25 S →
            //     +15. Payment 75,000 − 18,750 = 56,250 → ¥562.50 → half up ¥563 = 56,300.
            Case {
                name: "per-person income exactly 0.25 S",
                household: household(true, vec![plain(50, Full)]),
                answers: answers(&[("business_income", money(225_000))]),
                outcome: Outcome::NotRecommended,
                score: 15,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 18_750,
                status: IncomeStatus::Eligible,
                payment: Some(56_300),
                county_visit: false,
                hits: &[],
                lines: vec![INCOME_25],
            },
            // 20. One fen more per person: 225,012 → p = 18,751 → (25%, 50%] +10.
            //     Payment 56,249 → ¥562.49 → ¥562 = 56,200.
            Case {
                name: "per-person income 0.25 S plus one fen",
                household: household(true, vec![plain(50, Full)]),
                answers: answers(&[("business_income", money(225_012))]),
                outcome: Outcome::NotRecommended,
                score: 10,
                band: ScoreBand::NotRecommended,
                class: ReviewClass::C,
                per_person: 18_751,
                status: IncomeStatus::Eligible,
                payment: Some(56_200),
                county_visit: false,
                hits: &[],
                lines: vec![INCOME_50],
            },
        ]
    }

    #[test]
    fn hand_worked_households() {
        for case in cases() {
            let a = assess(&DEFAULT, &case.household, &case.answers);
            let name = case.name;
            assert_eq!(a.outcome, case.outcome, "{name}: outcome");
            assert_eq!(a.score, case.score, "{name}: score");
            assert_eq!(a.band, case.band, "{name}: band");
            assert_eq!(a.class, case.class, "{name}: class");
            assert_eq!(
                a.income.per_person_monthly_fen, case.per_person,
                "{name}: per person"
            );
            assert_eq!(a.income.status, case.status, "{name}: income status");
            assert_eq!(a.payment_fen, case.payment, "{name}: payment");
            assert_eq!(a.county_visit, case.county_visit, "{name}: county visit");
            let hits: Vec<&str> = a.rule_hits.iter().map(|h| h.id.as_str()).collect();
            assert_eq!(hits, case.hits, "{name}: hard-rule hits");
            let lines: Vec<(&str, &str)> = a
                .explanation
                .iter()
                .map(|l| (l.zh.as_str(), l.en.as_str()))
                .collect();
            assert_eq!(lines, case.lines, "{name}: explanation");
            let explained: i64 = a.explanation.iter().map(|l| l.points).sum();
            assert_eq!(explained, i64::from(a.score), "{name}: lines add up");
        }
    }

    /// Business income giving exactly `per_person` fen per person per month (no deductions).
    fn income_of(members: usize, per_person: i64) -> Answers {
        let annual = 12 * i64::try_from(members).unwrap() * per_person;
        answers(&[("business_income", money(annual))])
    }

    fn workers(urban: bool, members: usize) -> HouseholdFacts {
        household(urban, vec![plain(40, Full); members])
    }

    #[test]
    fn income_test_at_s_and_one_and_a_half_s() {
        for (urban, s) in [(true, URBAN_S), (false, RURAL_S)] {
            for members in [1, 3] {
                let status = |p| {
                    assess(&DEFAULT, &workers(urban, members), &income_of(members, p))
                        .income
                        .status
                };
                assert_eq!(status(s), IncomeStatus::Eligible);
                assert_eq!(status(s + 1), IncomeStatus::NearPoverty);
                assert_eq!(status(s * 3 / 2), IncomeStatus::NearPoverty);
                assert_eq!(status(s * 3 / 2 + 1), IncomeStatus::NotEligible);
            }
        }
    }

    #[test]
    fn payment_floor_applies_just_below_s() {
        // 3 members at S − 1 fen: the gap of 1 fen is below 0.2 S = 15,000, so 3 × 15,000.
        let a = assess(&DEFAULT, &workers(true, 3), &income_of(3, URBAN_S - 1));
        assert_eq!(a.payment_fen, Some(45_000));
        // At 0.8 S the gap equals the floor; one fen lower the gap wins: 3 × 15,001
        // = 45,003 fen → ¥450.03 → ¥450.
        let a = assess(&DEFAULT, &workers(true, 3), &income_of(3, 60_000));
        assert_eq!(a.payment_fen, Some(45_000));
        let a = assess(&DEFAULT, &workers(true, 3), &income_of(3, 59_999));
        assert_eq!(a.payment_fen, Some(45_000));
        // Rural floor 0.2 × 58,000 = 11,600.
        let a = assess(&DEFAULT, &workers(false, 2), &income_of(2, RURAL_S));
        assert_eq!(a.payment_fen, Some(23_200));
    }

    #[test]
    fn payment_rounding_modes() {
        // One member at 18,750 and 18,751 fen: gaps 56,250 and 56,249 fen.
        let mut scheme = DEFAULT.clone();
        for (rounding, at_half, below_half) in [
            (Rounding::HalfUp, 56_300, 56_200),
            (Rounding::Down, 56_200, 56_200),
            (Rounding::Up, 56_300, 56_300),
        ] {
            scheme.income_test.payment_rounding = rounding;
            let pay = |p| assess(&scheme, &workers(true, 1), &income_of(1, p)).payment_fen;
            assert_eq!(pay(18_750), Some(at_half), "{rounding:?}");
            assert_eq!(pay(18_751), Some(below_half), "{rounding:?}");
        }
        // Rounding to the fen keeps the exact amount; 0.2 × 33,333 = 6,666.6 fen per person
        // is kept exact until the end: 3 × 6,666.6 = 19,999.8 → 20,000.
        scheme.income_test.payment_round_to_fen = 1;
        scheme.income_test.payment_rounding = Rounding::HalfUp;
        scheme.income_test.standard_fen.urban = 33_333;
        let a = assess(&scheme, &workers(true, 3), &income_of(3, 33_333));
        assert_eq!(a.payment_fen, Some(20_000));
    }

    /// The default scheme with all points replaced by one point per head of livestock.
    fn scheme_scoring_livestock() -> Scheme {
        let mut scheme = DEFAULT.clone();
        for section in &mut scheme.sections {
            section.rules.clear();
        }
        scheme.sections[0].rules.push(PointRule::PerUnit {
            id: "points".into(),
            label_zh: "分".into(),
            label_en: "points".into(),
            count: Quantity::Item("large_livestock".into()),
            points: 1,
        });
        assert_eq!(validate(&scheme), Ok(()));
        scheme
    }

    #[test]
    fn band_edges_at_45_and_60() {
        let scheme = scheme_scoring_livestock();
        let facts = workers(true, 1);
        for n in 0..=100 {
            let a = assess(&scheme, &facts, &answers(&[("large_livestock", count(n))]));
            let expected = if n >= 60 {
                ScoreBand::Recommend
            } else if n >= 45 {
                ScoreBand::Borderline
            } else {
                ScoreBand::NotRecommended
            };
            assert_eq!((a.score, a.band), (i32::try_from(n).unwrap(), expected));
        }
        let band = |n| assess(&scheme, &facts, &answers(&[("large_livestock", count(n))])).band;
        assert_eq!(band(44), ScoreBand::NotRecommended);
        assert_eq!(band(45), ScoreBand::Borderline);
        assert_eq!(band(59), ScoreBand::Borderline);
        assert_eq!(band(60), ScoreBand::Recommend);
    }

    #[test]
    fn warn_rules_only_inform() {
        let text = format!(
            "{}\n{}",
            include_str!("../../schemes/default.toml"),
            r#"
[[hard_rules]]
id = "good_house_claims_hardship"
effect = "warn"
when = { all = [
  { one_of = { item = "housing_condition", options = ["good", "adequate"] } },
  { is_true = "food_insufficient" },
] }
reason_zh = "住房良好但称食物不足，请核实"
reason_en = "Good housing but food reported insufficient: check"
"#
        );
        let scheme = Scheme::from_toml(&text).unwrap();
        assert_eq!(validate(&scheme), Ok(()));
        let facts = household(true, vec![unable(65)]);
        let claim = answers(&[("food_insufficient", yes())]);
        let plain_answers = answers(&[
            ("food_insufficient", yes()),
            ("housing_condition", choice("poor")),
        ]);
        let warned = assess(&scheme, &facts, &claim);
        assert_eq!(warned.rule_hits.len(), 1);
        assert_eq!(warned.rule_hits[0].effect, Effect::Warn);
        assert_eq!(
            warned.rule_hits[0].reason_en,
            "Good housing but food reported insufficient: check"
        );
        let unwarned = assess(&DEFAULT, &facts, &claim);
        assert!(!warned.county_visit);
        assert_eq!(
            (warned.outcome, warned.score, warned.payment_fen),
            (unwarned.outcome, unwarned.score, unwarned.payment_fen)
        );
        assert!(assess(&scheme, &facts, &plain_answers).rule_hits.is_empty());
    }

    #[test]
    fn a_cap_of_zero_gives_zero() {
        let mut scheme = DEFAULT.clone();
        let living = scheme
            .sections
            .iter()
            .position(|s| s.key == "living")
            .unwrap();
        scheme.sections[living].cap = Some(0);
        let facts = household(true, vec![unable(65)]);
        let a = assess(&scheme, &facts, &answers(&[("food_insufficient", yes())]));
        // Nobody able +20, food +5 cut to 0, no income +15.
        assert_eq!(a.score, 35);
        let lines: Vec<&str> = a.explanation.iter().map(|l| l.en.as_str()).collect();
        assert_eq!(
            lines[1..3],
            ["Living: food insufficient +5", "Living: cap 0 -5"]
        );
        let living = a.sections.iter().find(|s| s.key == "living").unwrap();
        assert_eq!((living.raw, living.points), (5, 0));
    }

    #[test]
    fn an_empty_household_counts_as_one() {
        let a = assess(&DEFAULT, &household(true, vec![]), &income_of(1, 30_000));
        assert_eq!(a.income.members, 1);
        assert_eq!(a.income.per_person_monthly_fen, 30_000);
    }

    #[test]
    fn unanswered_items_count_as_nothing() {
        let a = assess(
            &DEFAULT,
            &household(true, vec![unable(65)]),
            &Answers::new(),
        );
        // Nobody able +20, no income +15; no hard rule can hold on missing answers.
        assert_eq!((a.score, a.outcome), (35, Outcome::NotRecommended));
        assert!(a.rule_hits.is_empty());
    }

    #[test]
    fn assessments_serialize_as_json() {
        let facts = household(true, vec![plain(40, Full)]);
        let a = assess(
            &DEFAULT,
            &facts,
            &answers(&[("refused_investigation", yes())]),
        );
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["outcome"], "rejected_by_rule");
        assert_eq!(json["class"], "C");
        assert_eq!(json["rule_hits"][0]["effect"], "reject");
        assert_eq!(json["income"]["status"], "eligible");
        let back: Assessment = serde_json::from_value(json).unwrap();
        assert_eq!(back, a);
    }

    const INCOME_ITEMS: [&str; 9] = [
        "wage_income",
        "agricultural_income",
        "business_income",
        "property_income",
        "transfer_income",
        "pension_income",
        "awards_scholarships",
        "public_assistance",
        "basic_pension_subsidy",
    ];

    fn arb_member() -> impl Strategy<Value = MemberFacts> {
        (
            0_u32..100,
            prop_oneof![Just(Full), Just(Partial), Just(LabourCapacity::None)],
            proptest::option::of(1_u8..=4),
            any::<bool>(),
            prop_oneof![
                Just(Student::None),
                Just(Student::Primary),
                Just(Student::Junior),
                Just(Student::Senior),
                Just(Student::University),
            ],
        )
            .prop_map(|(age, labour, grade, chronic, student)| {
                member(age, labour, grade, chronic, student)
            })
    }

    fn arb_household() -> impl Strategy<Value = HouseholdFacts> {
        (any::<bool>(), prop::collection::vec(arb_member(), 1..8))
            .prop_map(|(urban, members)| household(urban, members))
    }

    /// Answers spread so that every band, cap, floor and test outcome occurs.
    fn arb_answers() -> impl Strategy<Value = Answers> {
        (
            prop::collection::vec(prop_oneof![Just(0_i64), 0_i64..2_000_000], 9),
            prop::collection::vec(prop_oneof![Just(0_i64), 0_i64..1_000_000], 3),
            prop::sample::select(vec![
                "dangerous_c",
                "dangerous_d",
                "poor",
                "adequate",
                "good",
            ]),
            (any::<bool>(), any::<bool>()),
            (0_i64..8, 0_i64..10, 0_i64..3),
            (0_i64..3_000_000, 0_i64..10_000_000, 0_i64..3),
            prop::collection::vec(prop::bool::weighted(0.1), 5),
        )
            .prop_map(
                |(income, costs, housing, (food, clothing), assets, wealth, flags)| {
                    let mut a = answers(&[
                        ("medical_costs", money(costs[0])),
                        ("education_costs", money(costs[1])),
                        ("rent_costs", money(costs[2])),
                        ("housing_condition", choice(housing)),
                        ("food_insufficient", AnswerValue::Bool(food)),
                        ("clothing_inadequate", AnswerValue::Bool(clothing)),
                        ("large_livestock", count(assets.0)),
                        ("non_essential_appliances", count(assets.1)),
                        ("livelihood_vehicles", count(assets.2)),
                        ("financial_assets", money(wealth.0)),
                        ("vehicle_highest_value", money(wealth.1)),
                        ("homes", count(wealth.2)),
                        ("commercial_property", AnswerValue::Bool(flags[0])),
                        ("business_with_employees", AnswerValue::Bool(flags[1])),
                        ("refused_investigation", AnswerValue::Bool(flags[2])),
                        ("relative_official", AnswerValue::Bool(flags[3])),
                        ("cars_not_needed", count(i64::from(flags[4]))),
                    ]);
                    for (key, fen) in INCOME_ITEMS.iter().zip(income) {
                        a.insert((*key).into(), money(fen));
                    }
                    a
                },
            )
    }

    fn with(answers: &Answers, key: &str, value: AnswerValue) -> Answers {
        let mut changed = answers.clone();
        changed.insert(key.into(), value);
        changed
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn score_stays_within_caps_floors_and_0_to_100(h in arb_household(), a in arb_answers()) {
            let result = assess(&DEFAULT, &h, &a);
            prop_assert!((0..=100).contains(&result.score));
            for scored in &result.sections {
                let section = DEFAULT.sections.iter().find(|s| s.key == scored.key).unwrap();
                prop_assert!(section.cap.is_none_or(|cap| scored.points <= cap.into()));
                prop_assert!(section.floor.is_none_or(|floor| scored.points >= floor.into()));
            }
            let explained: i64 = result.explanation.iter().map(|l| l.points).sum();
            prop_assert_eq!(explained, i64::from(result.score));
        }

        #[test]
        fn adding_a_disability_never_lowers_the_score(
            h in arb_household(),
            a in arb_answers(),
            who in any::<prop::sample::Index>(),
            grade in 1_u8..=4,
        ) {
            let i = who.index(h.members.len());
            let mut before = h.clone();
            before.members[i].disability_grade = None;
            let mut after = before.clone();
            after.members[i].disability_grade = Some(grade);
            prop_assert!(assess(&DEFAULT, &after, &a).score >= assess(&DEFAULT, &before, &a).score);
        }

        #[test]
        fn raising_income_never_raises_the_score(
            h in arb_household(),
            a in arb_answers(),
            item in prop::sample::select(INCOME_ITEMS.to_vec()),
            extra in 1_i64..5_000_000,
        ) {
            let current = a[item].as_integer().unwrap();
            let richer = with(&a, item, money(current + extra));
            prop_assert!(assess(&DEFAULT, &h, &richer).score <= assess(&DEFAULT, &h, &a).score);
        }

        #[test]
        fn county_visit_never_rejects(h in arb_household(), a in arb_answers()) {
            let plain = assess(&DEFAULT, &h, &with(&a, "relative_official", AnswerValue::Bool(false)));
            let flagged = assess(&DEFAULT, &h, &with(&a, "relative_official", yes()));
            prop_assert!(flagged.county_visit);
            prop_assert_eq!(flagged.outcome, plain.outcome);
            prop_assert_eq!(flagged.score, plain.score);
            prop_assert_eq!(flagged.payment_fen, plain.payment_fen);
        }

        #[test]
        fn any_reject_wins_over_any_score(
            h in arb_household(),
            a in arb_answers(),
            trigger in prop::sample::select(vec![
                ("refused_investigation", yes()),
                ("commercial_property", yes()),
                ("business_with_employees", yes()),
                ("homes", count(2)),
                ("cars_not_needed", count(1)),
                ("vehicle_highest_value", money(8_000_001)),
                // Above 24 × 75,000 × 7 members.
                ("financial_assets", money(12_600_001)),
            ]),
        ) {
            let before = assess(&DEFAULT, &h, &a);
            let rejected = assess(&DEFAULT, &h, &with(&a, trigger.0, trigger.1));
            prop_assert_eq!(rejected.outcome, Outcome::RejectedByRule);
            prop_assert_eq!(rejected.payment_fen, None);
            prop_assert_eq!(rejected.score, before.score);
            prop_assert!(rejected.rule_hits.iter().any(|hit| hit.effect == Effect::Reject));
        }

        #[test]
        fn payment_is_at_least_the_floor(h in arb_household(), a in arb_answers()) {
            let result = assess(&DEFAULT, &h, &a);
            if let Some(payment) = result.payment_fen {
                let income = &result.income;
                let members = i64::from(income.members);
                let s = income.standard_fen;
                // Both default standards make 0.2 S a whole yuan, so no rounding at the floor.
                prop_assert!(payment >= members * s / 5);
                prop_assert!(payment <= members * s);
                prop_assert_eq!(payment % 100, 0);
                if income.per_person_monthly_fen * 5 >= 4 * s {
                    prop_assert_eq!(payment, members * s / 5);
                }
            }
        }

        #[test]
        fn income_test_is_exact_for_any_standard(
            s in 1_i64..200_000,
            members in 1_usize..6,
            urban in any::<bool>(),
            offset in -2_i64..=2,
            near_one_and_a_half in any::<bool>(),
        ) {
            let mut scheme = DEFAULT.clone();
            scheme.income_test.standard_fen = crate::scoring::Standard { urban: s, rural: s };
            let p = (if near_one_and_a_half { s * 3 / 2 } else { s } + offset).max(0);
            let status = assess(&scheme, &workers(urban, members), &income_of(members, p)).income.status;
            let expected = if p <= s {
                IncomeStatus::Eligible
            } else if 2 * p <= 3 * s {
                IncomeStatus::NearPoverty
            } else {
                IncomeStatus::NotEligible
            };
            prop_assert_eq!(status, expected);
        }
    }
}
