//! The running emulator's shared core: the state behind a lock, the store, the backend, faults and
//! request counters. Every change is applied, journaled and only then answered; the operations it
//! starts are handed to the job runner (`jobs`) once committed.

use std::sync::{Arc, Mutex, RwLock};

use crate::backend::{NatSpec, NodeBackend, VipSpec};
use crate::errors::{ApiError, ApiResult};
use crate::faults::Faults;
use crate::fragments::FragmentCache;
use crate::jobs::{self, BackendCall};
use crate::latency::Latency;
use crate::models::{self, Job, Record, State, Tx, firewall_rule};
use crate::request_log::RequestLog;
use crate::stats::RequestCounts;
use crate::store::Store;

/// Shared state of one emulator.
pub struct Core {
    /// The emulated cloud.
    pub state: RwLock<State>,
    store: Mutex<Store>,
    /// Latencies.
    pub lat: Latency,
    /// What makes resources real.
    pub backend: Arc<dyn NodeBackend>,
    /// API user name.
    pub user: String,
    /// API password.
    pub(crate) password: String,
    /// Fault injection.
    pub faults: Faults,
    /// Request counters.
    pub requests: Mutex<RequestCounts>,
    /// Request log.
    pub log: RequestLog,
    /// Rendered list items, valid until the state changes.
    pub fragments: FragmentCache,
    public_sync: tokio::sync::Mutex<()>,
    rt: tokio::runtime::Handle,
}

/// Everything `Core::new` needs.
pub struct CoreParts {
    /// Recovered state.
    pub state: State,
    /// Its store.
    pub store: Store,
    /// Latencies.
    pub lat: Latency,
    /// Backend.
    pub backend: Arc<dyn NodeBackend>,
    /// API user.
    pub user: String,
    /// API password.
    pub password: String,
    /// Faults.
    pub faults: Faults,
    /// Request log.
    pub log: RequestLog,
}

impl Core {
    /// Builds the core on runtime `rt` and reschedules every pending operation found in the state.
    pub fn new(p: CoreParts, rt: tokio::runtime::Handle) -> Arc<Core> {
        let core = Arc::new(Core {
            state: RwLock::new(p.state),
            store: Mutex::new(p.store),
            lat: p.lat,
            backend: p.backend,
            user: p.user,
            password: p.password,
            faults: p.faults,
            requests: Mutex::new(RequestCounts::default()),
            log: p.log,
            fragments: FragmentCache::default(),
            public_sync: tokio::sync::Mutex::new(()),
            rt,
        });
        let st = core.read();
        let jobs = st.pending_jobs();
        let calls: Vec<(Job, BackendCall)> = jobs
            .into_iter()
            .map(|j| {
                let c = BackendCall::for_job(&st, &j);
                (j, c)
            })
            .collect();
        let replay = BackendCall::replay(&st);
        let domains = st.deployed_domains();
        drop(st);
        // After a restart the backend may hold nothing: rebuild what the state says exists, then
        // resume the pending operations.
        let c2 = core.clone();
        core.rt.spawn(async move {
            if !replay.is_empty() {
                let b = c2.backend.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    for call in replay {
                        if let Err(e) = call.run(b.as_ref()) {
                            tracing::warn!(
                                "restoring ({}) in the backend failed: {e}",
                                call.describe()
                            );
                        }
                    }
                })
                .await;
                for d in &domains {
                    if let Err(e) = c2.sync_public(d).await {
                        tracing::warn!("restoring the public exposure of domain {d} failed: {e}");
                    }
                }
            }
            for (job, call) in calls {
                c2.spawn_job(job, call);
            }
        });
        core
    }

    /// Read access to the state.
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` as one transaction: applied and journaled, or not at all. Returns its value, the
    /// records to undo it, and the domains whose public exposure changed.
    fn commit<T>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Tx<'_>) -> ApiResult<T>,
    ) -> ApiResult<(T, Vec<Record>, Vec<String>)> {
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        let mut tx = Tx::new(&mut st, &self.lat);
        let value = match f(&mut tx) {
            Ok(v) => v,
            Err(e) => {
                tx.rollback();
                return Err(e);
            }
        };
        let records = std::mem::take(&mut tx.records);
        let jobs = std::mem::take(&mut tx.jobs);
        let changed = std::mem::take(&mut tx.public_changed);
        let inverse = tx.inverse();
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = store.append(&records) {
            tracing::error!("journal write failed: {e}");
            tx.rollback();
            return Err(ApiError::unexpected(
                "the emulator could not persist the change",
            ));
        }
        drop(tx);
        self.fragments.forget(&records);
        if let Err(e) = store.maybe_compact(&st) {
            tracing::warn!("compaction failed: {e}");
        }
        drop(store);
        let calls: Vec<(Job, BackendCall)> = jobs
            .into_iter()
            .map(|j| {
                let c = BackendCall::for_job(&st, &j);
                (j, c)
            })
            .collect();
        drop(st);
        for (job, call) in calls {
            self.spawn_job(job, call);
        }
        Ok((value, inverse, changed))
    }

    /// Applies a change made through the API; then brings the backend's public exposure up to date,
    /// undoing the change if the backend refuses it.
    pub async fn change<T>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Tx<'_>) -> ApiResult<T>,
    ) -> ApiResult<T> {
        let (value, inverse, changed) = self.commit(f)?;
        if changed.is_empty() || !self.backend.exposes_public() {
            return Ok(value);
        }
        // Syncs read the state current when they run, so serialising only them is enough; other
        // changes never wait for a (possibly slow) backend.
        let guard = self.public_sync.lock().await;
        for d in &changed {
            if let Err(e) = self.sync_public(d).await {
                tracing::warn!("backend refused the public change of domain {d}: {e}");
                let undo = inverse.clone();
                let _ = self.commit(move |tx| {
                    for r in undo {
                        match r {
                            Record::Put(res) => tx.put(*res),
                            Record::Del { kind, id } => tx.del(kind, &id),
                            _ => {}
                        }
                    }
                    Ok(())
                });
                for d in &changed {
                    let _ = self.sync_public(d).await;
                }
                drop(guard);
                return Err(ApiError::unexpected(format!(
                    "the network could not be changed: {e}"
                )));
            }
        }
        drop(guard);
        Ok(value)
    }

    async fn sync_public(self: &Arc<Self>, domain_id: &str) -> Result<(), String> {
        let (nats, rules, vips) = {
            let st = self.read();
            let nats: Vec<NatSpec> = st
                .nat_rules
                .values()
                .filter(|r| r.domain_id == domain_id)
                .map(|r| NatSpec {
                    id: r.id.clone(),
                    internal: r.internal,
                    external: r.external,
                })
                .collect();
            (
                nats,
                firewall_rule::specs(&st, domain_id),
                vip_specs(&st, domain_id),
            )
        };
        let backend = self.backend.clone();
        let d = domain_id.to_string();
        let sync = move || backend.sync_public_vips(&d, &nats, &rules, &vips);
        match tokio::task::spawn_blocking(sync).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn spawn_job(self: &Arc<Self>, job: Job, call: BackendCall) {
        let core = self.clone();
        self.rt.spawn(async move {
            let outcome = jobs::run_job(core.backend.clone(), call, job.pending.due_ms)
                .await
                .map_err(|e| e.to_string());
            if let Err(e) = &outcome {
                tracing::warn!("{} of {} failed: {e}", job.pending.op.action(), job.id);
            }
            core.complete(job, outcome);
        });
    }

    fn complete(self: &Arc<Self>, job: Job, outcome: Result<(), String>) {
        if let Err(e) = self.commit(|tx| {
            models::complete(tx, &job, outcome);
            Ok(())
        }) {
            tracing::error!("could not complete {}: {e}", job.id);
        }
    }

    /// Removes every resource and zeroes the request counters (the control endpoint `POST reset`).
    /// Pending jobs find nothing and end.
    pub fn reset(self: &Arc<Self>) -> ApiResult<()> {
        *self.requests.lock().unwrap_or_else(|e| e.into_inner()) = RequestCounts::default();
        let ids: Vec<String> = self.read().servers.keys().cloned().collect();
        let domains: Vec<String> = self.read().domains.keys().cloned().collect();
        self.commit(|tx| {
            tx.reset();
            Ok(())
        })?;
        let backend = self.backend.clone();
        self.rt.spawn_blocking(move || {
            for s in ids {
                let _ = backend.delete_server(&s);
            }
            for d in domains {
                let _ = backend.sync_public(&d, &[], &[]);
                let _ = backend.delete_domain(&d);
            }
        });
        Ok(())
    }

    /// Whether the Basic credentials match.
    pub fn check_credentials(&self, user: &str, password: &str) -> bool {
        let a = user.as_bytes() == self.user.as_bytes();
        let b = constant_time_eq(password.as_bytes(), self.password.as_bytes());
        a & b
    }

    /// Writes a snapshot and empties the journal (used on clean shutdown).
    pub fn compact(&self) {
        let st = self.read();
        if let Err(e) = self
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .compact(&st)
        {
            tracing::warn!("compaction failed: {e}");
        }
    }
}

/// The virtual listeners of a domain that balance TCP (enabled, with a port, protocol TCP, HTTP
/// or ANY), each with its enabled members whose VIP node is enabled too.
fn vip_specs(st: &State, domain_id: &str) -> Vec<VipSpec> {
    st.listeners
        .values()
        .filter(|l| l.domain_id == domain_id && l.enabled && l.protocol != "UDP")
        .filter_map(|l| {
            let port = l.port?;
            let pool = l.pool_id.as_ref()?;
            let mut members: Vec<_> = st
                .pool_members
                .values()
                .filter(|m| &m.pool_id == pool && m.status == "ENABLED")
                .filter_map(|m| {
                    let n = st.vip_nodes.get(&m.node_id)?;
                    (n.status == "ENABLED").then_some((
                        m.create_ms,
                        &m.id,
                        n.ipv4,
                        m.port.unwrap_or(port),
                    ))
                })
                .collect();
            members.sort();
            Some(VipSpec {
                id: l.id.clone(),
                address: l.ip,
                port,
                members: members.into_iter().map(|m| (m.2, m.3)).collect(),
            })
        })
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
