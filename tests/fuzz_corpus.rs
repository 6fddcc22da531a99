//! Replays the fuzz seeds and the corpora the fuzzers grew (`fuzz/`) through the same target
//! bodies in a plain `cargo test`, so every input that once found a path, or a crash, keeps
//! being checked by the invariants in `fuzz/harness.rs` without a fuzzer or a nightly toolchain.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Every file of the target's seed, corpus and regression folders, by name.
fn inputs(target: &str) -> BTreeMap<String, Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut found = BTreeMap::new();
    for folder in ["seeds", "corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(folder).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
            found.insert(name, fs::read(&path).unwrap());
        }
    }
    found
}

/// Replays every input of `target` through `run` and returns the outcome of each by name.
fn replay<E: std::fmt::Debug>(
    target: &str,
    run: impl Fn(&[u8]) -> Result<(), E>,
) -> BTreeMap<String, Result<(), E>> {
    let inputs = inputs(target);
    assert!(inputs.len() > 10, "{target}: only {} inputs", inputs.len());
    inputs
        .into_iter()
        .map(|(name, data)| (name, run(&data)))
        .collect()
}

#[test]
fn every_photo_ingest_input_is_accepted_or_refused_as_the_service_would() {
    let outcomes = replay("photo_ingest", harness::photo);
    let outcome = |name: &str| outcomes[&format!("seeds/{name}")];
    assert_eq!(outcome("default_400x300"), Ok(()));
    assert_eq!(outcome("progressive_400x300"), Ok(()));
    assert_eq!(outcome("cmyk_64x48"), Ok(()));
    assert_eq!(outcome("orientation_6"), Ok(()));
    // Broken or hostile EXIF costs the photo its metadata, not its acceptance.
    assert_eq!(outcome("exif_sub_ifd_loop"), Ok(()));
    assert_eq!(outcome("gps_nan"), Ok(()));
    assert_eq!(outcome("frame_65535"), Err("photo_too_many_pixels"));
    assert_eq!(outcome("heic"), Err("photo_heic"));
    assert_eq!(outcome("png"), Err("photo_not_jpeg"));
    assert_eq!(outcome("truncated_half"), Err("photo_truncated"));
}

#[test]
fn every_visit_submission_input_is_assessed_or_refused_with_a_client_error() {
    let outcomes = replay("visit_submission", harness::visit);
    let outcome = |name: &str| outcomes[&format!("seeds/{name}.json")].clone();
    assert_eq!(outcome("clean"), Ok(()));
    assert_eq!(outcome("optional_items"), Ok(()));
    assert_eq!(
        outcome("mock_fix_one_staff"),
        Ok(()),
        "flagged later, not refused"
    );
    assert_eq!(outcome("answers_not_object"), Err("answers_invalid".into()));
    assert_eq!(outcome("bad_fix"), Err("location_invalid".into()));
    assert_eq!(
        outcome("ends_before_start"),
        Err("visit_times_invalid".into())
    );
}
