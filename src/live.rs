//! The live progress view on a terminal, drawn by `indicatif`: one line per step in progress (its
//! location, what it does to which node, and its elapsed time) under a total line (steps done out
//! of steps started, and the time since the start); finished steps and notes scroll up above them
//! as the same timestamped lines that are printed when standard error is not a terminal. Built on
//! the engine's [`Progress::callback`]: the engine only emits events, how they look on a terminal
//! is the binary's business. Nothing here writes escape codes itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use engine::{EventState, Progress, ProgressEvent};

/// How often the spinners and elapsed times are redrawn.
const TICK: Duration = Duration::from_millis(200);

struct View {
    multi: MultiProgress,
    total: ProgressBar,
    rows: HashMap<(String, usize), ProgressBar>,
}

impl View {
    fn new(target: ProgressDrawTarget) -> View {
        let multi = MultiProgress::with_draw_target(target);
        let total = multi.add(ProgressBar::new(0));
        total.set_style(
            ProgressStyle::with_template("{elapsed:>4} total {pos}/{len} step(s) done {wide_msg}")
                .expect("a valid template"),
        );
        View {
            multi,
            total,
            rows: HashMap::new(),
        }
    }

    fn row(&self, e: &ProgressEvent) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<5} {wide_msg} {elapsed:>4}")
                .expect("a valid template"),
        );
        bar.set_prefix(e.location.clone());
        bar.set_message(e.message.clone());
        bar.enable_steady_tick(TICK);
        bar
    }

    fn on(&mut self, e: &ProgressEvent) {
        match (e.state, e.step) {
            (EventState::Started, Some(step)) => {
                let bar = self.row(e);
                self.rows.insert((e.location.clone(), step), bar);
                self.total.inc_length(1);
            }
            (state, step) => {
                if let Some(bar) = step.and_then(|s| self.rows.remove(&(e.location.clone(), s))) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                    if state != EventState::Note {
                        self.total.inc(1);
                    }
                }
                // above the bars, the same line as without a terminal
                let _ = self.multi.println(e.line());
            }
        }
    }
}

impl Drop for View {
    fn drop(&mut self) {
        for bar in self.rows.values() {
            bar.finish_and_clear();
        }
        self.total.finish();
    }
}

/// The live view on standard error (for a terminal; use [`Progress::stderr`] otherwise).
pub fn terminal() -> Progress {
    live(ProgressDrawTarget::stderr())
}

/// The live view drawn on `target`.
pub fn live(target: ProgressDrawTarget) -> Progress {
    let view = Arc::new(Mutex::new(View::new(target)));
    Progress::callback(move |e| view.lock().unwrap_or_else(|p| p.into_inner()).on(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(step: usize, message: &str) -> ProgressEvent {
        ProgressEvent {
            location: "NA12".into(),
            step: Some(step),
            state: EventState::Started,
            message: message.into(),
            elapsed_ms: None,
        }
    }

    #[test]
    fn one_row_per_step_in_progress_and_a_total() {
        let mut v = View::new(ProgressDrawTarget::hidden());
        v.on(&started(0, "deploy server redis01"));
        v.on(&started(1, "deploy server redis02"));
        assert_eq!(v.rows.len(), 2);
        assert_eq!((v.total.position(), v.total.length()), (0, Some(2)));
        let row = &v.rows[&("NA12".to_string(), 1)];
        assert_eq!(row.message(), "deploy server redis02");
        assert_eq!(row.prefix(), "NA12");
        v.on(&ProgressEvent {
            state: EventState::Done,
            elapsed_ms: Some(2000),
            ..started(0, "deploy server redis01")
        });
        assert_eq!(v.rows.len(), 1);
        assert!(v.rows.contains_key(&("NA12".to_string(), 1)));
        assert_eq!((v.total.position(), v.total.length()), (1, Some(2)));
        // a note for a location leaves the rows as they are
        v.on(&ProgressEvent {
            step: None,
            state: EventState::Note,
            ..started(0, "build: nothing to change")
        });
        assert_eq!(v.rows.len(), 1);
    }
}
