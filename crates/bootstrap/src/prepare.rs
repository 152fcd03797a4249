//! Node `prepare:` steps (`run`, `run_raw`, `put`, `put_raw`, `echo`), read from the plan's files.

use std::path::Path;

/// Errors while reading a `prepare:` step.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The step names no file.
    #[error("prepare step {0:?}: a file name is missing")]
    MissingFile(String),
    /// The file could not be read.
    #[error("prepare step {step:?}: cannot read {path}: {source}")]
    Read {
        /// The step as written.
        step: String,
        /// The file path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One `prepare:` step, with the file it names already read (and token-expanded unless `_raw`).
#[derive(Debug, Clone, PartialEq)]
pub enum PrepareStep {
    /// Upload a script and run it as root with its arguments.
    Run {
        /// The file name as written in the plan (for messages).
        name: String,
        /// The script.
        content: Vec<u8>,
        /// Its arguments.
        args: Vec<String>,
    },
    /// Upload a file.
    Put {
        /// The file content.
        content: Vec<u8>,
        /// Absolute destination path on the node.
        dest: String,
    },
    /// Print a line into the node's log.
    Echo(String),
}

/// Reads a step's file (relative to `base_dir`), expanded with `expand` unless `raw`.
fn read_file(
    step: &str,
    file: &str,
    raw: bool,
    base_dir: &Path,
    expand: &dyn Fn(&str) -> String,
) -> Result<Vec<u8>, PrepareError> {
    let path = base_dir.join(file);
    let bytes = std::fs::read(&path).map_err(|source| PrepareError::Read {
        step: step.to_string(),
        path: path.display().to_string(),
        source,
    })?;
    Ok(match (raw, String::from_utf8(bytes)) {
        (false, Ok(text)) => expand(&text).into_bytes(),
        (_, Ok(text)) => text.into_bytes(),
        (_, Err(e)) => e.into_bytes(),
    })
}

impl PrepareStep {
    /// `run <script> [args]` (`raw`: `run_raw`): reads the script from `base_dir`.
    pub fn run_file(
        script: &str,
        args: &[String],
        raw: bool,
        base_dir: &Path,
        expand: &dyn Fn(&str) -> String,
    ) -> Result<PrepareStep, PrepareError> {
        Ok(PrepareStep::Run {
            name: script.to_string(),
            content: read_file(&format!("run {script}"), script, raw, base_dir, expand)?,
            args: args.to_vec(),
        })
    }

    /// `put <file> [dest]` (`raw`: `put_raw`): reads the file from `base_dir`; a relative or
    /// missing destination lands in `/root/`.
    pub fn put_file(
        file: &str,
        dest: Option<&str>,
        raw: bool,
        base_dir: &Path,
        expand: &dyn Fn(&str) -> String,
    ) -> Result<PrepareStep, PrepareError> {
        let dest = match dest {
            Some(d) if d.starts_with('/') => d.to_string(),
            Some(d) => format!("/root/{d}"),
            None => {
                let base = Path::new(file)
                    .file_name()
                    .map(|f| f.to_string_lossy().to_string());
                format!("/root/{}", base.unwrap_or_else(|| file.to_string()))
            }
        };
        Ok(PrepareStep::Put {
            content: read_file(&format!("put {file}"), file, raw, base_dir, expand)?,
            dest,
        })
    }

    /// Parses a step as the plan writes it (`run script.sh arg`, `put file [dest]`, `echo text`;
    /// any other text is echoed). Files are read relative to `base_dir`; `expand` is applied to
    /// the content of `run` and `put` files (not to `run_raw` and `put_raw`).
    pub fn parse(
        line: &str,
        base_dir: &Path,
        expand: &dyn Fn(&str) -> String,
    ) -> Result<PrepareStep, PrepareError> {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let raw = verb.ends_with("_raw");
        match verb {
            "run" | "run_raw" => {
                let file = words
                    .next()
                    .ok_or_else(|| PrepareError::MissingFile(line.to_string()))?;
                let args: Vec<String> = words.map(str::to_string).collect();
                PrepareStep::run_file(file, &args, raw, base_dir, expand)
            }
            "put" | "put_raw" => {
                let file = words
                    .next()
                    .ok_or_else(|| PrepareError::MissingFile(line.to_string()))?;
                PrepareStep::put_file(file, words.next(), raw, base_dir, expand)
            }
            "echo" => Ok(PrepareStep::Echo(line.trim_start()[4..].trim().to_string())),
            _ => Ok(PrepareStep::Echo(line.trim().to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_step_forms() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.sh"), "echo {{ node.name }}\n").unwrap();
        let up = |s: &str| s.replace("{{ node.name }}", "web1");
        let step = PrepareStep::parse("run s.sh a b", dir.path(), &up).unwrap();
        assert_eq!(
            step,
            PrepareStep::Run {
                name: "s.sh".into(),
                content: b"echo web1\n".to_vec(),
                args: vec!["a".into(), "b".into()]
            }
        );
        let raw = PrepareStep::parse("run_raw s.sh", dir.path(), &up).unwrap();
        assert!(
            matches!(raw, PrepareStep::Run { content, .. } if content == b"echo {{ node.name }}\n")
        );
        let put = PrepareStep::parse("put s.sh", dir.path(), &up).unwrap();
        assert!(matches!(put, PrepareStep::Put { dest, .. } if dest == "/root/s.sh"));
        let put = PrepareStep::parse("put s.sh /etc/x.conf", dir.path(), &up).unwrap();
        assert!(matches!(put, PrepareStep::Put { dest, .. } if dest == "/etc/x.conf"));
        assert_eq!(
            PrepareStep::parse("echo hello world", dir.path(), &up).unwrap(),
            PrepareStep::Echo("hello world".into())
        );
        assert!(PrepareStep::parse("run missing.sh", dir.path(), &up).is_err());
        assert!(PrepareStep::parse("put", dir.path(), &up).is_err());
    }
}
