//! Words for the console's codes, Chinese and English. The codes themselves stay visible
//! next to them where a reviewer may need to quote one.

use super::layout::Lang;
use crate::cases::lifecycle::{Action, State};

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

/// 123456 fen → "1234.56".
pub fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}
