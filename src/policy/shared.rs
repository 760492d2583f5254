//! One compiled copy of identical policy files. Ten thousand shops on one
//! policy file (or on ten thousand copies of it) would otherwise each parse it
//! and compile its guard phrases and regular expressions.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use blake2::{Blake2s256, Digest};

use super::Policy;
use crate::diag::{Diagnostic, Diagnostics};

type Key = [u8; 32];

/// Loaded policies by the digest of their text, and by that of their path
/// and text, while any shop uses them.
#[derive(Default)]
struct Loaded {
    by_text: HashMap<Key, Weak<Policy>>,
    by_file: HashMap<Key, Weak<Policy>>,
}

static LOADED: LazyLock<Mutex<Loaded>> = LazyLock::new(Default::default);

fn key(parts: &[&[u8]]) -> Key {
    let mut h = Blake2s256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

impl Policy {
    /// [`Policy::load`], shared: the same text at the same path gives the same
    /// `Arc`; the same text at another path a copy of the compiled rules
    /// (their phrase sets and regular expressions shared) that names its own
    /// file. A file whose text changed is parsed afresh, and its errors always
    /// name its own path.
    pub fn load_shared(path: &Path) -> Result<Arc<Policy>, Diagnostics> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostics::from(Diagnostic::new(
                path,
                format!("cannot read the policy: {e}"),
            ))
        })?;
        let name = path.display().to_string();
        let by_text = key(&[text.as_bytes()]);
        let by_file = key(&[name.as_bytes(), text.as_bytes()]);
        let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = loaded.by_file.get(&by_file).and_then(Weak::upgrade) {
            return Ok(hit);
        }
        let policy = match loaded.by_text.get(&by_text).and_then(Weak::upgrade) {
            Some(same) => Arc::new(Policy {
                file: name,
                ..(*same).clone()
            }),
            None => Arc::new(Policy::parse(path, &text)?),
        };
        loaded.by_text.retain(|_, w| w.strong_count() > 0);
        loaded.by_file.retain(|_, w| w.strong_count() > 0);
        loaded
            .by_text
            .entry(by_text)
            .or_insert_with(|| Arc::downgrade(&policy));
        loaded.by_file.insert(by_file, Arc::downgrade(&policy));
        Ok(policy)
    }
}
