//! Invariants from ARCHITECTURE.md that can be checked by reading the source.

use std::path::{Path, PathBuf};

use crate::helpers::repo;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn source(paths: &[&str]) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for p in paths {
        let path = repo().join(p);
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
    }
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect()
}

#[test]
fn nothing_in_the_product_reads_a_test_split() {
    for (file, text) in source(&["src"]) {
        for (i, line) in text.lines().enumerate() {
            assert!(
                !(line.contains(".test.jsonl") && line.contains("include")),
                "{}:{}: the test split is scored, never built in: {line}",
                file.display(),
                i + 1
            );
        }
    }
}

#[test]
fn language_code_does_no_io() {
    let pure = ["src/domain", "src/guards", "src/text", "src/analysis"];
    for (file, text) in source(&pure) {
        for needle in [
            "std::fs::",
            "std::net::",
            "tokio::net",
            "tokio::fs",
            "reqwest::",
            "rusqlite::",
        ] {
            assert!(
                !text.contains(needle),
                "{} uses {needle}; domain, guards, text and the classifier do no I/O",
                file.display()
            );
        }
    }
}
