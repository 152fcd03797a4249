//! What every step needs while it runs ([`ExecContext`]): the location's client, the registry of
//! ids, the shared server watches, the reach to other locations; and the lookups the steps share
//! (a domain's, a VLAN's or a server's id; waiting for a server).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cloud::{CloudClient, CloudError, CloudResult, Secret, Server, Wait};
use plan::Inventory;

use super::registry::{Registry, ServerFacts, VlanFacts};
use crate::progress::Progress;
use crate::remote::Remotes;
use crate::watch::{DomainWatch, Listing};

/// Everything a step needs while it runs.
pub struct ExecContext {
    /// The API client of the location.
    pub client: CloudClient,
    /// Location id.
    pub location_id: String,
    /// Root password of new servers.
    pub admin_password: Option<Secret>,
    /// Progress output.
    pub progress: Progress,
    registry: Mutex<Registry>,
    watches: Mutex<HashMap<String, Arc<DomainWatch>>>,
    pub(super) remotes: Arc<Remotes>,
}

/// The error of a step that needs something an earlier step should have made known.
pub(super) fn missing(what: String) -> CloudError {
    CloudError::Config(format!(
        "{what} is not known (an earlier step did not complete)"
    ))
}

impl ExecContext {
    /// A context whose registry starts from the inventory.
    pub fn new(
        client: CloudClient,
        inventory: &Inventory,
        admin_password: Option<Secret>,
        progress: Progress,
    ) -> Self {
        ExecContext {
            client: client.clone(),
            location_id: inventory.location_id.clone(),
            admin_password,
            progress,
            registry: Mutex::new(Registry::from_inventory(inventory)),
            watches: Mutex::new(HashMap::new()),
            remotes: Arc::new(Remotes::single(client)),
        }
    }

    /// Reach VLANs of other locations through `remotes` (default: through this location's client,
    /// looking once).
    pub fn with_remotes(mut self, remotes: Arc<Remotes>) -> Self {
        self.remotes = remotes;
        self
    }

    /// The shared server watch of a domain (by name).
    fn watch(&self, domain: &str) -> CloudResult<Arc<DomainWatch>> {
        let id = self.domain_id(domain)?;
        let mut w = self.watches.lock().expect("watch lock");
        Ok(w.entry(id.clone())
            .or_insert_with(|| Arc::new(DomainWatch::new(self.client.clone(), id)))
            .clone())
    }

    /// The domain's servers named `name` as a listing begun after this call shows them (servers
    /// deployed together share one listing: list once, watch many).
    pub(super) async fn servers_named_now(
        &self,
        domain: &str,
        name: &str,
    ) -> CloudResult<Vec<Server>> {
        let since = Instant::now();
        self.watch(domain)?
            .named_since(name, since, Duration::ZERO)
            .await
    }

    /// The registry, locked.
    pub(super) fn reg(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().expect("registry lock")
    }

    /// The id of a domain by name (from the inventory or the step that created it).
    pub(super) fn domain_id(&self, name: &str) -> CloudResult<String> {
        self.reg()
            .domain(name)
            .map(|d| d.id.clone())
            .ok_or_else(|| missing(format!("network domain {name}")))
    }

    /// What is known of VLAN `vlan` of `domain` (from the inventory or the step that created it).
    pub(super) fn vlan(&self, domain: &str, vlan: &str) -> CloudResult<VlanFacts> {
        self.reg()
            .domain(domain)
            .and_then(|d| d.vlans.get(vlan))
            .cloned()
            .ok_or_else(|| missing(format!("VLAN {vlan}")))
    }

    /// The id of VLAN `vlan` of `domain`.
    pub(super) fn vlan_id(&self, domain: &str, vlan: &str) -> CloudResult<String> {
        self.vlan(domain, vlan).map(|v| v.id)
    }

    /// What is known of the server of `node` in `domain`.
    pub(super) fn server(&self, domain: &str, node: &str) -> CloudResult<ServerFacts> {
        self.reg()
            .domain(domain)
            .and_then(|d| d.servers.get(node))
            .cloned()
            .ok_or_else(|| missing(format!("server {node}")))
    }

    /// The id of a server by domain and node name (from the inventory or an earlier step).
    pub(super) fn server_id(&self, domain: &str, node: &str) -> CloudResult<String> {
        self.server(domain, node).map(|f| f.id)
    }

    /// Changes what is known of the server of `node` in `domain` (known from now on).
    pub(super) fn set_server(&self, domain: &str, node: &str, f: impl FnOnce(&mut ServerFacts)) {
        let mut r = self.reg();
        if let Some(d) = r.domain_mut(domain) {
            f(d.servers.entry(node.to_string()).or_default());
        }
    }

    /// Waits for a server (observed through its domain's shared watch) and returns the last
    /// observation.
    pub(super) async fn wait_server(
        &self,
        domain: &str,
        id: &str,
        w: Wait,
        started: Option<bool>,
    ) -> CloudResult<Option<Server>> {
        let gone = matches!(
            w.op,
            cloud::AsyncOp::DeleteServer | cloud::AsyncOp::CleanServer
        );
        let watch = self.watch(domain)?;
        // (the listing the last poll saw, and when it was taken)
        let seen: Mutex<Option<(Instant, Arc<Listing>)>> = Mutex::new(None);
        let start = Instant::now();
        let floor = self.client.wait_policy().min_step / 2;
        // (a listing that woke this wait, showing its server settled)
        let woke: Mutex<Option<(Instant, Arc<Listing>)>> = Mutex::new(None);
        let probe = || async {
            let fresh = woke.lock().expect("lock").take();
            let (taken, list) = match fresh {
                Some(seen) => seen,
                None => {
                    // A listing a little older than this poll serves it, so that waits polling
                    // at about the same time share one request: up to half the time since the
                    // last poll's listing (and 3% of the wait), never that listing itself.
                    let last = seen.lock().expect("lock").as_ref().map(|(t, _)| *t);
                    let since = last.unwrap_or(start).elapsed();
                    let max_age = floor.max(start.elapsed().mul_f64(0.03).min(since / 2));
                    watch.poll(max_age, last).await?
                }
            };
            let p = cloud::server_probe(list.get(id), gone, started);
            *seen.lock().expect("lock") = Some((taken, list));
            Ok(p)
        };
        let woken = || async {
            let seen = watch.settled(id, gone, started).await;
            *woke.lock().expect("lock") = Some(seen);
        };
        self.client
            .wait_until_woken(&format!("server {id}"), w, probe, woken)
            .await?;
        let seen = seen.into_inner().expect("lock");
        Ok(seen.and_then(|(_, list)| list.get(id).cloned()))
    }
}
