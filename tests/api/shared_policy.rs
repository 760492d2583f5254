//! Identical policy files are compiled once: shops on one file share one
//! policy, shops on copies share its compiled rules, an edit loads afresh.

use std::path::Path;
use std::sync::Arc;

use agentiq::policy::Policy;

const POLICY: &str = include_str!("../../policies/demo.toml");

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn one_file_loaded_twice_is_one_compiled_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "policy.toml", POLICY);
    let a = Policy::load_shared(&path).unwrap();
    let b = Policy::load_shared(&path).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!a.rules.is_empty());
}

#[test]
fn identical_files_share_their_compiled_rules_and_keep_their_own_names() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(dir.path(), "a.toml", POLICY);
    let second = write(dir.path(), "b.toml", POLICY);
    let a = Policy::load_shared(&first).unwrap();
    let b = Policy::load_shared(&second).unwrap();
    assert!(!Arc::ptr_eq(&a, &b));
    assert!(a.file.ends_with("a.toml") && b.file.ends_with("b.toml"));
    assert!(Arc::ptr_eq(
        &a.settings.guard.phrases,
        &b.settings.guard.phrases
    ));
    // A third shop on the second file shares the second copy.
    assert!(Arc::ptr_eq(&b, &Policy::load_shared(&second).unwrap()));
}

#[test]
fn an_edited_file_is_parsed_afresh_and_its_errors_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "policy.toml", POLICY);
    let before = Policy::load_shared(&path).unwrap();
    std::fs::write(
        &path,
        POLICY.replace("confidence_floor = 0.8", "confidence_floor = 0.9"),
    )
    .unwrap();
    let after = Policy::load_shared(&path).unwrap();
    assert!(!Arc::ptr_eq(&before, &after));
    assert_eq!(after.settings.confidence_floor, 0.9);
    assert_eq!(before.settings.confidence_floor, 0.8);

    let other = write(
        dir.path(),
        "broken.toml",
        &POLICY.replace("effect = \"auto\"", "effect = \"sometimes\""),
    );
    let err = Policy::load_shared(&other).unwrap_err();
    assert!(err.0[0].file.ends_with("broken.toml"), "{err}");
}
