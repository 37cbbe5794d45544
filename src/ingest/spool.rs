//! Temporary copies of input that arrives as a stream (standard input, an
//! HTTP upload), so that parsers can read it twice.
//!
//! On Linux the copy is an unlinked file (`tempfile::tempfile()`, opened
//! with `O_TMPFILE` where the file system allows it): it has no name, so the
//! kernel frees it however the process ends, SIGKILL included. Parsers
//! re-open it through `/proc/self/fd/N`. Elsewhere it is a named file that
//! is deleted on drop, and [`clean_leftovers`] removes what a killed process
//! left behind.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Prefix of named spool files (older versions and non-Linux systems).
const PREFIXES: [&str; 2] = ["snapgov-spool-", "snapgov-upload-"];

/// Leftovers older than this are no longer in use by any import.
const LEFTOVER_AGE: Duration = Duration::from_secs(24 * 3600);

pub struct Spool {
    file: File,
    path: PathBuf,
    // Deletes the named fallback on drop.
    _named: Option<tempfile::TempPath>,
}

impl Spool {
    pub fn new() -> std::io::Result<Spool> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let file = tempfile::tempfile()?;
            let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
            if path.exists() {
                return Ok(Spool {
                    file,
                    path,
                    _named: None,
                });
            }
        }
        let named = tempfile::Builder::new().prefix(PREFIXES[0]).tempfile()?;
        let (file, path) = named.into_parts();
        Ok(Spool {
            file,
            path: path.to_path_buf(),
            _named: Some(path),
        })
    }

    /// Where parsers open the copy (valid while the spool lives).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }
}

/// Removes spool files a killed process left in the temporary directory
/// (named ones: older versions, and systems without unlinked files), once
/// they are old enough that no running import can still be using them.
/// Best effort: a file that cannot be removed is left alone.
pub fn clean_leftovers() {
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > LEFTOVER_AGE);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
