//! Shared observation of a domain's servers: concurrent waits on servers of one domain poll through one
//! `list servers` call instead of one `get server` each, so 100 servers waiting together cost about as
//! many requests as one; and a listing that shows a waited-for server settled wakes its wait at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloud::{CloudClient, CloudResult, Probe, Server};
use tokio::sync::oneshot;

/// The last listing of a domain's servers.
struct Snapshot {
    taken: Instant,
    /// How long it took (its cost: listing 1,000 servers takes about 10 ms of CPU).
    took: Duration,
    servers: Arc<Listing>,
}

/// The servers of one listing, and where each id and name is (1,000 waiters each scanning 1,000
/// servers cost a million comparisons per listing). The listing decodes each server's status only
/// ([`cloud::ServerStatus`]): its servers have no hardware, guest, monitoring or backup.
pub struct Listing {
    servers: Vec<Server>,
    by_id: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
}

impl Listing {
    fn new(servers: Vec<Server>) -> Self {
        let mut by_id = HashMap::with_capacity(servers.len());
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::with_capacity(servers.len());
        for (i, s) in servers.iter().enumerate() {
            by_id.insert(s.id.clone(), i);
            by_name.entry(s.name.clone()).or_default().push(i);
        }
        Listing {
            servers,
            by_id,
            by_name,
        }
    }

    /// The server of id `id`, `None` when the listing does not show it.
    pub fn get(&self, id: &str) -> Option<&Server> {
        self.by_id.get(id).map(|&i| &self.servers[i])
    }

    fn named(&self, name: &str) -> Vec<Server> {
        let at = self.by_name.get(name).map_or(&[][..], Vec::as_slice);
        at.iter().map(|&i| self.servers[i].clone()).collect()
    }
}

/// A new listing starts at least this many times the last one's duration after that one began,
/// so that listing takes at most about half the time whatever the domain's size (at 1,000 servers,
/// waits polling every few ms spent most of the CPU on listings; 3 instead of 2 detected the
/// shutdowns of a 1,000-node dispose later: 1.15 against 1.13 x its critical path).
const SPACING: u32 = 2;

/// What a wait asks the next listings for: to be told when its server is no longer pending.
struct Interest {
    id: String,
    gone: bool,
    started: Option<bool>,
    tx: oneshot::Sender<(Instant, Arc<Listing>)>,
}

/// The waits to wake, by registration number (a wait that stops caring removes its own).
#[derive(Default)]
struct Interests {
    next: u64,
    by_token: HashMap<u64, Interest>,
}

impl Interests {
    /// Wakes (and forgets) every wait whose server `list` (taken at `taken`) shows settled, done
    /// or failed, handing it the listing.
    fn wake_settled(&mut self, taken: Instant, list: &Arc<Listing>) {
        let settled: Vec<u64> = self
            .by_token
            .iter()
            .filter(|(_, i)| {
                !matches!(
                    cloud::server_probe(list.get(&i.id), i.gone, i.started),
                    Probe::Pending(_)
                )
            })
            .map(|(t, _)| *t)
            .collect();
        for t in settled {
            if let Some(i) = self.by_token.remove(&t) {
                let _ = i.tx.send((taken, list.clone()));
            }
        }
    }
}

/// Coalesces server observations of one network domain.
pub struct DomainWatch {
    client: CloudClient,
    domain_id: String,
    last: tokio::sync::Mutex<Option<Snapshot>>,
    interests: Arc<Mutex<Interests>>,
}

/// Removes a wait's interest when the wait stops listening (woken, or its poll came first).
struct Registered {
    interests: Arc<Mutex<Interests>>,
    token: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut g = self.interests.lock().unwrap_or_else(|e| e.into_inner());
        g.by_token.remove(&self.token);
    }
}

impl DomainWatch {
    /// A watch on `domain_id`.
    pub fn new(client: CloudClient, domain_id: String) -> Self {
        DomainWatch {
            client,
            domain_id,
            last: tokio::sync::Mutex::new(None),
            interests: Arc::default(),
        }
    }

    /// The first listing completed after this call that shows server `id` settled (deleted, when
    /// `gone`; else NORMAL with no pending action and, when given, `started` so) or failed, with
    /// the instant it was taken.
    pub async fn settled(
        &self,
        id: &str,
        gone: bool,
        started: Option<bool>,
    ) -> (Instant, Arc<Listing>) {
        let (tx, rx) = oneshot::channel();
        let token = {
            let mut g = self.interests.lock().unwrap_or_else(|e| e.into_inner());
            let token = g.next;
            g.next += 1;
            let id = id.to_string();
            g.by_token.insert(
                token,
                Interest {
                    id,
                    gone,
                    started,
                    tx,
                },
            );
            token
        };
        let _registered = Registered {
            interests: self.interests.clone(),
            token,
        };
        match rx.await {
            Ok(seen) => seen,
            // (the watch is gone: nothing will come)
            Err(_) => std::future::pending().await,
        }
    }

    /// The domain's servers named `name`, as listed at most `max_age` before `now`.
    pub async fn named_since(
        &self,
        name: &str,
        now: Instant,
        max_age: Duration,
    ) -> CloudResult<Vec<Server>> {
        Ok(self.listing(now, max_age, None).await?.1.named(name))
    }

    /// A listing taken at most `max_age` before `now` and after `newer_than` (a waiter passes
    /// when it took the listing of its last poll: a poll never sees the same listing twice), with
    /// the instant it was taken.
    async fn listing(
        &self,
        now: Instant,
        max_age: Duration,
        newer_than: Option<Instant>,
    ) -> CloudResult<(Instant, Arc<Listing>)> {
        let mut g = self.last.lock().await;
        if let Some(s) = g.as_ref() {
            if s.taken + max_age >= now && newer_than.is_none_or(|t| s.taken > t) {
                return Ok((s.taken, s.servers.clone()));
            }
            // (waiters that come meanwhile queue on the lock and share the next listing)
            tokio::time::sleep_until((s.taken + s.took * SPACING).into()).await;
        }
        self.client.give_way_to_changes().await;
        let taken = Instant::now();
        let list = self
            .client
            .list_server_statuses(&[("networkDomainId", self.domain_id.as_str())])
            .await?;
        let servers = Arc::new(Listing::new(list.into_iter().map(Server::from).collect()));
        *g = Some(Snapshot {
            taken,
            took: taken.elapsed(),
            servers: servers.clone(),
        });
        self.interests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake_settled(taken, &servers);
        Ok((taken, servers))
    }

    /// A listing taken at most `max_age` ago and after `newer_than` (a waiter reads its server
    /// in it without copying it: 1,000 waiters polling copied 1,000 servers a round), with the
    /// instant it was taken.
    pub async fn poll(
        &self,
        max_age: Duration,
        newer_than: Option<Instant>,
    ) -> CloudResult<(Instant, Arc<Listing>)> {
        self.listing(Instant::now(), max_age, newer_than).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud::{ResourceState, ServerStatus};

    fn server(id: &str, state: ResourceState, started: bool) -> Server {
        Server::from(ServerStatus {
            id: id.into(),
            datacenter_id: "NA9".into(),
            name: id.into(),
            network_info: None,
            create_time: None,
            deployed: true,
            started,
            state,
            progress: None,
        })
    }

    fn watch() -> DomainWatch {
        // (never asked to list here: the tests hand it listings)
        let client = cloud::client_from_hints(
            cloud::EndpointHints::default(),
            &cloud::ClientOptions {
                endpoint: Some("http://127.0.0.1:9".into()),
                credentials: Some(("u".into(), cloud::Secret::new("p"))),
                retry: cloud::RetryPolicy::fast(),
                wait: cloud::WaitPolicy::fast(),
                max_changes_in_flight: 1,
            },
        )
        .expect("client");
        DomainWatch::new(client, "d".into())
    }

    fn show(w: &DomainWatch, servers: Vec<Server>) {
        let list = Arc::new(Listing::new(servers));
        w.interests
            .lock()
            .unwrap()
            .wake_settled(Instant::now(), &list);
    }

    fn waiting(w: &DomainWatch) -> usize {
        w.interests.lock().unwrap().by_token.len()
    }

    #[tokio::test]
    async fn a_listing_wakes_only_the_waits_it_shows_settled() {
        let w = Arc::new(watch());
        let stop = |id: &'static str| {
            let w = w.clone();
            tokio::spawn(async move { w.settled(id, false, Some(false)).await })
        };
        let gone = {
            let w = w.clone();
            tokio::spawn(async move { w.settled("c", true, None).await })
        };
        let (a, b) = (stop("a"), stop("b"));
        while waiting(&w) < 3 {
            tokio::task::yield_now().await;
        }
        let b_stopping = server("b", ResourceState::PendingChange, true);
        let c_deleting = server("c", ResourceState::PendingDelete, false);
        show(
            &w,
            vec![
                server("a", ResourceState::Normal, false),
                b_stopping,
                c_deleting,
            ],
        );
        let (_, seen) = a.await.unwrap();
        assert!(!seen.get("a").unwrap().started);
        assert_eq!(waiting(&w), 2, "b and c still wait");
        assert!(!b.is_finished() && !gone.is_finished());
        // b stopped, c deleted (absent from the listing)
        show(&w, vec![server("b", ResourceState::Normal, false)]);
        b.await.unwrap();
        gone.await.unwrap();
        assert_eq!(waiting(&w), 0);
    }

    #[tokio::test]
    async fn a_wait_that_stops_listening_leaves_nothing_behind() {
        let w = watch();
        let timed_out =
            tokio::time::timeout(Duration::from_millis(5), w.settled("a", false, Some(true))).await;
        assert!(timed_out.is_err());
        assert_eq!(waiting(&w), 0);
    }
}
