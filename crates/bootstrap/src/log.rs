//! Per-node log files in the state dir: remote output and our own notes, line by line, with
//! secrets scrubbed, and the last lines kept for error messages.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::scrub::Scrubber;

/// How many lines an error message shows from the end of the log.
pub const TAIL_LINES: usize = 20;

/// An open node log (appended to on every run).
#[derive(Debug)]
pub struct NodeLog {
    node: String,
    path: PathBuf,
    file: std::fs::File,
    scrub: Scrubber,
    partial: Vec<u8>,
    tail: VecDeque<String>,
    start: std::time::Instant,
}

impl NodeLog {
    /// Opens `<dir>/<node>.log` for appending (mode 0600) and writes a header line.
    pub fn open(dir: &Path, node: &str, scrub: Scrubber) -> std::io::Result<NodeLog> {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::create_dir_all(dir)?;
        let safe: String = node
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{safe}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)?;
        let mut log = NodeLog {
            node: node.to_string(),
            path,
            file,
            scrub,
            partial: Vec::new(),
            tail: VecDeque::new(),
            start: std::time::Instant::now(),
        };
        log.note(&format!(
            "==== plumbery bootstrap of {node} at {}",
            chrono::Utc::now().to_rfc3339()
        ));
        Ok(log)
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn line(&mut self, raw: &str) {
        let line = self.scrub.scrub(raw.trim_end_matches('\r'));
        tracing::debug!(node = %self.node, "{line}");
        let _ = writeln!(self.file, "{line}");
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    /// Writes a line of our own (scrubbed like everything else), with the seconds since the log
    /// was opened.
    pub fn note(&mut self, text: &str) {
        self.flush_partial();
        let at = self.start.elapsed().as_secs_f64();
        for l in text.lines() {
            self.line(&format!("-- [{at:6.2}s] {l}"));
        }
    }

    /// Feeds remote output; complete lines are written at once, a partial line waits for its end.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        while let Some(pos) = self.partial.iter().position(|&b| b == b'\n') {
            let rest = self.partial.split_off(pos + 1);
            let line = String::from_utf8_lossy(&self.partial[..pos]).into_owned();
            self.partial = rest;
            self.line(&line);
        }
    }

    /// Writes a pending partial line (end of a command's output).
    pub fn flush_partial(&mut self) {
        if !self.partial.is_empty() {
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
            self.line(&line);
        }
    }

    /// The last lines written (already scrubbed).
    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }

    /// The scrubber this log uses.
    pub fn scrubber(&self) -> &Scrubber {
        &self.scrub
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_scrubbed_even_when_split_across_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = NodeLog::open(dir.path(), "web/1", Scrubber::new(["hunter22"])).unwrap();
        log.feed(b"password is hun");
        log.feed(b"ter22\nnext ");
        log.feed(b"line");
        log.note("done with hunter22");
        let text = std::fs::read_to_string(dir.path().join("web_1.log")).unwrap();
        assert!(!text.contains("hunter22"), "{text}");
        assert!(
            text.contains("password is ******\nnext line\n-- [  0.00s] done with ******\n"),
            "{text}"
        );
        assert!(log.tail().last().unwrap().ends_with("] done with ******"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(log.path()).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
