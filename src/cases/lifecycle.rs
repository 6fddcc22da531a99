//! The case lifecycle as one table: from which state an action leads where, who may take it
//! and what the request must carry. Pure: the service adds jurisdiction, the claim and the
//! guards that need stored facts (open objections, appraisals, notice dates).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;

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
}

impl State {
    pub const ALL: [State; 12] = [
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
        }
    }

    /// A closed case takes no more actions; the household may then open a new cycle.
    pub fn is_closed(self) -> bool {
        matches!(self, State::Rejected | State::Approved)
    }

    /// Waiting for a (new) home visit from the phone.
    pub fn awaits_visit(self) -> bool {
        matches!(
            self,
            State::VisitAssigned | State::Returned | State::Reinvestigation
        )
    }

    /// In the township review queue.
    pub fn in_township_queue(self) -> bool {
        matches!(self, State::Visited | State::TownshipReview)
    }

    /// The review queue a case in this state waits in (stored with the case for indexing).
    pub fn queue(self) -> Option<&'static str> {
        match self {
            State::Visited | State::TownshipReview => Some("township"),
            State::CountyReview => Some("county"),
            _ => None,
        }
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
            State::PublicNotice | State::Rejected | State::Approved => None,
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

/// The whole lifecycle. Order matters only for reading.
pub const TABLE: &[Transition] = &[
    Transition {
        from: &[Applied],
        action: Action::Accept,
        who: &[Township],
        to: Accepted,
        needs: NOTHING,
    },
    Transition {
        from: &[Applied],
        action: Action::Reject,
        who: &[Township],
        to: Rejected,
        needs: REASON,
    },
    Transition {
        from: &[Accepted],
        action: Action::Assign,
        who: &[Township],
        to: VisitAssigned,
        needs: NOTHING,
    },
    Transition {
        from: &[VisitAssigned, Returned, Reinvestigation],
        action: Action::SubmitVisit,
        who: &[Coordinator],
        to: Visited,
        needs: NOTHING,
    },
    Transition {
        from: &[Visited],
        action: Action::StartReview,
        who: &[Township],
        to: TownshipReview,
        needs: NOTHING,
    },
    Transition {
        from: &[Visited, TownshipReview],
        action: Action::Recommend,
        who: &[Township],
        to: Recommended,
        needs: DECISION,
    },
    Transition {
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
        from: &[Recommended],
        action: Action::PublishNotice,
        who: &[Township],
        to: PublicNotice,
        needs: NOTHING,
    },
    Transition {
        from: &[PublicNotice],
        action: Action::EndNotice,
        who: &[System],
        to: CountyReview,
        needs: NOTHING,
    },
    Transition {
        from: &[PublicNotice, CountyReview],
        action: Action::Reinvestigate,
        who: &[Township, County],
        to: Reinvestigation,
        needs: REASON,
    },
    Transition {
        from: &[CountyReview],
        action: Action::Confirm,
        who: &[County, DelegatedTownship],
        to: Approved,
        needs: NOTHING,
    },
    Transition {
        from: &[CountyReview],
        action: Action::Reject,
        who: &[County, DelegatedTownship],
        to: Rejected,
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

/// The transition an action takes from a state, if this performer may take it.
pub fn step(
    state: State,
    action: Action,
    performer: Performer,
) -> Result<&'static Transition, Refusal> {
    let mut applies = TABLE
        .iter()
        .filter(|t| t.action == action && t.from.contains(&state))
        .peekable();
    if applies.peek().is_none() {
        return Err(Refusal::WrongState {
            allowed: allowed(state, performer),
        });
    }
    applies
        .find(|t| t.who.iter().any(|who| who.admits(performer)))
        .ok_or(Refusal::WrongRole)
}

/// Every action this performer may take from the state.
pub fn allowed(state: State, performer: Performer) -> Vec<Action> {
    let mut actions: Vec<Action> = TABLE
        .iter()
        .filter(|t| t.from.contains(&state) && t.who.iter().any(|w| w.admits(performer)))
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
            let t = step(state, action, performer)
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
                assert!(allowed(state, performer).is_empty());
            }
        }
    }

    #[test]
    fn a_wrong_state_names_what_the_performer_could_do_instead() {
        assert_eq!(
            step(Applied, Action::Confirm, REVIEWER).unwrap_err(),
            Refusal::WrongState {
                allowed: vec![Action::Accept, Action::Reject]
            }
        );
    }

    #[test]
    fn confirmation_needs_the_county_or_a_delegated_township() {
        assert_eq!(
            step(CountyReview, Action::Confirm, REVIEWER).unwrap_err(),
            Refusal::WrongRole
        );
        assert!(step(CountyReview, Action::Confirm, DELEGATED).is_ok());
        assert!(step(CountyReview, Action::Confirm, staff(Role::CountyOfficer)).is_ok());
        assert_eq!(
            step(CountyReview, Action::Confirm, staff(Role::Admin)).unwrap_err(),
            Refusal::WrongRole
        );
    }

    #[test]
    fn only_the_service_ends_a_notice_and_nobody_impersonates_it() {
        assert!(step(PublicNotice, Action::EndNotice, Performer::System).is_ok());
        for role in [
            Role::Admin,
            Role::CountyOfficer,
            Role::TownshipReviewer,
            Role::Coordinator,
        ] {
            assert_eq!(
                step(PublicNotice, Action::EndNotice, staff(role)).unwrap_err(),
                Refusal::WrongRole
            );
        }
    }

    #[test]
    fn review_decisions_need_a_claim_and_returns_need_what_to_redo() {
        let ret = step(TownshipReview, Action::Return, REVIEWER).unwrap();
        assert!(ret.needs.decision && ret.needs.redo && ret.needs.reason);
        let reject_at_window = step(Applied, Action::Reject, REVIEWER).unwrap();
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
    }

    #[test]
    fn no_two_rows_give_one_performer_two_outcomes() {
        for state in State::ALL {
            for (i, a) in TABLE.iter().enumerate() {
                for b in &TABLE[i + 1..] {
                    if a.action == b.action && a.from.contains(&state) && b.from.contains(&state) {
                        let overlap = a.who.iter().any(|w| b.who.contains(w));
                        assert!(!overlap, "{state:?} {:?}", a.action);
                    }
                }
            }
        }
    }
}
