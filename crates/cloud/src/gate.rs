//! The gate of change requests: at most N in flight, and when requests wait for a place, the one
//! of the highest priority goes first (first come, first served among equals). A caller gives its
//! priority for everything it runs with [`with_priority`]: the engine gives each step the length
//! of the longest chain of work behind it, so that a server deploy on the critical path is not
//! queued behind a hundred firewall rules that nothing waits for. A poll that many waits share can
//! also give way ([`Gate::give_way`]) while requests at least as urgent as its own task wait for a
//! place: what it could find would only lead to less urgent requests.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

tokio::task_local! {
    static PRIORITY: u32;
}

/// Runs `f` with `priority` for the change requests it makes (higher goes first; 0 without it).
pub async fn with_priority<F: std::future::Future>(priority: u32, f: F) -> F::Output {
    PRIORITY.scope(priority, f).await
}

/// The priority of the current task (0 outside [`with_priority`]).
fn current_priority() -> u32 {
    PRIORITY.try_with(|p| *p).unwrap_or(0)
}

/// A request waiting for a place.
struct Waiter {
    priority: u32,
    seq: u64,
    tx: oneshot::Sender<Permit>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    /// The greatest is served first: the highest priority, then the earliest.
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then(other.seq.cmp(&self.seq))
    }
}

struct State {
    free: usize,
    next_seq: u64,
    waiting: BinaryHeap<Waiter>,
}

/// At most `n` permits out at once, handed to waiters by priority.
#[derive(Clone)]
pub(crate) struct Gate {
    state: Arc<Mutex<State>>,
    /// Told of every place given back.
    released: Arc<tokio::sync::Notify>,
}

/// A place in flight; given back (to the best waiter, or to the gate) on drop.
pub(crate) struct Permit {
    gate: Option<Gate>,
}

impl Gate {
    /// A gate with `n` places (at least one).
    pub(crate) fn new(n: usize) -> Self {
        Gate {
            state: Arc::new(Mutex::new(State {
                free: n.max(1),
                next_seq: 0,
                waiting: BinaryHeap::new(),
            })),
            released: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Waits while requests of the current task's priority or higher wait for a place.
    pub(crate) async fn give_way(&self) {
        let p = current_priority();
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.lock().waiting.peek().is_none_or(|w| w.priority < p) {
                return;
            }
            released.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a place, at the current task's priority.
    pub(crate) async fn acquire(&self) -> Permit {
        let rx = {
            let mut st = self.lock();
            if st.free > 0 && st.waiting.is_empty() {
                st.free -= 1;
                return Permit {
                    gate: Some(self.clone()),
                };
            }
            let (tx, rx) = oneshot::channel();
            let seq = st.next_seq;
            st.next_seq += 1;
            st.waiting.push(Waiter {
                priority: current_priority(),
                seq,
                tx,
            });
            rx
        };
        // A waiter whose future is dropped drops its receiver: the permit sent to it (if any)
        // is dropped with the channel and goes on to the next waiter.
        rx.await.expect("a waiting request is always answered")
    }

    /// Gives a place back: to the best waiter still waiting, else to the pool.
    fn release(&self) {
        self.released.notify_waiters();
        let mut st = self.lock();
        while let Some(w) = st.waiting.pop() {
            let permit = Permit {
                gate: Some(self.clone()),
            };
            match w.tx.send(permit) {
                Ok(()) => return,
                // The waiter gave up: the permit comes back without releasing again.
                Err(mut p) => p.gate = None,
            }
        }
        st.free += 1;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(g) = self.gate.take() {
            g.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Runs one request per priority while a permit is held, and returns the order they got in.
    async fn order_of(priorities: &[u32]) -> Vec<u32> {
        let gate = Gate::new(1);
        let held = gate.acquire().await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for &p in priorities {
            let (gate, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(with_priority(p, async move {
                let _permit = gate.acquire().await;
                order.lock().unwrap().push(p);
            })));
            // each waits in turn (the sequence decides among equals)
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        Arc::try_unwrap(order).unwrap().into_inner().unwrap()
    }

    #[tokio::test]
    async fn waiters_go_by_priority_then_arrival() {
        assert_eq!(order_of(&[1, 5, 3, 5, 0]).await, [5, 5, 3, 1, 0]);
    }

    #[tokio::test]
    async fn a_poll_gives_way_to_requests_as_urgent_as_its_task_only() {
        let gate = Gate::new(1);
        let held = gate.acquire().await;
        let queued = {
            let gate = gate.clone();
            tokio::spawn(with_priority(5, async move {
                let _p = gate.acquire().await;
            }))
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        // A priority-6 poll goes at once; a priority-5 one waits until the 5 has its place.
        let urgent = with_priority(6, gate.give_way());
        tokio::time::timeout(Duration::from_millis(50), urgent)
            .await
            .expect("nothing as urgent waits");
        let (g, done) = (
            gate.clone(),
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        );
        let d = done.clone();
        let poll = tokio::spawn(with_priority(5, async move {
            g.give_way().await;
            d.store(true, std::sync::atomic::Ordering::SeqCst);
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!done.load(std::sync::atomic::Ordering::SeqCst), "a 5 waits");
        drop(held);
        queued.await.unwrap();
        poll.await.unwrap();
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn never_more_than_n_in_flight_and_a_waiter_that_gives_up_loses_no_place() {
        let gate = Gate::new(2);
        let a = gate.acquire().await;
        let b = gate.acquire().await;
        // A waiter that gives up (its future dropped) before and after a place was sent to it.
        let gave_up = tokio::time::timeout(Duration::from_millis(10), gate.acquire()).await;
        assert!(gave_up.is_err(), "a third place while two are out");
        drop(a);
        let c = gate.acquire().await;
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        drop((b, c));
        let mut tasks = Vec::new();
        for i in 0..20u32 {
            let (gate, in_flight, peak) = (gate.clone(), in_flight.clone(), peak.clone());
            tasks.push(tokio::spawn(with_priority(i % 3, async move {
                let _p = gate.acquire().await;
                let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                peak.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            })));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(gate.lock().free, 2, "every place came back");
    }
}
