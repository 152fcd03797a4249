//! Shared observation of a domain's servers: concurrent waits on servers of one domain poll through one
//! `list servers` call instead of one `get server` each, so 100 servers waiting together cost about as
//! many requests as one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud::{CloudClient, CloudResult, Server};

/// The last listing of a domain's servers.
struct Snapshot {
    taken: Instant,
    servers: Arc<Vec<Server>>,
}

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

    /// The domain's servers as listed at most `max_age` before `now`.
    pub async fn servers_since(
        &self,
        now: Instant,
        max_age: Duration,
    ) -> CloudResult<Arc<Vec<Server>>> {
        let mut g = self.last.lock().await;
        if let Some(s) = g.as_ref()
            && s.taken + max_age >= now
        {
            return Ok(s.servers.clone());
        }
        let taken = Instant::now();
        let list = self
            .client
            .list_servers(&[("networkDomainId", self.domain_id.as_str())])
            .await?;
        let servers = Arc::new(list);
        *g = Some(Snapshot {
            taken,
            servers: servers.clone(),
        });
        Ok(servers)
    }

    /// One server, as listed at most `max_age` ago; `None` when it is gone.
    pub async fn server(&self, id: &str, max_age: Duration) -> CloudResult<Option<Server>> {
        let now = Instant::now();
        Ok(self
            .servers_since(now, max_age)
            .await?
            .iter()
            .find(|s| s.id == id)
            .cloned())
    }

    /// One server as listed by a listing begun after `since` (shared with every caller that asks
    /// for one begun at the same time or earlier); `None` when that listing does not hold it.
    pub async fn server_listed_after(
        &self,
        id: &str,
        since: Instant,
    ) -> CloudResult<Option<Server>> {
        Ok(self
            .servers_since(since, Duration::ZERO)
            .await?
            .iter()
            .find(|s| s.id == id)
            .cloned())
    }
}
