//! Trained built-in models kept in files between starts, in a directory
//! beside the database (`[database] model_cache`). Training the shipped
//! models costs seconds of CPU; a daemon restarted after a crash, and every
//! CLI command that judges text, reads this build's copy in milliseconds
//! instead. Storage only: `analysis::model::builtin` decides whether a copy
//! belongs to this build and is whole.
//!
//! A kept model decides what the guards block, so the directory is trusted
//! like the binary: it is created private (0700), and one that another user
//! owns or may write to is not used at all (the models are trained instead).
//! Files are written without following links and read only when they are
//! plain files of a sane size.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::analysis::model::ModelShelf;

/// Copies of one model kept at once: a few builds used in turn (an upgrade
/// and a rollback) each read their own.
const COPIES: usize = 3;
/// Larger than any model this project trains, by far.
const MAX_BYTES: u64 = 1 << 30;
/// A write this old whose process never renamed it was cut off.
const PARTIAL_AGE: Duration = Duration::from_secs(3600);

pub struct ModelFiles {
    dir: PathBuf,
}

impl ModelFiles {
    pub fn new(dir: PathBuf) -> ModelFiles {
        ModelFiles { dir }
    }

    /// Keep this process's built-in models in `settings`' model cache from
    /// now on (unless it keeps them elsewhere already). Call it before
    /// anything judges text.
    pub fn keep_for(settings: &crate::config::Settings) {
        crate::analysis::model::keep_builtin_models_on(Box::new(ModelFiles::new(
            settings.model_cache_dir(),
        )));
    }

    /// Whether the directory is one only this user can change.
    fn trusted(&self) -> Result<(), String> {
        let meta = std::fs::symlink_metadata(&self.dir).map_err(|e| e.to_string())?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if !meta.is_dir() {
            Err("it is not a directory".into())
        } else if meta.uid() != me {
            Err(format!(
                "it belongs to user {}, not to this one",
                meta.uid()
            ))
        } else if meta.mode() & 0o022 != 0 {
            Err(format!(
                "others may write to it (mode {:o})",
                meta.mode() & 0o777
            ))
        } else {
            Ok(())
        }
    }

    fn read(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if !meta.is_file() || meta.len() > MAX_BYTES {
            return Err(std::io::Error::other("not a plain file of a model's size"));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_BYTES).read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }

    fn write(&self, file: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        self.trusted().map_err(std::io::Error::other)?;
        let path = self.dir.join(file);
        // Written whole under another name first: a process killed midway
        // leaves no half model under the real one (and a damaged one would
        // be rejected by its checksum anyway).
        let partial = self
            .dir
            .join(format!(".{file}.{}.partial", std::process::id()));
        let _ = std::fs::remove_file(&partial);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&partial)
            .and_then(|mut f| f.write_all(bytes))
            .and_then(|()| std::fs::rename(&partial, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        written.map(|()| path)
    }

    /// Drop all but the newest [`COPIES`] copies of the model called `name`,
    /// and writes cut off long ago.
    fn tidy(&self, name: &str) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        let mut copies = Vec::new();
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata() else { continue };
            let modified = meta.modified().unwrap_or(now);
            if file.starts_with('.') && file.ends_with(".partial") {
                if now.duration_since(modified).unwrap_or_default() > PARTIAL_AGE {
                    let _ = std::fs::remove_file(entry.path());
                }
            } else if is_copy_of(&file, name) {
                copies.push((modified, entry.path()));
            }
        }
        copies.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
        for (_, path) in copies.into_iter().skip(COPIES) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `file` is `<name>-<24 hex digits>.model`.
fn is_copy_of(file: &str, name: &str) -> bool {
    file.strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.strip_suffix(".model"))
        .is_some_and(|key| key.len() == 24 && key.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl ModelShelf for ModelFiles {
    fn fetch(&self, file: &str) -> Option<Vec<u8>> {
        let path = self.dir.join(file);
        if !path.exists() {
            return None;
        }
        if let Err(why) = self.trusted() {
            tracing::warn!(dir = %self.dir.display(), why, "not reading kept models from this directory; training them");
            return None;
        }
        match Self::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read a kept model; training it again");
                None
            }
        }
    }

    fn keep(&self, name: &str, file: &str, bytes: &[u8]) {
        match self.write(file, bytes) {
            Ok(path) => {
                tracing::info!(path = %path.display(), bytes = bytes.len(), "trained a built-in model and kept it for the next start");
                self.tidy(name);
            }
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot keep a trained model; the next start trains it again");
            }
        }
    }

    fn rejected(&self, file: &str) {
        tracing::warn!(path = %self.dir.join(file).display(), "a kept model is damaged; training it again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_named_after_its_model_and_nothing_else() {
        assert!(is_copy_of("draft-0123456789abcdef01234567.model", "draft"));
        assert!(!is_copy_of(
            "draft-guard-0123456789abcdef01234567.model",
            "draft"
        ));
        assert!(!is_copy_of("draft-0123456789abcdef.model", "draft"));
        assert!(!is_copy_of(
            "draft-0123456789abcdef01234567.model.partial",
            "draft"
        ));
    }

    #[test]
    fn kept_bytes_come_back_and_only_the_newest_copies_stay() {
        let dir = tempfile::tempdir().unwrap();
        let shelf = ModelFiles::new(dir.path().join("models"));
        assert_eq!(shelf.fetch("m-000000000000000000000000.model"), None);
        for i in 0..5u8 {
            let file = format!("m-{:024x}.model", i);
            shelf.keep("m", &file, &[i; 10]);
            assert_eq!(shelf.fetch(&file), Some(vec![i; 10]));
            // Distinct modification times, oldest first.
            let old = SystemTime::now() - Duration::from_secs(100 - u64::from(i));
            std::fs::File::options()
                .write(true)
                .open(dir.path().join("models").join(&file))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        shelf.keep("m", &format!("m-{:024x}.model", 5), &[5; 10]);
        let mut left: Vec<String> = std::fs::read_dir(dir.path().join("models"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let newest: Vec<String> = (3..6).map(|i| format!("m-{:024x}.model", i)).collect();
        assert_eq!(left, newest);
        let mode = std::fs::metadata(dir.path().join("models")).unwrap().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_directory_others_may_write_to_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let shelf = ModelFiles::new(dir.path().to_path_buf());
        let file = format!("m-{:024x}.model", 1);
        shelf.keep("m", &file, b"model");
        assert_eq!(shelf.fetch(&file).as_deref(), Some(&b"model"[..]));
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .unwrap();
        assert_eq!(shelf.fetch(&file), None);
        // Nor is a link in place of a model.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"planted").unwrap();
        let linked = format!("m-{:024x}.model", 2);
        std::os::unix::fs::symlink(&target, dir.path().join(&linked)).unwrap();
        assert_eq!(shelf.fetch(&linked), None);
    }
}
