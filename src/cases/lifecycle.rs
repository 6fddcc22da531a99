//! The case lifecycle as one table: for which kinds of case, from which state an action leads
//! where, who may take it and what the request must carry. Pure: the service adds
//! jurisdiction, the claim and the guards that need stored facts (open objections, appraisals,
//! notice dates).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;

/// What a case is for. Applications, re-checks and corrections run one cycle to approval or
/// rejection; a spot check is the county's own visit of an approved household and ends by
/// upholding or overturning the approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CaseKind)]
pub enum Kind {
    Application,
    /// The scheduled re-check of an approved household.
    Recheck,
    /// A township's new decision after a spot check overturned its approval.
    Correction,
    SpotCheck,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Application,
        Kind::Recheck,
        Kind::Correction,
        Kind::SpotCheck,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Application => "application",
            Kind::Recheck => "recheck",
            Kind::Correction => "correction",
            Kind::SpotCheck => "spot_check",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == s)
    }
}

/// The queue of township reviewers and the county's own.
pub const TOWNSHIP_QUEUE: &str = "township";
pub const COUNTY_QUEUE: &str = "county";

/// The review queue a case waits in (stored with the case for indexing): a visited spot check
/// waits for the county, not the township whose decision it checks.
pub fn queue(kind: Kind, state: State) -> Option<&'static str> {
    match (kind, state) {
        (Kind::SpotCheck, State::Visited) => Some(COUNTY_QUEUE),
        (Kind::SpotCheck, _) => None,
        (_, State::Visited | State::TownshipReview) => Some(TOWNSHIP_QUEUE),
        (_, State::CountyReview) => Some(COUNTY_QUEUE),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CaseState)]
pub enum State {
    Applied,
    Accepted,
    VisitAssigned,
    Visited,
    TownshipReview,
    Returned,
    Rejected,
    Recommended,
    PublicNotice,
    Reinvestigation,
    CountyReview,
    Approved,
    /// A spot check found the approval right.
    Upheld,
    /// A spot check found the approval wrong; a correction case follows.
    Overturned,
}

impl State {
    pub const ALL: [State; 14] = [
        State::Applied,
        State::Accepted,
        State::VisitAssigned,
        State::Visited,
        State::TownshipReview,
        State::Returned,
        State::Rejected,
        State::Recommended,
        State::PublicNotice,
        State::Reinvestigation,
        State::CountyReview,
        State::Approved,
        State::Upheld,
        State::Overturned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Accepted => "accepted",
            State::VisitAssigned => "visit_assigned",
            State::Visited => "visited",
            State::TownshipReview => "township_review",
            State::Returned => "returned",
            State::Rejected => "rejected",
            State::Recommended => "recommended",
            State::PublicNotice => "public_notice",
            State::Reinvestigation => "reinvestigation",
            State::CountyReview => "county_review",
            State::Approved => "approved",
            State::Upheld => "upheld",
            State::Overturned => "overturned",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            State::Applied => "已申请",
            State::Accepted => "已受理",
            State::VisitAssigned => "待入户",
            State::Visited => "已入户",
            State::TownshipReview => "乡镇审核中",
            State::Returned => "已退回补查",
            State::Rejected => "不予批准",
            State::Recommended => "乡镇已推荐",
            State::PublicNotice => "公示中",
            State::Reinvestigation => "重新调查",
            State::CountyReview => "区县审批中",
            State::Approved => "已批准",
            State::Upheld => "抽查维持",
            State::Overturned => "抽查纠正",
        }
    }

    /// A closed case takes no more actions; the household may then open a new cycle.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            State::Rejected | State::Approved | State::Upheld | State::Overturned
        )
    }

    /// Waiting for a (new) home visit from the phone.
    pub fn awaits_visit(self) -> bool {
        matches!(
            self,
            State::VisitAssigned | State::Returned | State::Reinvestigation
        )
    }

    /// Working days the step that starts in this state may take (DOMAIN "Case lifecycle");
    /// `None` where the step has no deadline of its own (closed, or the notice's own dates).
    pub fn sla_workdays(self) -> Option<u32> {
        match self {
            State::Applied => Some(5),
            State::Accepted => Some(2),
            State::VisitAssigned | State::Reinvestigation => Some(10),
            State::Returned => Some(5),
            State::Visited | State::TownshipReview => Some(10),
            State::Recommended => Some(3),
            State::CountyReview => Some(10),
            State::PublicNotice
            | State::Rejected
            | State::Approved
            | State::Upheld
            | State::Overturned => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CaseAction)]
pub enum Action {
    /// The township accepts an application taken at the window.
    Accept,
    /// Names the coordinator who will visit.
    Assign,
    /// A visit was submitted from the phone.
    SubmitVisit,
    /// A reviewer's first claim opens the review.
    StartReview,
    /// The township recommends approval (public notice follows).
    Recommend,
    Reject,
    /// Back to the phone for another visit, with what to redo.
    Return,
    PublishNotice,
    /// The notice period is over without an open objection.
    EndNotice,
    /// An objection or the county sends the case back for a new visit.
    Reinvestigate,
    /// The county (or a township it delegated to) approves.
    Confirm,
    /// The county's spot check finds the approval right.
    Agree,
    /// The county's spot check finds the approval wrong (with a reason).
    Overturn,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Assign => "assign",
            Action::SubmitVisit => "submit_visit",
            Action::StartReview => "start_review",
            Action::Recommend => "recommend",
            Action::Reject => "reject",
            Action::Return => "return",
            Action::PublishNotice => "publish_notice",
            Action::EndNotice => "end_notice",
            Action::Reinvestigate => "reinvestigate",
            Action::Confirm => "confirm",
            Action::Agree => "agree",
            Action::Overturn => "overturn",
        }
    }

    /// Whether the step's deadline restarts: opening the review keeps the visit's clock.
    pub fn restarts_clock(self) -> bool {
        self != Action::StartReview
    }
}

/// Who takes an action. A township reviewer counts as `DelegatedTownship` only where its
/// county has delegated confirmation and the case does not need the county itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Coordinator,
    Township,
    DelegatedTownship,
    County,
    /// The service itself (notice periods ending).
    System,
}

/// The performer of one request, as the table sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Performer {
    Staff { role: Role, delegated: bool },
    System,
}

impl Who {
    fn admits(self, performer: Performer) -> bool {
        match (self, performer) {
            (Who::System, Performer::System) => true,
            (_, Performer::System) | (Who::System, _) => false,
            (Who::Coordinator, Performer::Staff { role, .. }) => role == Role::Coordinator,
            (Who::Township, Performer::Staff { role, .. }) => role == Role::TownshipReviewer,
            (Who::DelegatedTownship, Performer::Staff { role, delegated }) => {
                role == Role::TownshipReviewer && delegated
            }
            (Who::County, Performer::Staff { role, .. }) => role == Role::CountyOfficer,
        }
    }
}

/// What a request for the action must carry, beyond the action itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// A reason code and text.
    pub reason: bool,
    /// Which checklist items and photo kinds to redo.
    pub redo: bool,
    /// A review decision: the caller holds the claim, names the assessment it saw and
    /// acknowledges every evidence flag.
    pub decision: bool,
}

#[derive(Debug)]
pub struct Transition {
    pub kinds: &'static [Kind],
    pub from: &'static [State],
    pub action: Action,
    pub who: &'static [Who],
    pub to: State,
    pub needs: Needs,
}

const NOTHING: Needs = Needs {
    reason: false,
    redo: false,
    decision: false,
};
const REASON: Needs = Needs {
    reason: true,
    ..NOTHING
};
const DECISION: Needs = Needs {
    decision: true,
    ..NOTHING
};

use State::*;
use Who::*;

/// The kinds that run the application cycle.
const CYCLE: &[Kind] = &[Kind::Application, Kind::Recheck, Kind::Correction];
const SPOT_CHECK: &[Kind] = &[Kind::SpotCheck];

/// The whole lifecycle. Order matters only for reading.
pub const TABLE: &[Transition] = &[
    Transition {
        kinds: CYCLE,
        from: &[Applied],
        action: Action::Accept,
        who: &[Township],
        to: Accepted,
        needs: NOTHING,
    },
    Transition {
        kinds: CYCLE,
        from: &[Applied],
        action: Action::Reject,
        who: &[Township],
        to: Rejected,
        needs: REASON,
    },
    Transition {
        kinds: CYCLE,
        from: &[Accepted],
        action: Action::Assign,
        who: &[Township],
        to: VisitAssigned,
        needs: NOTHING,
    },
    Transition {
        kinds: CYCLE,
        from: &[VisitAssigned, Returned, Reinvestigation],
        action: Action::SubmitVisit,
        who: &[Coordinator],
        to: Visited,
        needs: NOTHING,
    },
    Transition {
        kinds: CYCLE,
        from: &[Visited],
        action: Action::StartReview,
        who: &[Township],
        to: TownshipReview,
        needs: NOTHING,
    },
    Transition {
        kinds: CYCLE,
        from: &[Visited, TownshipReview],
        action: Action::Recommend,
        who: &[Township],
        to: Recommended,
        needs: DECISION,
    },
    Transition {
        kinds: CYCLE,
        from: &[Visited, TownshipReview],
        action: Action::Reject,
        who: &[Township],
        to: Rejected,
        needs: Needs {
            reason: true,
            ..DECISION
        },
    },
    Transition {
        kinds: CYCLE,
        from: &[Visited, TownshipReview],
        action: Action::Return,
        who: &[Township],
        to: Returned,
        needs: Needs {
            reason: true,
            redo: true,
            decision: true,
        },
    },
    Transition {
        kinds: CYCLE,
        from: &[Recommended],
        action: Action::PublishNotice,
        who: &[Township],
        to: PublicNotice,
        needs: NOTHING,
    },
    Transition {
        kinds: CYCLE,
        from: &[PublicNotice],
        action: Action::EndNotice,
        who: &[System],
        to: CountyReview,
        needs: NOTHING,
    },
    Transition {
        kinds: CYCLE,
        from: &[PublicNotice, CountyReview],
        action: Action::Reinvestigate,
        who: &[Township, County],
        to: Reinvestigation,
        needs: REASON,
    },
    Transition {
        kinds: CYCLE,
        from: &[CountyReview],
        action: Action::Confirm,
        who: &[County, DelegatedTownship],
        to: Approved,
        needs: NOTHING,
    },
    Transition {
        kinds: CYCLE,
        from: &[CountyReview],
        action: Action::Reject,
        who: &[County, DelegatedTownship],
        to: Rejected,
        needs: REASON,
    },
    Transition {
        kinds: SPOT_CHECK,
        from: &[VisitAssigned],
        action: Action::SubmitVisit,
        who: &[County],
        to: Visited,
        needs: NOTHING,
    },
    Transition {
        kinds: SPOT_CHECK,
        from: &[Visited],
        action: Action::Agree,
        who: &[County],
        to: Upheld,
        needs: NOTHING,
    },
    Transition {
        kinds: SPOT_CHECK,
        from: &[Visited],
        action: Action::Overturn,
        who: &[County],
        to: Overturned,
        needs: REASON,
    },
];

/// Why the table refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The action does not apply in this state (409), with what the performer could do.
    WrongState { allowed: Vec<Action> },
    /// The action applies, but not for this performer (403).
    WrongRole,
}

/// The rows that apply to a case of this kind in this state.
fn rows_from(kind: Kind, state: State) -> impl Iterator<Item = &'static Transition> {
    TABLE
        .iter()
        .filter(move |t| t.kinds.contains(&kind) && t.from.contains(&state))
}

/// The transition an action takes from a state, if this performer may take it.
pub fn step(
    kind: Kind,
    state: State,
    action: Action,
    performer: Performer,
) -> Result<&'static Transition, Refusal> {
    let mut applies = rows_from(kind, state)
        .filter(|t| t.action == action)
        .peekable();
    if applies.peek().is_none() {
        return Err(Refusal::WrongState {
            allowed: allowed(kind, state, performer),
        });
    }
    applies
        .find(|t| t.who.iter().any(|who| who.admits(performer)))
        .ok_or(Refusal::WrongRole)
}

/// Whether a role may take the action from some state of some kind (delegation counted),
/// for requests that must be refused as a whole before looking at single cases.
pub fn role_may_ever(action: Action, role: Role) -> bool {
    let performer = Performer::Staff {
        role,
        delegated: true,
    };
    TABLE
        .iter()
        .any(|t| t.action == action && t.who.iter().any(|who| who.admits(performer)))
}

/// Every action this performer may take from the state.
pub fn allowed(kind: Kind, state: State, performer: Performer) -> Vec<Action> {
    let mut actions: Vec<Action> = rows_from(kind, state)
        .filter(|t| t.who.iter().any(|w| w.admits(performer)))
        .map(|t| t.action)
        .collect();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: Role) -> Performer {
        Performer::Staff {
            role,
            delegated: false,
        }
    }

    const REVIEWER: Performer = Performer::Staff {
        role: Role::TownshipReviewer,
        delegated: false,
    };
    const DELEGATED: Performer = Performer::Staff {
        role: Role::TownshipReviewer,
        delegated: true,
    };

    #[test]
    fn only_township_reviewers_ever_recommend() {
        assert!(role_may_ever(Action::Recommend, Role::TownshipReviewer));
        for role in [Role::Coordinator, Role::CountyOfficer, Role::Admin] {
            assert!(!role_may_ever(Action::Recommend, role), "{role:?}");
        }
        assert!(role_may_ever(Action::Confirm, Role::CountyOfficer));
    }

    #[test]
    fn the_happy_path_leads_from_application_to_approval() {
        let path = [
            (Action::Accept, REVIEWER, Accepted),
            (Action::Assign, REVIEWER, VisitAssigned),
            (Action::SubmitVisit, staff(Role::Coordinator), Visited),
            (Action::StartReview, REVIEWER, TownshipReview),
            (Action::Return, REVIEWER, Returned),
            (Action::SubmitVisit, staff(Role::Coordinator), Visited),
            (Action::Recommend, REVIEWER, Recommended),
            (Action::PublishNotice, REVIEWER, PublicNotice),
            (Action::Reinvestigate, REVIEWER, Reinvestigation),
            (Action::SubmitVisit, staff(Role::Coordinator), Visited),
            (Action::Recommend, REVIEWER, Recommended),
            (Action::PublishNotice, REVIEWER, PublicNotice),
            (Action::EndNotice, Performer::System, CountyReview),
            (Action::Confirm, staff(Role::CountyOfficer), Approved),
        ];
        let mut state = Applied;
        for (action, performer, expected) in path {
            let t = step(Kind::Application, state, action, performer)
                .unwrap_or_else(|refusal| panic!("{action:?} from {state:?} refused: {refusal:?}"));
            assert_eq!(t.to, expected);
            state = t.to;
        }
        assert!(state.is_closed());
    }

    #[test]
    fn closed_cases_take_no_action_from_anyone() {
        for state in [Approved, Rejected] {
            for performer in [
                REVIEWER,
                DELEGATED,
                staff(Role::CountyOfficer),
                staff(Role::Coordinator),
                staff(Role::Admin),
                Performer::System,
            ] {
                assert!(allowed(Kind::Application, state, performer).is_empty());
            }
        }
    }

    #[test]
    fn a_wrong_state_names_what_the_performer_could_do_instead() {
        assert_eq!(
            step(Kind::Application, Applied, Action::Confirm, REVIEWER).unwrap_err(),
            Refusal::WrongState {
                allowed: vec![Action::Accept, Action::Reject]
            }
        );
    }

    #[test]
    fn confirmation_needs_the_county_or_a_delegated_township() {
        assert_eq!(
            step(Kind::Application, CountyReview, Action::Confirm, REVIEWER).unwrap_err(),
            Refusal::WrongRole
        );
        assert!(step(Kind::Application, CountyReview, Action::Confirm, DELEGATED).is_ok());
        assert!(
            step(
                Kind::Application,
                CountyReview,
                Action::Confirm,
                staff(Role::CountyOfficer)
            )
            .is_ok()
        );
        assert_eq!(
            step(
                Kind::Application,
                CountyReview,
                Action::Confirm,
                staff(Role::Admin)
            )
            .unwrap_err(),
            Refusal::WrongRole
        );
    }

    #[test]
    fn only_the_service_ends_a_notice_and_nobody_impersonates_it() {
        assert!(
            step(
                Kind::Application,
                PublicNotice,
                Action::EndNotice,
                Performer::System
            )
            .is_ok()
        );
        for role in [
            Role::Admin,
            Role::CountyOfficer,
            Role::TownshipReviewer,
            Role::Coordinator,
        ] {
            assert_eq!(
                step(
                    Kind::Application,
                    PublicNotice,
                    Action::EndNotice,
                    staff(role)
                )
                .unwrap_err(),
                Refusal::WrongRole
            );
        }
    }

    #[test]
    fn review_decisions_need_a_claim_and_returns_need_what_to_redo() {
        let ret = step(Kind::Application, TownshipReview, Action::Return, REVIEWER).unwrap();
        assert!(ret.needs.decision && ret.needs.redo && ret.needs.reason);
        let reject_at_window = step(Kind::Application, Applied, Action::Reject, REVIEWER).unwrap();
        assert!(reject_at_window.needs.reason && !reject_at_window.needs.decision);
    }

    #[test]
    fn every_state_is_reachable_and_every_open_state_has_a_way_forward() {
        for state in State::ALL {
            assert_eq!(State::parse(state.as_str()), Some(state));
            let reachable = state == Applied || TABLE.iter().any(|t| t.to == state);
            assert!(reachable, "{state:?} is unreachable");
            let leaves = TABLE.iter().any(|t| t.from.contains(&state));
            assert_eq!(leaves, !state.is_closed(), "{state:?}");
        }
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn no_two_rows_give_one_performer_two_outcomes() {
        for kind in Kind::ALL {
            for state in State::ALL {
                let rows: Vec<&Transition> = rows_from(kind, state).collect();
                for (i, a) in rows.iter().enumerate() {
                    for b in &rows[i + 1..] {
                        let overlap =
                            a.action == b.action && a.who.iter().any(|w| b.who.contains(w));
                        assert!(!overlap, "{kind:?} {state:?} {:?}", a.action);
                    }
                }
            }
        }
    }

    const COUNTY: Performer = Performer::Staff {
        role: Role::CountyOfficer,
        delegated: false,
    };

    #[test]
    fn a_spot_check_is_the_countys_visit_and_ends_upheld_or_overturned() {
        let spot = Kind::SpotCheck;
        assert_eq!(
            step(
                spot,
                VisitAssigned,
                Action::SubmitVisit,
                staff(Role::Coordinator)
            )
            .unwrap_err(),
            Refusal::WrongRole,
            "the village's own coordinator does not check the village"
        );
        let visited = step(spot, VisitAssigned, Action::SubmitVisit, COUNTY).unwrap();
        assert_eq!(visited.to, Visited);
        assert_eq!(queue(spot, Visited), Some(COUNTY_QUEUE));
        assert_eq!(
            allowed(spot, Visited, COUNTY),
            vec![Action::Agree, Action::Overturn]
        );
        assert!(allowed(spot, Visited, REVIEWER).is_empty());
        assert!(
            step(spot, Visited, Action::Overturn, COUNTY)
                .unwrap()
                .needs
                .reason
        );
        assert_eq!(
            step(spot, Visited, Action::Agree, COUNTY).unwrap().to,
            Upheld
        );
        assert!(Upheld.is_closed() && Overturned.is_closed());
    }

    #[test]
    fn spot_check_actions_do_not_apply_to_the_cycle_and_back() {
        for kind in [Kind::Application, Kind::Recheck, Kind::Correction] {
            assert!(matches!(
                step(kind, Visited, Action::Agree, COUNTY),
                Err(Refusal::WrongState { .. })
            ));
            assert_eq!(queue(kind, Visited), Some(TOWNSHIP_QUEUE));
            assert_eq!(queue(kind, CountyReview), Some(COUNTY_QUEUE));
        }
        assert!(matches!(
            step(Kind::SpotCheck, Visited, Action::StartReview, REVIEWER),
            Err(Refusal::WrongState { .. })
        ));
        assert_eq!(
            step(
                Kind::Application,
                VisitAssigned,
                Action::SubmitVisit,
                COUNTY
            )
            .unwrap_err(),
            Refusal::WrongRole
        );
    }
}
