//! Shared observation of a domain's servers: concurrent waits on servers of one domain poll through one
//! `list servers` call instead of one `get server` each, so 100 servers waiting together cost about as
//! many requests as one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud::{CloudClient, CloudResult, Server};

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

/// Coalesces server observations of one network domain.
pub struct DomainWatch {
    client: CloudClient,
    domain_id: String,
    last: tokio::sync::Mutex<Option<Snapshot>>,
}

impl DomainWatch {
    /// A watch on `domain_id`.
    pub fn new(client: CloudClient, domain_id: String) -> Self {
        DomainWatch {
            client,
            domain_id,
            last: tokio::sync::Mutex::new(None),
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
