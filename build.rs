//! Gives the crate `AGENTIQ_SOURCE_DIGEST`: a digest of everything a built-in
//! model's training depends on (the source, the shipped corpora, the locked
//! dependency versions, the compiler and the target). A trained model kept on
//! disk between starts is used only by a build with the same digest
//! (`analysis::model::builtin` in `src/analysis/model.rs`); any edit
//! to the code that normalises, extracts features or fits, or to a corpus,
//! makes the kept copy a stranger that is trained again.
//!
//! No dependencies: the standard library's SipHash with its fixed keys is
//! deterministic within one toolchain, and the digest only has to tell
//! builds apart, not resist anyone.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

const TREES: [&str; 2] = ["src", "tests/corpus"];
const FILES: [&str; 3] = ["Cargo.toml", "Cargo.lock", "build.rs"];

fn main() {
    let mut files: Vec<PathBuf> = FILES.iter().map(PathBuf::from).collect();
    for tree in TREES {
        println!("cargo:rerun-if-changed={tree}");
        walk(Path::new(tree), &mut files);
    }
    for file in FILES {
        println!("cargo:rerun-if-changed={file}");
    }
    files.sort();
    // Two halves with different seeds: 128 bits.
    let (mut a, mut b) = (DefaultHasher::new(), DefaultHasher::new());
    b.write_u8(0x5a);
    // The compiler (its Unicode tables shape normalisation) and the target.
    // Not the profile: without fast-math, optimisation does not change a
    // float, so a debug and a release build share their models.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    let target = std::env::var("TARGET").unwrap_or_default();
    for h in [&mut a, &mut b] {
        h.write(&version);
        h.write(target.as_bytes());
    }
    for file in &files {
        // A missing file (Cargo.lock in a dependent build) counts as empty.
        let bytes = std::fs::read(file).unwrap_or_default();
        for h in [&mut a, &mut b] {
            h.write(file.to_string_lossy().as_bytes());
            h.write_u8(0xff);
            h.write(&bytes);
            h.write_u64(bytes.len() as u64);
        }
    }
    println!(
        "cargo:rustc-env=AGENTIQ_SOURCE_DIGEST={:016x}{:016x}",
        a.finish(),
        b.finish()
    );
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}
