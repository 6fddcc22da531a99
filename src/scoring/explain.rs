//! The bilingual lines that explain a score to a reviewer and to the applicant.

use serde::{Deserialize, Serialize};

use super::scheme::Section;

/// One line per rule that gave points, and one per cut made by a cap or floor, e.g.
/// `住房: 危房(C级) +15` / `Housing: dangerous house (C) +15`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplanationLine {
    /// The rule id, or `<section>.cap`, `<section>.floor`, `total.cap`, `total.floor`.
    pub source: String,
    /// What the line adds to the score (negative for deductions and cuts).
    pub points: i64,
    pub zh: String,
    pub en: String,
}

impl ExplanationLine {
    /// `住房: 危房(C级) +15`.
    pub(crate) fn rule(section: &Section, source: &str, zh: &str, en: &str, points: i64) -> Self {
        ExplanationLine {
            source: source.to_owned(),
            points,
            zh: text(&section.label_zh, zh, None, points),
            en: text(&section.label_en, en, None, points),
        }
    }

    /// `抚养: 70岁及以上成员 ×2 +8`.
    pub(crate) fn units(
        section: &Section,
        source: &str,
        zh: &str,
        en: &str,
        units: i64,
        points: i64,
    ) -> Self {
        ExplanationLine {
            source: source.to_owned(),
            points,
            zh: text(&section.label_zh, zh, Some(units), points),
            en: text(&section.label_en, en, Some(units), points),
        }
    }

    /// `健康: 上限25分 -7`.
    pub(crate) fn cap(section: &Section, cap: i32, points: i64) -> Self {
        ExplanationLine {
            source: format!("{}.cap", section.key),
            points,
            zh: limit_text(&section.label_zh, "上限", cap, "分", points),
            en: limit_text(&section.label_en, "cap ", cap, "", points),
        }
    }

    /// `资产: 下限-15分 +4`.
    pub(crate) fn floor(section: &Section, floor: i32, points: i64) -> Self {
        ExplanationLine {
            source: format!("{}.floor", section.key),
            points,
            zh: limit_text(&section.label_zh, "下限", floor, "分", points),
            en: limit_text(&section.label_en, "floor ", floor, "", points),
        }
    }

    /// `总分: 上限100分 -10`.
    pub(crate) fn total_cap(cap: i32, points: i64) -> Self {
        ExplanationLine {
            source: "total.cap".into(),
            points,
            zh: limit_text("总分", "上限", cap, "分", points),
            en: limit_text("Total", "cap ", cap, "", points),
        }
    }

    /// `总分: 下限0分 +3`.
    pub(crate) fn total_floor(floor: i32, points: i64) -> Self {
        ExplanationLine {
            source: "total.floor".into(),
            points,
            zh: limit_text("总分", "下限", floor, "分", points),
            en: limit_text("Total", "floor ", floor, "", points),
        }
    }
}

/// `{section}: {label}[ ×{units}] {points:+}`, built into one exact allocation: every rule line
/// of every assessment goes through here, and `format!` (growing the string, padding integers)
/// was most of an assessment's cost.
fn text(section: &str, label: &str, units: Option<i64>, points: i64) -> String {
    // ": " + " ×" (3 bytes) + " " + two signed 64-bit numbers (at most 20 bytes each).
    let mut line = String::with_capacity(section.len() + label.len() + 6 + 40);
    line.push_str(section);
    line.push_str(": ");
    line.push_str(label);
    if let Some(units) = units {
        line.push_str(" ×");
        push_integer(&mut line, units, false);
    }
    line.push(' ');
    push_integer(&mut line, points, true);
    line
}

/// `{section}: {before}{limit}{after} {points:+}`, e.g. `健康: 上限25分 -7`.
fn limit_text(section: &str, before: &str, limit: i32, after: &str, points: i64) -> String {
    let mut line = String::with_capacity(section.len() + before.len() + after.len() + 4 + 40);
    line.push_str(section);
    line.push_str(": ");
    line.push_str(before);
    push_integer(&mut line, limit.into(), false);
    line.push_str(after);
    line.push(' ');
    push_integer(&mut line, points, true);
    line
}

fn push_integer(line: &mut String, value: i64, plus_sign: bool) {
    if value < 0 {
        line.push('-');
    } else if plus_sign {
        line.push('+');
    }
    let mut digits = [0_u8; 20];
    let mut rest = value.unsigned_abs();
    let mut start = digits.len();
    loop {
        start -= 1;
        // `rest % 10` is below 10, so the cast cannot truncate.
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    line.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_format() {
        for (units, points) in [(None, 0), (Some(2), 8), (None, -3), (Some(1), i64::MIN)] {
            let expected = match units {
                Some(u) => format!("住房: 危房 ×{u} {points:+}"),
                None => format!("住房: 危房 {points:+}"),
            };
            assert_eq!(text("住房", "危房", units, points), expected);
        }
        assert_eq!(
            text("Assets", "large livestock", Some(5), -10),
            "Assets: large livestock ×5 -10"
        );
    }
}
