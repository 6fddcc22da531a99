//! Assessments per second on the default scheme, and the cost of checking the phone's answers.
//! Run: `cargo bench --bench scoring -- --warm-up-time 1 --measurement-time 3`.
//!
//! `assess` is wall-clock time. `assess_cpu` times the same work in this thread's on-CPU time
//! (Linux only), which is the per-core figure even while other builds share the machine.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

use dibao::scoring::{
    HouseholdFacts, LabourCapacity, MemberFacts, Scheme, Student, assess, validate_answers,
};

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

/// Every required item answered with "nothing", then the household's own answers.
fn answers(overrides: Value) -> Value {
    let mut answers = json!({
        "financial_assets": 0, "cars_not_needed": 0, "vehicle_highest_value": 0, "homes": 1,
        "commercial_property": false, "business_with_employees": false,
        "refused_investigation": false, "relative_official": false,
        "wage_income": 0, "agricultural_income": 0, "business_income": 0,
        "property_income": 0, "transfer_income": 0, "pension_income": 0,
        "awards_scholarships": 0, "public_assistance": 0, "basic_pension_subsidy": 0,
        "medical_costs": 0, "education_costs": 0, "housing_condition": "good",
        "rent_costs": 0, "food_insufficient": false, "clothing_inadequate": false,
        "large_livestock": 0, "non_essential_appliances": 0, "livelihood_vehicles": 0,
    });
    let object = answers.as_object_mut().expect("an object");
    for (key, value) in overrides.as_object().expect("an object") {
        object.insert(key.clone(), value.clone());
    }
    answers
}

/// Representative households: small and simple, four generations with a county visit, seven
/// members hitting every cap, and one rejected by a hard rule.
fn households() -> Vec<(&'static str, HouseholdFacts, Value)> {
    use LabourCapacity::{Full, None as Unable, Partial};
    vec![
        (
            "elderly_couple",
            HouseholdFacts {
                urban: false,
                members: vec![
                    member(74, Unable, None, false, Student::None),
                    member(72, Unable, None, true, Student::None),
                ],
            },
            answers(json!({ "basic_pension_subsidy": 360_000, "housing_condition": "poor" })),
        ),
        (
            "four_generations",
            HouseholdFacts {
                urban: false,
                members: vec![
                    member(80, Unable, None, false, Student::None),
                    member(76, Unable, Some(2), false, Student::None),
                    member(45, Partial, None, true, Student::None),
                    member(17, Unable, None, false, Student::Senior),
                ],
            },
            answers(json!({
                "agricultural_income": 600_000, "transfer_income": 240_000,
                "awards_scholarships": 100_000, "basic_pension_subsidy": 360_000,
                "medical_costs": 300_000, "education_costs": 250_000,
                "housing_condition": "dangerous_c", "clothing_inadequate": true,
                "large_livestock": 2, "livelihood_vehicles": 1, "vehicle_highest_value": 300_000,
                "relative_official": true, "farmland_mu": 3.5,
            })),
        ),
        (
            "seven_members_capped",
            HouseholdFacts {
                urban: false,
                members: vec![
                    member(62, Unable, Some(1), true, Student::None),
                    member(58, Unable, None, true, Student::None),
                    member(35, Unable, Some(2), false, Student::None),
                    member(30, Unable, None, true, Student::None),
                    member(75, Unable, None, false, Student::None),
                    member(16, Unable, None, false, Student::Senior),
                    member(19, Unable, None, false, Student::University),
                ],
            },
            answers(json!({
                "public_assistance": 500_000, "medical_costs": 400_000,
                "housing_condition": "dangerous_d", "food_insufficient": true,
                "clothing_inadequate": true, "large_livestock": 5,
                "non_essential_appliances": 3, "livelihood_vehicles": 1,
                "vehicle_highest_value": 500_000,
            })),
        ),
        (
            "rejected_working_family",
            HouseholdFacts {
                urban: true,
                members: vec![
                    member(40, Full, None, false, Student::None),
                    member(38, Full, None, false, Student::None),
                    member(12, Unable, None, false, Student::Junior),
                ],
            },
            answers(json!({
                "wage_income": 3_600_000, "commercial_property": true,
                "housing_condition": "adequate", "non_essential_appliances": 2,
            })),
        ),
    ]
}

fn assessments(c: &mut Criterion) {
    let scheme = Scheme::default_scheme();
    let mut group = c.benchmark_group("assess");
    group.throughput(Throughput::Elements(1));
    for (name, facts, json) in households() {
        let answers = validate_answers(&scheme, &json).expect("valid answers");
        group.bench_function(name, |b| {
            b.iter(|| assess(black_box(&scheme), black_box(&facts), black_box(&answers)))
        });
    }
    group.finish();
}

/// On-CPU time of the current thread so far, from the scheduler's statistics. The kernel
/// updates it at least every tick, so samples must be long (see `assessments_cpu_time`).
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn assessments_cpu_time(c: &mut Criterion) {
    if thread_cpu_time().is_none() {
        return;
    }
    let scheme = Scheme::default_scheme();
    let mut group = c.benchmark_group("assess_cpu");
    group.throughput(Throughput::Elements(1));
    // Ten equal samples of a tenth of the measurement time each: a tick's lag is then noise.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    for (name, facts, json) in households() {
        let answers = validate_answers(&scheme, &json).expect("valid answers");
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = thread_cpu_time().unwrap_or_default();
                for _ in 0..iters {
                    black_box(assess(
                        black_box(&scheme),
                        black_box(&facts),
                        black_box(&answers),
                    ));
                }
                thread_cpu_time().unwrap_or_default() - start
            })
        });
    }
    group.finish();
}

fn answer_validation(c: &mut Criterion) {
    let scheme = Scheme::default_scheme();
    let mut group = c.benchmark_group("validate_answers");
    group.throughput(Throughput::Elements(1));
    let (_, _, json) = &households()[1];
    group.bench_function("four_generations", |b| {
        b.iter(|| validate_answers(black_box(&scheme), black_box(json)))
    });
    group.finish();
}

criterion_group!(
    benches,
    assessments,
    assessments_cpu_time,
    answer_validation
);
criterion_main!(benches);
