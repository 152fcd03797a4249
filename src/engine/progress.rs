//! Progress output: plain timestamped lines on standard error (one per step start and end), or nothing
//! when quiet. Lines never carry secrets: they come from step descriptions and error messages.

use std::io::Write;
use std::sync::Arc;

/// A receiver of progress lines.
type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// Where progress lines go.
#[derive(Clone, Default)]
pub struct Progress {
    sink: Option<Sink>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.sink.is_some() {
            "Progress(on)"
        } else {
            "Progress(quiet)"
        })
    }
}

impl Progress {
    /// No output.
    pub fn quiet() -> Self {
        Progress { sink: None }
    }

    /// Timestamped lines on standard error.
    pub fn stderr() -> Self {
        Progress {
            sink: Some(Arc::new(|line: &str| {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            })),
        }
    }

    /// Lines handed to a callback (tests, a live view).
    pub fn callback(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Progress {
            sink: Some(Arc::new(f)),
        }
    }

    /// Emits `HH:MM:SS.mmm LOCATION message`.
    pub fn line(&self, location: &str, message: &str) {
        tracing::info!(target: "plumbery::engine", location, "{message}");
        if let Some(s) = &self.sink {
            let now = chrono::Utc::now().format("%H:%M:%S%.3f");
            s(&format!("{now} {location:<5} {message}"));
        }
    }
}
