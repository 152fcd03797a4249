//! Progress output: events for each step start and end (and notes), rendered as plain timestamped lines
//! on standard error, handed to a callback (a live terminal view, tests), or dropped when quiet. Events
//! never carry secrets: they come from step descriptions and error messages.

use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventState {
    /// A step started.
    Started,
    /// A step ended well.
    Done,
    /// A step failed.
    Failed,
    /// Anything else worth telling (skipped work, notes).
    Note,
}

/// One progress event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    /// Location id.
    pub location: String,
    /// Step id in its plan, for step events.
    pub step: Option<usize>,
    /// What happened.
    pub state: EventState,
    /// Human text (the step description, or the note).
    pub message: String,
    /// Time the step took, for Done and Failed.
    pub elapsed_ms: Option<u64>,
}

impl ProgressEvent {
    /// `HH:MM:SS.mmm LOCATION message`, as printed on standard error.
    pub fn line(&self) -> String {
        let now = chrono::Utc::now().format("%H:%M:%S%.3f");
        let text = match (self.state, self.elapsed_ms) {
            (EventState::Started, _) => format!("{} ...", self.message),
            (EventState::Done, Some(ms)) => {
                format!("{} done ({:.1}s)", self.message, ms as f64 / 1000.0)
            }
            (EventState::Failed, _) => format!("FAILED {}", self.message),
            _ => self.message.clone(),
        };
        format!("{now} {:<5} {text}", self.location)
    }
}

/// A receiver of progress events.
type Sink = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Where progress goes.
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
        Progress::callback(|e| {
            let _ = writeln!(std::io::stderr().lock(), "{}", e.line());
        })
    }

    /// Events handed to a callback (a live view, tests).
    pub fn callback(f: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        Progress {
            sink: Some(Arc::new(f)),
        }
    }

    /// Emits an event: to the sink when there is one, otherwise as a trace at info level. Never
    /// both, or a line printed on standard error by the sink would appear twice (once through the
    /// log subscriber, which also writes there).
    pub fn event(&self, e: ProgressEvent) {
        match &self.sink {
            Some(s) => s(&e),
            None => {
                tracing::info!(target: "engine", location = %e.location, step = ?e.step, state = ?e.state, "{}", e.message)
            }
        }
    }

    /// A note for a location.
    pub fn line(&self, location: &str, message: &str) {
        self.event(ProgressEvent {
            location: location.to_string(),
            step: None,
            state: EventState::Note,
            message: message.to_string(),
            elapsed_ms: None,
        });
    }

    /// A step event.
    pub fn step(
        &self,
        location: &str,
        id: usize,
        state: EventState,
        message: String,
        elapsed_ms: Option<u64>,
    ) {
        self.event(ProgressEvent {
            location: location.to_string(),
            step: Some(id),
            state,
            message,
            elapsed_ms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn events_reach_the_callback_and_render() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let p = Progress::callback(move |e| s.lock().unwrap().push(e.clone()));
        p.step(
            "EU6",
            3,
            EventState::Done,
            "create VLAN v".into(),
            Some(1500),
        );
        p.line("EU6", "a note");
        let v = seen.lock().unwrap();
        assert_eq!(v.len(), 2);
        assert!(
            v[0].line().ends_with("EU6   create VLAN v done (1.5s)"),
            "{}",
            v[0].line()
        );
        assert_eq!(v[1].state, EventState::Note);
    }

    /// A writer collecting what a log subscriber prints.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// How many times `needle` shows in the log and in the sink when `p` emits one note.
    fn emitted_once(p: Progress, sink: &Arc<Mutex<Vec<String>>>) -> (usize, usize) {
        let log = Captured::default();
        let w = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || w.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || p.line("EU6", "unique-note-42"));
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let sunk = sink
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("unique-note-42"))
            .count();
        (text.matches("unique-note-42").count(), sunk)
    }

    #[test]
    fn an_event_goes_to_the_sink_or_the_log_never_both() {
        let sink = Arc::new(Mutex::new(Vec::new()));
        let s = sink.clone();
        let with_sink = Progress::callback(move |e| s.lock().unwrap().push(e.line()));
        assert_eq!(emitted_once(with_sink, &sink), (0, 1));
        sink.lock().unwrap().clear();
        assert_eq!(emitted_once(Progress::quiet(), &sink), (1, 0));
    }
}
