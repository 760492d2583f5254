//! Trained built-in models kept in files between starts, in a directory
//! beside the database (`[database] model_cache`). Training the shipped
//! models costs seconds of CPU; a daemon restarted after a crash, and every
//! CLI command that judges text, reads this build's copy in milliseconds
//! instead. Storage only: `analysis::model::builtin` decides whether a copy
//! belongs to this build and is whole.

use std::path::PathBuf;

use crate::analysis::model::ModelShelf;

pub struct ModelFiles {
    dir: PathBuf,
}

impl ModelFiles {
    pub fn new(dir: PathBuf) -> ModelFiles {
        ModelFiles { dir }
    }
}

impl ModelShelf for ModelFiles {
    fn fetch(&self, file: &str) -> Option<Vec<u8>> {
        let path = self.dir.join(file);
        match std::fs::read(&path) {
            Ok(bytes) => {
                tracing::debug!(path = %path.display(), bytes = bytes.len(), "reading a kept model");
                Some(bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read a kept model; training it again");
                None
            }
        }
    }

    fn keep(&self, name: &str, file: &str, bytes: &[u8]) {
        let path = self.dir.join(file);
        // Written whole under another name first: a process killed midway
        // leaves no half model under the real one (and a damaged one would
        // be rejected by its checksum anyway).
        let partial = self
            .dir
            .join(format!(".{file}.{}.partial", std::process::id()));
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&partial, bytes))
            .and_then(|()| std::fs::rename(&partial, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&partial);
            tracing::warn!(path = %path.display(), error = %e, "cannot keep a trained model; the next start trains it again");
            return;
        }
        tracing::info!(path = %path.display(), bytes = bytes.len(), "trained a built-in model and kept it for the next start");
        // Copies other builds kept of the same model are of no more use.
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!("{name}-");
        for entry in entries.flatten() {
            let other = entry.file_name();
            let other = other.to_string_lossy();
            if other != file && other.starts_with(&prefix) && other.ends_with(".model") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    fn rejected(&self, file: &str) {
        tracing::warn!(path = %self.dir.join(file).display(), "a kept model is damaged; training it again");
    }
}
