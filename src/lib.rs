//! Home-visit verification service for China's minimum living allowance (低保).
//! See README.md for the architecture; each domain has its own module with `api` (handlers),
//! `store` (diesel) and pure logic.

pub mod app;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod error;
pub mod households;
pub mod jurisdictions;
pub mod limits;
pub mod loadgen;
pub mod openapi;
pub mod ops;
pub mod oversight;
pub mod pagination;
pub mod photos;
pub mod privacy;
pub mod scoring;
pub mod serde_util;
pub mod telemetry;
pub mod users;
pub mod visits;
