//! Checklist answers: parsing the phone's JSON against a scheme, reporting every problem.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::interval::Exact;
use super::scheme::{Item, Scheme, ValueType};

/// One typed answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerValue {
    Bool(bool),
    /// The chosen option's key.
    Choice(String),
    Integer(i64),
    /// Whole fen.
    Money(i64),
    /// Fixed point: the answer × 10^decimals of its item (2.5 mu with 1 decimal is 25).
    Number(i64),
}

impl AnswerValue {
    /// The value of an integer, money or number answer, in its item's unit.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            AnswerValue::Integer(n) | AnswerValue::Money(n) | AnswerValue::Number(n) => Some(*n),
            AnswerValue::Bool(_) | AnswerValue::Choice(_) => None,
        }
    }
}

/// Answers by item key. Unanswered optional items are simply absent.
pub type Answers = BTreeMap<String, AnswerValue>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerProblem {
    pub code: AnswerProblemCode,
    /// The item key, absent when the whole document is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub message_en: String,
    pub message_zh: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerProblemCode {
    NotAnObject,
    UnknownItem,
    WrongType,
    UnknownOption,
    OutOfRange,
    MissingRequired,
}

/// Checks the phone's answers (a JSON object: item key → value) against the scheme and
/// returns them typed, or every problem found.
///
/// Expected JSON per item type: `bool` true/false; `choice` an option key string; `integer`
/// and `money` (fen) whole numbers; `number` a decimal with at most the item's `decimals`
/// places. `null` counts as unanswered. The scheme is assumed valid ([`super::validate`]).
pub fn validate_answers(scheme: &Scheme, json: &Value) -> Result<Answers, Vec<AnswerProblem>> {
    let Some(object) = json.as_object() else {
        return Err(vec![AnswerProblem {
            code: AnswerProblemCode::NotAnObject,
            item: None,
            message_en: "Answers must be a JSON object of item key to value".into(),
            message_zh: "答案应为以项目键为键的 JSON 对象".into(),
        }]);
    };
    let mut answers = Answers::new();
    let mut problems = Vec::new();
    for (key, value) in object {
        if value.is_null() {
            continue;
        }
        let Some(item) = scheme.item(key) else {
            problems.push(problem(
                AnswerProblemCode::UnknownItem,
                key,
                format!("`{key}` is not an item of scheme `{}`", scheme.id),
                format!("“{key}”不是评分方案“{}”中的项目", scheme.id),
            ));
            continue;
        };
        match parse_value(item, value) {
            Ok(answer) => {
                answers.insert(key.clone(), answer);
            }
            Err(p) => problems.push(p),
        }
    }
    for item in scheme.items.iter().filter(|item| item.required) {
        if object.get(&item.key).is_none_or(Value::is_null) {
            problems.push(problem(
                AnswerProblemCode::MissingRequired,
                &item.key,
                format!("`{}` ({}) must be answered", item.key, item.label_en),
                format!("“{}”({})为必填项", item.key, item.label_zh),
            ));
        }
    }
    if problems.is_empty() {
        Ok(answers)
    } else {
        Err(problems)
    }
}

fn parse_value(item: &Item, value: &Value) -> Result<AnswerValue, AnswerProblem> {
    let answer = match item.value_type {
        ValueType::Bool => value.as_bool().map(AnswerValue::Bool),
        ValueType::Choice => match value.as_str() {
            Some(choice) if item.option(choice).is_some() => {
                return Ok(AnswerValue::Choice(choice.to_owned()));
            }
            Some(choice) => {
                let options = option_keys(item);
                return Err(problem(
                    AnswerProblemCode::UnknownOption,
                    &item.key,
                    format!(
                        "`{}` has no option `{choice}`; choose one of: {options}",
                        item.key
                    ),
                    format!("“{}”没有选项“{choice}”，可选：{options}", item.key),
                ));
            }
            None => None,
        },
        ValueType::Integer => value.as_i64().map(AnswerValue::Integer),
        ValueType::Money => value.as_i64().map(AnswerValue::Money),
        ValueType::Number => value
            .as_number()
            .and_then(|n| fixed_point(n, item.decimals.unwrap_or(0)))
            .map(AnswerValue::Number),
    };
    let Some(answer) = answer else {
        let (en, zh) = expected(item);
        return Err(problem(
            AnswerProblemCode::WrongType,
            &item.key,
            format!("`{}` must be {en}", item.key),
            format!("“{}”应为{zh}", item.key),
        ));
    };
    if let (Some(range), Some(n)) = (&item.range, answer.as_integer())
        && !range.contains(Exact::whole(n))
    {
        return Err(problem(
            AnswerProblemCode::OutOfRange,
            &item.key,
            format!("`{}` must be in {range} (got {n})", item.key),
            format!("“{}”应在 {range} 范围内(实际为 {n})", item.key),
        ));
    }
    Ok(answer)
}

/// The exact fixed-point value of a JSON number with at most `decimals` places. A non-integer
/// JSON number arrives as the nearest `f64`, whose shortest round-trip rendering is the decimal
/// the phone wrote, so parsing that text recovers it without float arithmetic.
fn fixed_point(number: &Number, decimals: u8) -> Option<i64> {
    let scale = 10_i64.checked_pow(decimals.into())?;
    if let Some(whole) = number.as_i64() {
        return whole.checked_mul(scale);
    }
    let text = number.to_string();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > usize::from(decimals) || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{fraction:0<width$}", width = usize::from(decimals));
    let magnitude =
        whole
            .parse::<i64>()
            .ok()?
            .checked_mul(scale)?
            .checked_add(if padded.is_empty() {
                0
            } else {
                padded.parse::<i64>().ok()?
            })?;
    Some(if negative { -magnitude } else { magnitude })
}

fn expected(item: &Item) -> (String, String) {
    match item.value_type {
        ValueType::Bool => ("true or false".into(), "是或否(true/false)".into()),
        ValueType::Choice => {
            let options = option_keys(item);
            (
                format!("one of: {options}"),
                format!("以下选项之一：{options}"),
            )
        }
        ValueType::Integer => ("a whole number".into(), "整数".into()),
        ValueType::Money => (
            "a whole number of fen (1/100 yuan)".into(),
            "以分为单位的整数".into(),
        ),
        ValueType::Number => {
            let decimals = item.decimals.unwrap_or(0);
            (
                format!("a number with at most {decimals} decimal places"),
                format!("最多{decimals}位小数的数字"),
            )
        }
    }
}

fn option_keys(item: &Item) -> String {
    item.options
        .iter()
        .map(|o| o.key.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn problem(code: AnswerProblemCode, item: &str, en: String, zh: String) -> AnswerProblem {
    AnswerProblem {
        code,
        item: Some(item.to_owned()),
        message_en: en,
        message_zh: zh,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn codes(result: Result<Answers, Vec<AnswerProblem>>) -> Vec<(AnswerProblemCode, String)> {
        result
            .expect_err("answers should be refused")
            .into_iter()
            .map(|p| (p.code, p.item.unwrap_or_default()))
            .collect()
    }

    fn complete() -> Value {
        json!({
            "financial_assets": 0, "cars_not_needed": 0, "vehicle_highest_value": 0, "homes": 1,
            "commercial_property": false, "business_with_employees": false,
            "refused_investigation": false, "relative_official": false,
            "wage_income": 0, "agricultural_income": 0, "business_income": 0,
            "property_income": 0, "transfer_income": 0, "pension_income": 0,
            "awards_scholarships": 0, "public_assistance": 0, "basic_pension_subsidy": 0,
            "medical_costs": 0, "education_costs": 0, "housing_condition": "poor",
            "rent_costs": 0, "food_insufficient": true, "clothing_inadequate": false,
            "large_livestock": 2, "non_essential_appliances": 0, "livelihood_vehicles": 0,
            "farmland_mu": 2.5, "disability_certificate_seen": null,
        })
    }

    #[test]
    fn complete_answers_are_typed() {
        let answers = validate_answers(&Scheme::default_scheme(), &complete()).unwrap();
        assert_eq!(
            answers["housing_condition"],
            AnswerValue::Choice("poor".into())
        );
        assert_eq!(answers["food_insufficient"], AnswerValue::Bool(true));
        assert_eq!(answers["large_livestock"], AnswerValue::Integer(2));
        assert_eq!(answers["medical_costs"], AnswerValue::Money(0));
        assert_eq!(answers["farmland_mu"], AnswerValue::Number(25));
        assert!(!answers.contains_key("disability_certificate_seen"));
    }

    #[test]
    fn every_problem_is_listed_with_both_languages() {
        let mut answers = complete();
        let object = answers.as_object_mut().unwrap();
        object.insert("savings_book".into(), json!(3));
        object.insert("homes".into(), json!("two"));
        object.insert("housing_condition".into(), json!("palace"));
        object.insert("large_livestock".into(), json!(501));
        object.insert("medical_costs".into(), json!(12.5));
        object.insert("farmland_mu".into(), json!(2.55));
        object.remove("wage_income");
        object.insert("food_insufficient".into(), Value::Null);
        let problems = validate_answers(&Scheme::default_scheme(), &answers).unwrap_err();
        assert!(
            problems
                .iter()
                .all(|p| !p.message_en.is_empty() && !p.message_zh.is_empty())
        );
        let mut got: Vec<_> = problems
            .into_iter()
            .map(|p| (p.code, p.item.unwrap()))
            .collect();
        got.sort_by(|a, b| a.1.cmp(&b.1));
        use AnswerProblemCode::*;
        assert_eq!(
            got,
            vec![
                (WrongType, "farmland_mu".into()),
                (MissingRequired, "food_insufficient".into()),
                (WrongType, "homes".into()),
                (UnknownOption, "housing_condition".into()),
                (OutOfRange, "large_livestock".into()),
                (WrongType, "medical_costs".into()),
                (UnknownItem, "savings_book".into()),
                (MissingRequired, "wage_income".into()),
            ]
        );
    }

    #[test]
    fn not_an_object_is_refused() {
        assert_eq!(
            codes(validate_answers(&Scheme::default_scheme(), &json!([1, 2]))),
            vec![(AnswerProblemCode::NotAnObject, String::new())]
        );
    }

    #[test]
    fn numbers_are_read_as_exact_decimals() {
        let cases = [
            (json!(0.1), 1, Some(1)),
            (json!(2.50), 1, Some(25)),
            (json!(7), 2, Some(700)),
            (json!(-1.25), 2, Some(-125)),
            (json!(1000.05), 2, Some(100_005)),
            (json!(0.05), 1, None),
            (json!(1.5), 0, None),
        ];
        for (value, decimals, expected) in cases {
            assert_eq!(
                fixed_point(value.as_number().unwrap(), decimals),
                expected,
                "{value} with {decimals} decimals"
            );
        }
    }
}
