//! A live progress view for a terminal: one line per step in progress with its elapsed time, redrawn in
//! place; finished steps scroll up as plain lines. Built on the engine's [`Progress::callback`]; the
//! engine only emits events, how they look on a terminal is the binary's business.

use std::io::Write;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use engine::{EventState, Progress, ProgressEvent};

struct Row {
    location: String,
    step: usize,
    message: String,
    since: Instant,
}

struct View<W: Write> {
    out: W,
    rows: Vec<Row>,
    drawn: usize,
}

impl<W: Write> View<W> {
    fn clear(&mut self) {
        if self.drawn > 0 {
            // Up to the first line of the block, then clear to the end of the screen.
            let _ = write!(self.out, "\x1b[{}F\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }

    fn draw(&mut self) {
        self.clear();
        for r in &self.rows {
            let secs = r.since.elapsed().as_secs_f64();
            let _ = writeln!(
                self.out,
                "  {:<5} {:<70.70} {:>6.1}s",
                r.location, r.message, secs
            );
        }
        self.drawn = self.rows.len();
        let _ = self.out.flush();
    }

    fn on(&mut self, e: &ProgressEvent) {
        match (e.state, e.step) {
            (EventState::Started, Some(step)) => self.rows.push(Row {
                location: e.location.clone(),
                step,
                message: e.message.clone(),
                since: Instant::now(),
            }),
            (_, step) => {
                if let Some(step) = step {
                    self.rows
                        .retain(|r| !(r.step == step && r.location == e.location));
                }
                self.clear();
                let _ = writeln!(self.out, "{}", e.line());
            }
        }
        self.draw();
    }
}

/// The live view on standard error (for a terminal; use [`Progress::stderr`] otherwise).
pub fn terminal() -> Progress {
    live(std::io::stderr(), Duration::from_millis(250))
}

/// The live view on any writer, redrawn on every event and every `tick` while steps run.
pub fn live<W: Write + Send + 'static>(out: W, tick: Duration) -> Progress {
    let view = Arc::new(Mutex::new(View {
        out,
        rows: Vec::new(),
        drawn: 0,
    }));
    let weak: Weak<Mutex<View<W>>> = Arc::downgrade(&view);
    std::thread::Builder::new()
        .name("plumbery-live-view".into())
        .spawn(move || {
            while let Some(v) = weak.upgrade() {
                {
                    let mut v = v.lock().unwrap_or_else(|e| e.into_inner());
                    if !v.rows.is_empty() {
                        v.draw();
                    }
                }
                drop(v);
                std::thread::sleep(tick);
            }
        })
        .ok();
    Progress::callback(move |e| view.lock().unwrap_or_else(|p| p.into_inner()).on(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn steps_in_progress_are_redrawn_in_place() {
        let buf = Buf::default();
        let p = live(buf.clone(), Duration::from_secs(3600));
        p.step(
            "NA12",
            0,
            EventState::Started,
            "deploy server redis01".into(),
            None,
        );
        p.step(
            "NA12",
            1,
            EventState::Started,
            "deploy server redis02".into(),
            None,
        );
        p.step(
            "NA12",
            0,
            EventState::Done,
            "deploy server redis01".into(),
            Some(2000),
        );
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        // Two rows drawn, then the block is cleared, the finished step printed, one row redrawn.
        assert!(text.contains("\x1b[2F\x1b[J"), "{text:?}");
        assert!(
            text.contains("deploy server redis01 done (2.0s)"),
            "{text:?}"
        );
        let after = text.rsplit("done (2.0s)\n").next().unwrap();
        assert!(
            after.contains("redis02") && !after.contains("redis01"),
            "{after:?}"
        );
    }
}
