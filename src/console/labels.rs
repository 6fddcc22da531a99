//! Words for the console's codes, Chinese and English. The codes themselves stay visible
//! next to them where a reviewer may need to quote one.

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

use super::layout::Lang;
use crate::cases::lifecycle::{Action, State};
use crate::cases::workdays::china_time;
use crate::households::{LabourCapacity, Relation};
use crate::visits::checks::{Flag, FlagKind};

pub fn state(lang: Lang, state: State) -> &'static str {
    match lang {
        Lang::Zh => state.label_zh(),
        Lang::En => state.as_str(),
    }
}

pub fn flag(lang: Lang, kind: &str) -> &str {
    let (zh, en) = match kind {
        "no_gps" => ("照片无定位", "photo without GPS"),
        "far_from_household" => ("离户过远", "far from the household"),
        "outside_village" => ("不在本村范围", "outside the village"),
        "capture_time_outside_visit" => ("拍摄时间不在走访期间", "taken outside the visit"),
        "suspect_location" => ("疑似虚拟定位", "suspect location"),
        "duplicate_photo" => ("照片重复使用", "photo reused"),
        "similar_photo" => ("照片疑似翻拍", "look-alike photo"),
        "missing_required_photo" => ("缺少必拍照片", "required photo missing"),
        "single_staff" => ("仅一人入户", "only one staff member"),
        other => return other,
    };
    lang.pick(zh, en)
}

/// What a flag measured, in a sentence; `photo_number` names a photo by its place on the page.
/// A value of a shape this version does not know is shown as it is stored.
pub fn measured(lang: Lang, flag: &Flag, photo_number: impl Fn(&str) -> Option<usize>) -> String {
    let m = &flag.measured;
    let number = |key: &str| m[key].as_f64();
    let time = |key: &str| {
        m[key]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| china_minute(t.naive_utc()))
    };
    let text = match flag.kind {
        FlagKind::NoGps => Some(
            lang.pick("照片未记录定位", "the photo carries no position")
                .into(),
        ),
        FlagKind::FarFromHousehold => number("distance_m").map(|d| match lang {
            Lang::Zh => format!("距登记住址 {d:.0} 米"),
            Lang::En => format!("{d:.0} m from the registered home"),
        }),
        FlagKind::OutsideVillage => number("lat")
            .zip(number("lon"))
            .map(|(lat, lon)| match lang {
                Lang::Zh => format!("拍摄位置 {lat:.5}, {lon:.5} 在村界之外"),
                Lang::En => format!("taken at {lat:.5}, {lon:.5}, outside the village boundary"),
            }),
        FlagKind::SuspectLocation => match (number("photo_to_phone_fix_m"), number("accuracy_m")) {
            (Some(d), _) => Some(match lang {
                Lang::Zh => format!("照片位置距手机定位 {d:.0} 米"),
                Lang::En => format!("{d:.0} m from the phone's own fix"),
            }),
            (None, Some(accuracy)) => {
                Some(match (lang, m["mock_location"].as_bool() == Some(true)) {
                    (Lang::Zh, true) => format!("手机报告模拟定位，精度 {accuracy:.0} 米"),
                    (Lang::Zh, false) => format!("手机定位精度 {accuracy:.0} 米"),
                    (Lang::En, true) => {
                        format!("the phone reported a mock location, accuracy {accuracy:.0} m")
                    }
                    (Lang::En, false) => format!("phone fix accuracy {accuracy:.0} m"),
                })
            }
            (None, None) => None,
        },
        FlagKind::CaptureTimeOutsideVisit => time("visit_started_at")
            .zip(time("visit_ended_at"))
            .map(|(from, to)| match (lang, time("captured_at")) {
                (Lang::Zh, Some(at)) => format!("拍摄于 {at}，走访 {from} 至 {to}（北京时间）"),
                (Lang::Zh, None) => format!("照片没有拍摄时间，走访 {from} 至 {to}（北京时间）"),
                (Lang::En, Some(at)) => format!("taken {at}, visit {from} to {to} (Beijing time)"),
                (Lang::En, None) => format!("no capture time, visit {from} to {to} (Beijing time)"),
            }),
        FlagKind::DuplicatePhoto | FlagKind::SimilarPhoto => m["other_household"]
            .as_str()
            .zip(number("bits"))
            .map(|(other, bits)| {
                let sentence = match (lang, flag.kind == FlagKind::DuplicatePhoto) {
                    (Lang::Zh, true) => format!("与另一户（{other}）已用的照片完全相同"),
                    (Lang::Zh, false) => {
                        format!("与另一户（{other}）的照片相差 {bits} 位（感知哈希）")
                    }
                    (Lang::En, true) => {
                        format!("the same file as a photo of another household ({other})")
                    }
                    (Lang::En, false) => format!(
                        "{bits} bits (perceptual hash) from a photo of another household ({other})"
                    ),
                };
                // Only the closest few households get a flag each; say how many matched.
                match number("households").filter(|&n| n > 1.0) {
                    Some(n) => match lang {
                        Lang::Zh => format!("{sentence}；共有 {n} 户的照片与之相符"),
                        Lang::En => format!("{sentence}; {n} households' photos match in all"),
                    },
                    None => sentence,
                }
            }),
        FlagKind::MissingRequiredPhoto => m["kinds"].as_array().map(|kinds| {
            let kinds: Vec<&str> = kinds
                .iter()
                .filter_map(Value::as_str)
                .map(|k| photo_kind(lang, k))
                .collect();
            format!(
                "{}{}",
                lang.pick("缺少：", "missing: "),
                kinds.join(lang.pick("、", ", "))
            )
        }),
        FlagKind::SingleStaff => number("staff").map(|staff| match lang {
            Lang::Zh => format!("入户工作人员 {staff} 人（至少 2 人）"),
            Lang::En => format!("{staff} staff member(s) on the visit (at least 2)"),
        }),
    };
    let text = text.unwrap_or_else(|| m.to_string());
    match flag.photo.as_deref().and_then(photo_number) {
        Some(n) => format!(
            "{}{n}{}{text}",
            lang.pick("照片 ", "photo "),
            lang.pick("：", ": ")
        ),
        None => text,
    }
}

pub fn relation(lang: Lang, relation: &str) -> &str {
    let Some(known) = Relation::parse(relation) else {
        return relation;
    };
    let (zh, en) = match known {
        Relation::Head => ("户主", "head"),
        Relation::Spouse => ("配偶", "spouse"),
        Relation::Child => ("子女", "child"),
        Relation::Parent => ("父母", "parent"),
        Relation::Grandchild => ("孙子女", "grandchild"),
        Relation::Sibling => ("兄弟姐妹", "sibling"),
        Relation::Other => ("其他", "other"),
    };
    lang.pick(zh, en)
}

pub fn labour_capacity(lang: Lang, capacity: &str) -> &str {
    let Some(known) = LabourCapacity::parse(capacity) else {
        return capacity;
    };
    let (zh, en) = match known {
        LabourCapacity::Full => ("有劳动能力", "full"),
        LabourCapacity::Partial => ("部分丧失劳动能力", "partial"),
        LabourCapacity::None => ("无劳动能力", "none"),
    };
    lang.pick(zh, en)
}

pub fn action(lang: Lang, action: Action) -> &'static str {
    let (zh, en) = match action {
        Action::Accept => ("受理", "Accept"),
        Action::Assign => ("指派入户", "Assign visit"),
        Action::SubmitVisit => ("提交走访", "Submit visit"),
        Action::StartReview => ("开始审核", "Start review"),
        Action::Recommend => ("同意推荐", "Recommend"),
        Action::Reject => ("不予推荐", "Reject"),
        Action::Return => ("退回补查", "Return to the phone"),
        Action::PublishNotice => ("公示", "Publish notice"),
        Action::EndNotice => ("结束公示", "End notice"),
        Action::Reinvestigate => ("重新调查", "Reinvestigate"),
        Action::Confirm => ("审批确认", "Confirm"),
        Action::Agree => ("抽查维持", "Uphold"),
        Action::Overturn => ("抽查纠正", "Overturn"),
    };
    lang.pick(zh, en)
}

/// A case history entry's event: a lifecycle action, or one of the events that open a case.
pub fn event(lang: Lang, event: &str) -> &str {
    let (zh, en) = match event {
        "apply" => ("申请", "application"),
        "schedule_recheck" => ("定期复核立案", "re-check opened"),
        "open_spot_check" => ("抽查立案", "spot check opened"),
        "open_correction" => ("纠正立案", "correction opened"),
        other => {
            return serde_json::from_value(Value::String(other.to_owned()))
                .map_or(other, |known| action(lang, known));
        }
    };
    lang.pick(zh, en)
}

pub fn band(lang: Lang, band: &str) -> &str {
    let (zh, en) = match band {
        "recommend" => ("建议纳入", "recommend"),
        "borderline" => ("临界", "borderline"),
        "not_recommended" => ("不建议", "not recommended"),
        other => return other,
    };
    lang.pick(zh, en)
}

pub fn photo_kind(lang: Lang, kind: &str) -> &str {
    let (zh, en) = match kind {
        "house_exterior" => ("房屋外观", "house exterior"),
        "kitchen" => ("厨房", "kitchen"),
        "bedroom" => ("卧室", "bedroom"),
        "members_with_staff" => ("家庭成员与工作人员合影", "members with staff"),
        "documents" => ("证件材料", "documents"),
        other => return other,
    };
    lang.pick(zh, en)
}

pub fn objection_outcome(lang: Lang, status: &str) -> &str {
    let (zh, en) = match status {
        "open" => ("待处理", "open"),
        "unfounded" => ("查无实据", "unfounded"),
        "reinvestigate" => ("重新调查", "reinvestigate"),
        "appraisal" => ("提交民主评议", "democratic appraisal"),
        other => return other,
    };
    lang.pick(zh, en)
}

/// A stored UTC instant as a reviewer reads it: China's clocks, to the minute.
pub fn china_minute(at: NaiveDateTime) -> String {
    china_time(at.and_utc())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// 123456 fen → "1234.56".
pub fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn flag(kind: FlagKind, photo: Option<&str>, measured: Value) -> Flag {
        Flag {
            kind,
            photo: photo.map(str::to_owned),
            measured,
        }
    }

    fn number(digest: &str) -> Option<usize> {
        (digest == "b").then_some(2)
    }

    #[test]
    fn measured_values_read_as_sentences_naming_the_photo_by_its_number() {
        let far = flag(
            FlagKind::FarFromHousehold,
            Some("b"),
            json!({"distance_m": 1234.5}),
        );
        assert_eq!(
            measured(Lang::Zh, &far, number),
            "照片 2：距登记住址 1234 米"
        );
        assert_eq!(
            measured(Lang::En, &far, number),
            "photo 2: 1234 m from the registered home"
        );
        // Instants are shown on China's clocks.
        let late = flag(
            FlagKind::CaptureTimeOutsideVisit,
            Some("unknown digest"),
            json!({"captured_at": null, "visit_started_at": "2026-11-20T01:00:00+00:00",
                   "visit_ended_at": "2026-11-20T02:30:00+00:00"}),
        );
        assert_eq!(
            measured(Lang::Zh, &late, number),
            "照片没有拍摄时间，走访 2026-11-20 09:00 至 2026-11-20 10:30（北京时间）"
        );
        let missing = flag(
            FlagKind::MissingRequiredPhoto,
            None,
            json!({"kinds": ["kitchen", "bedroom"]}),
        );
        assert_eq!(measured(Lang::Zh, &missing, number), "缺少：厨房、卧室");
        let mock = flag(
            FlagKind::SuspectLocation,
            None,
            json!({"mock_location": true, "accuracy_m": 12.0}),
        );
        assert_eq!(
            measured(Lang::En, &mock, number),
            "the phone reported a mock location, accuracy 12 m"
        );
        let mut reused = flag(
            FlagKind::SimilarPhoto,
            Some("b"),
            json!({"other_household": "h7", "other_visit": "v", "other_photo": "z", "bits": 3, "households": 12}),
        );
        assert_eq!(
            measured(Lang::Zh, &reused, number),
            "照片 2：与另一户（h7）的照片相差 3 位（感知哈希）；共有 12 户的照片与之相符"
        );
        // Flags stored before the count was kept read as before.
        reused
            .measured
            .as_object_mut()
            .unwrap()
            .remove("households");
        assert_eq!(
            measured(Lang::En, &reused, number),
            "photo 2: 3 bits (perceptual hash) from a photo of another household (h7)"
        );
    }

    #[test]
    fn a_measured_value_of_an_unknown_shape_is_shown_as_stored() {
        let odd = flag(FlagKind::FarFromHousehold, None, json!({"metres": 5}));
        assert_eq!(measured(Lang::Zh, &odd, number), r#"{"metres":5}"#);
    }

    #[test]
    fn history_events_read_as_words() {
        assert_eq!(event(Lang::Zh, "apply"), "申请");
        assert_eq!(event(Lang::Zh, "publish_notice"), "公示");
        assert_eq!(event(Lang::En, "return"), "Return to the phone");
        assert_eq!(event(Lang::Zh, "something_new"), "something_new");
    }

    #[test]
    fn member_words_fall_back_to_the_stored_code() {
        assert_eq!(relation(Lang::Zh, "head"), "户主");
        assert_eq!(labour_capacity(Lang::Zh, "none"), "无劳动能力");
        assert_eq!(relation(Lang::Zh, "cousin"), "cousin");
    }
}
