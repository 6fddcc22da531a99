//! Black-box API tests: each test spawns the real application with a fresh database seeded
//! with the demo county, and talks to it over HTTP only (plus direct SQL where a test plays
//! an attacker with database access).

mod helpers;

mod audit;
mod auth;
mod authz;
mod browser;
mod cases;
mod console;
mod errors;
mod households;
mod import;
mod jurisdictions;
mod limits;
mod loadgen;
mod ops;
mod oversight;
mod scale;
mod scoping;
mod scoring;
mod tokens;
mod uploads;
mod visits;
