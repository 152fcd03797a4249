//! The one atomic write of the project: [`write_atomic`]. A file written with it is either the old
//! file or the whole new one, even across a crash or a concurrent writer: the bytes go to a temporary
//! file of a random name in the same directory (`tempfile::NamedTempFile`: created exclusively, so two
//! writers never share it, and removed if we fail half-way), are flushed with `fsync`, the file is
//! renamed over the target (`persist`, atomic within one file system), and the directory is flushed
//! so that the rename itself survives a power cut.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why [`write_atomic`] failed: the step, the file it was working on, and the system's error.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {action}: {source}")]
pub struct AtomicWriteError {
    /// `create temporary file`, `write`, `fsync` or `rename`.
    pub action: &'static str,
    /// The directory, temporary file or target concerned.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

impl From<AtomicWriteError> for std::io::Error {
    /// The system's error alone, for callers that report plain I/O errors.
    fn from(e: AtomicWriteError) -> std::io::Error {
        e.source
    }
}

/// Replaces `path` with `bytes` atomically (see the module comment); the new file has mode `mode`
/// (less the umask). The parent directory must exist.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AtomicWriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let fail = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| AtomicWriteError {
            action,
            path,
            source,
        }
    };
    let prefix = format!(
        ".{}-",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(fail("create temporary file", dir))?;
    tmp.write_all(bytes).map_err(fail("write", tmp.path()))?;
    tmp.as_file()
        .sync_all()
        .map_err(fail("fsync", tmp.path()))?;
    tmp.persist(path)
        .map_err(|e| fail("rename", path)(e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_with_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        let err = write_atomic(&dir.path().join("none/f"), b"x", 0o644).unwrap_err();
        assert_eq!(err.action, "create temporary file");
    }
}
