//! Eligibility scoring (精准低保量化评定): a published point scheme as data, its validation, and
//! the pure engine that turns (scheme, household facts, checklist answers) into an assessment
//! a reviewer and an applicant can read. No database, no HTTP: handlers parse, call
//! [`assess`], and store the result next to the scheme version and its [`Scheme::content_hash`].
//!
//! # Evaluation order
//! 1. **Hard rules** (一票否决 and routing): every rule is checked and every hit reported.
//!    A REJECT hit makes the outcome `rejected_by_rule`; COUNTY_VISIT only sets the
//!    `county_visit` routing flag; WARN only informs.
//! 2. **Income test**: per-person monthly income = (12-month income − excluded income −
//!    deductions) / 12 / members, rounded down to the fen. ≤ S passes; ≤ the near-poverty
//!    multiple of S is recorded as near poverty (not eligible); above fails. A failing
//!    household gets `income_not_eligible` unless already rejected.
//! 3. **Points**: each section sums its rules, then its cap and floor apply (a cap of 0 means 0,
//!    an absent one means unbounded); the total is clamped to 0–100 and falls into a band
//!    (`recommend` / `borderline` / `not_recommended`), which is the outcome when steps 1–2 let
//!    the household through. The class for re-checks comes from the first matching class rule.
//!
//! All three steps are always computed, so a rejected household still shows its income and
//! score ("points advise; a person decides").
//!
//! # Fixed point, never floats
//! Money is integer fen (1/100 yuan). Shares and multiples are integer basis points (1/10,000:
//! 1.5 × S is 15,000 bp). Ratios such as medical costs / income or income / S are kept as exact
//! fractions and compared with band edges by cross-multiplication, so a household exactly on an
//! edge (per-person income = 0.25 S) is decided exactly; every band names its edges
//! (`min_inclusive`, `max_exclusive`, …). `number` answers are fixed-point integers with the
//! item's `decimals`.

mod answers;
pub mod api;
mod engine;
mod explain;
mod household;
mod interval;
mod scheme;
pub mod service;
pub mod store;
mod validate;

pub use answers::{AnswerProblem, AnswerProblemCode, AnswerValue, Answers, validate_answers};
pub use engine::{
    Assessment, DeductionTerm, IncomeComputation, IncomeStatus, Outcome, RuleHit, SectionScore,
    assess,
};
pub use explain::ExplanationLine;
pub use household::{HouseholdFacts, LabourCapacity, MemberFacts, Student};
pub use interval::Interval;
pub use scheme::{
    BP, ChoiceOption, ClassRule, Comparison, Condition, DEFAULT_SCHEME, Deduction, Effect,
    HardRule, IncomeFigure, IncomeTest, Item, MemberFilter, Op, OutcomeBand, PhotoKind, PointBand,
    PointRule, Quantity, ReviewClass, Rounding, Scheme, ScoreBand, Section, Standard, ValueType,
};
pub use validate::{ProblemCode, SchemeProblem, validate};
