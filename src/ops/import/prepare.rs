//! Reading the inputs before the write lock: each file on disk, hashed.

use super::Input;
use crate::ingest::{Format, IngestError, Limits};
use crate::ops::Progress;
use std::io::{Read, Write};
use std::path::PathBuf;

/// A file ready to parse: on disk, hashed.
pub(super) struct Prepared {
    pub path: PathBuf,
    pub display: String,
    pub hash: blake3::Hash,
    /// The input's size, shown against the bytes read; `None` for standard
    /// input (a stream has no size, even once spooled).
    pub size: Option<u64>,
    // Keeps a spooled stdin alive until the import is done.
    _spool: Option<crate::ingest::spool::Spool>,
}

fn read_err(display: &str, e: std::io::Error) -> IngestError {
    IngestError::Io {
        file: display.to_string(),
        source: e,
    }
}

/// Hashes a file as received, enforcing the size limit.
pub(super) fn prepare(
    input: &Input,
    limits: &Limits,
    progress: &dyn Progress,
) -> std::result::Result<Prepared, IngestError> {
    let display = input.display();
    match input {
        Input::File(path) | Input::Named { path, .. } => {
            let meta = std::fs::metadata(path).map_err(|e| read_err(&display, e))?;
            if meta.is_dir() {
                return Err(read_err(
                    &display,
                    std::io::Error::other("it is a directory; name the report file inside it"),
                ));
            }
            if meta.len() > limits.max_input_bytes {
                return Err(IngestError::TooLarge {
                    file: display,
                    size: meta.len(),
                    limit: limits.max_input_bytes,
                });
            }
            let f = std::fs::File::open(path).map_err(|e| read_err(&display, e))?;
            progress.begin_pass(&format!("hashing {display}"), Some(meta.len()));
            let hash = hash_reader(f, limits.max_input_bytes, &display, None, progress)?;
            Ok(Prepared {
                path: path.clone(),
                display,
                hash,
                size: Some(meta.len()),
                _spool: None,
            })
        }
        Input::Stdin => {
            crate::ingest::spool::clean_leftovers();
            let mut spool =
                crate::ingest::spool::Spool::new().map_err(|e| read_err(&display, e))?;
            progress.begin_pass("reading standard input", None);
            let hash = hash_reader(
                std::io::stdin().lock(),
                limits.max_input_bytes,
                &display,
                Some(spool.file_mut()),
                progress,
            )?;
            spool
                .file_mut()
                .flush()
                .map_err(|e| read_err(&display, e))?;
            Ok(Prepared {
                path: spool.path().to_path_buf(),
                display,
                hash,
                size: None,
                _spool: Some(spool),
            })
        }
    }
}

fn hash_reader(
    mut r: impl Read,
    limit: u64,
    display: &str,
    mut copy: Option<&mut std::fs::File>,
    progress: &dyn Progress,
) -> std::result::Result<blake3::Hash, IngestError> {
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    let mut sniffed = false;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(display, e)),
        };
        total += n as u64;
        if total > limit {
            return Err(IngestError::TooLarge {
                file: display.to_string(),
                size: total,
                limit,
            });
        }
        // Every format snapgov reads is JSON: refuse anything else at its
        // first byte, rather than after reading (or spooling) all of it.
        if !sniffed {
            let chunk = buf[..n].strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf[..n]);
            if let Some(b) = chunk.iter().find(|b| !b.is_ascii_whitespace()) {
                sniffed = true;
                if *b != b'{' && *b != b'[' {
                    return Err(IngestError::UnknownFormat {
                        file: display.to_string(),
                        hint: format!(
                            " (it starts with byte 0x{b:02x}, not a JSON object or array)"
                        ),
                        known: crate::ingest::Format::known_list(),
                    });
                }
            }
        }
        h.update(&buf[..n]);
        if let Some(f) = copy.as_mut() {
            f.write_all(&buf[..n]).map_err(|e| read_err(display, e))?;
        }
        progress.advance(n as u64);
    }
    Ok(h.finalize())
}

/// `sourceHash`: over the bytes of one file; for several, over their sorted
/// per-file hashes (hex, one per line).
pub(super) fn source_hash(files: &[Prepared]) -> String {
    if let [one] = files {
        return format!("b3:{}", one.hash.to_hex());
    }
    let mut hexes: Vec<String> = files.iter().map(|p| p.hash.to_hex().to_string()).collect();
    hexes.sort();
    let mut h = blake3::Hasher::new();
    for x in hexes {
        h.update(x.as_bytes());
        h.update(b"\n");
    }
    format!("b3:{}", h.finalize().to_hex())
}

pub(super) fn format_names(formats: &[Format]) -> Option<String> {
    let mut names: Vec<&str> = formats.iter().map(|f| f.as_str()).collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        None
    } else {
        Some(names.join("+"))
    }
}

/// The files of an import, for messages.
pub(super) fn file_list(files: &[Prepared]) -> String {
    files
        .iter()
        .map(|f| f.display.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
