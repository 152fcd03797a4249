//! The job runner: every pending operation is one job that runs its backend call (which makes it
//! real, e.g. boots a local node) on a blocking thread while it sleeps until the operation is due,
//! and is over at the later of the two. One tokio task per job sleeps exactly until it is due: no
//! polling adds latency. Pending work found in the store after a restart is rescheduled with its
//! remaining time; `BackendCall::replay` rebuilds in a fresh backend what the state says exists.

use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::backend::{BackendError, NicSpec, NodeBackend, ServerSpec};
use crate::models::server::{HardwareChange, nic_spec};
use crate::models::{Job, State};
use crate::ops::{OpKind, now_ms};

/// The backend call that makes a pending operation real.
#[derive(Debug, Clone)]
pub enum BackendCall {
    /// Nothing to do.
    Nothing,
    /// `create_domain`.
    CreateDomain(String),
    /// `delete_domain`.
    DeleteDomain(String),
    /// `create_vlan`.
    CreateVlan(String, String, Ipv4Addr, u8),
    /// `delete_vlan`.
    DeleteVlan(String, String),
    /// `create_server`, then `attach_nic` for each additional NIC.
    CreateServer(Box<ServerSpec>, bool, Vec<NicSpec>),
    /// `attach_nic` (server id, NIC).
    AttachNic(String, NicSpec),
    /// `detach_nic` (server id, NIC id).
    DetachNic(String, String),
    /// `start_server`.
    StartServer(String),
    /// `stop_server` (graceful?).
    StopServer(String, bool),
    /// `restart_server` (graceful?).
    RestartServer(String, bool),
    /// `delete_server`.
    DeleteServer(String),
    /// `resize_server` (CPU count, memory GB).
    ResizeServer(String, u32, u32),
}

impl BackendCall {
    /// The call for `job` given the current state.
    pub fn for_job(st: &State, job: &Job) -> BackendCall {
        let id = job.id.clone();
        match job.pending.op {
            OpKind::DeployNetworkDomain => BackendCall::CreateDomain(id),
            OpKind::DeleteNetworkDomain => BackendCall::DeleteDomain(id),
            OpKind::DeployVlan | OpKind::DeleteVlan => match st.vlans.get(&id) {
                Some(v) if job.pending.op == OpKind::DeployVlan => BackendCall::CreateVlan(
                    v.domain_id.clone(),
                    id,
                    v.gateway,
                    v.network.prefix_len(),
                ),
                Some(v) => BackendCall::DeleteVlan(v.domain_id.clone(), id),
                None => BackendCall::Nothing,
            },
            OpKind::DeployServer => match st.servers.get(&id) {
                Some(s) => match s.backend_spec(st) {
                    Some(spec) => BackendCall::CreateServer(
                        Box::new(spec),
                        s.start_on_deploy,
                        s.additional_nic_specs(st),
                    ),
                    None => BackendCall::Nothing,
                },
                None => BackendCall::Nothing,
            },
            OpKind::AddNic | OpKind::RemoveNic => match st.servers.get(&id).map(|s| &s.staged) {
                Some(Some(HardwareChange::AddNic(nic))) => match nic_spec(st, nic) {
                    Some(spec) => BackendCall::AttachNic(id, spec),
                    None => BackendCall::Nothing,
                },
                Some(Some(HardwareChange::RemoveNic(nic_id))) => {
                    BackendCall::DetachNic(id, nic_id.clone())
                }
                _ => BackendCall::Nothing,
            },
            OpKind::StartServer => BackendCall::StartServer(id),
            OpKind::ShutdownServer => BackendCall::StopServer(id, true),
            OpKind::PowerOffServer => BackendCall::StopServer(id, false),
            OpKind::RebootServer => BackendCall::RestartServer(id, true),
            OpKind::ResetServer => BackendCall::RestartServer(id, false),
            OpKind::DeleteServer | OpKind::CleanServer => BackendCall::DeleteServer(id),
            OpKind::ReconfigureServer => match st.servers.get(&id) {
                Some(s) => {
                    let (cpu, mem) = match &s.staged {
                        Some(HardwareChange::Reconfigure {
                            cpu_count,
                            memory_gb,
                            ..
                        }) => (
                            cpu_count.unwrap_or(s.cpu_count),
                            memory_gb.unwrap_or(s.memory_gb),
                        ),
                        _ => (s.cpu_count, s.memory_gb),
                    };
                    BackendCall::ResizeServer(id, cpu, mem)
                }
                None => BackendCall::Nothing,
            },
            // Disk changes are bookkeeping only: a local node's disk is a directory.
            OpKind::CreateFirewallRule
            | OpKind::ExpandVlan
            | OpKind::UpdateVmwareTools
            | OpKind::AddDisk
            | OpKind::ExpandDisk
            | OpKind::ChangeDiskSpeed => BackendCall::Nothing,
        }
    }

    /// The calls that rebuild in a fresh backend what `st` says exists (after a restart): domains,
    /// VLANs, deployed servers (started or not). Pending operations are not included: their jobs
    /// make their own calls.
    pub fn replay(st: &State) -> Vec<BackendCall> {
        use crate::models::ResourceState::{FailedAdd, PendingAdd};
        let mut calls = Vec::new();
        for d in st
            .domains
            .values()
            .filter(|d| !matches!(d.state, PendingAdd | FailedAdd))
        {
            calls.push(BackendCall::CreateDomain(d.id.clone()));
        }
        for v in st
            .vlans
            .values()
            .filter(|v| !matches!(v.state, PendingAdd | FailedAdd))
        {
            calls.push(BackendCall::CreateVlan(
                v.domain_id.clone(),
                v.id.clone(),
                v.gateway,
                v.network.prefix_len(),
            ));
        }
        for s in st.servers.values().filter(|s| s.deployed) {
            if let Some(spec) = s.backend_spec(st) {
                calls.push(BackendCall::CreateServer(
                    Box::new(spec),
                    s.started,
                    s.additional_nic_specs(st),
                ));
            }
        }
        calls
    }

    /// A short description for logs (never a secret).
    pub fn describe(&self) -> String {
        match self {
            BackendCall::Nothing => "nothing".into(),
            BackendCall::CreateDomain(d) => format!("create_domain {d}"),
            BackendCall::DeleteDomain(d) => format!("delete_domain {d}"),
            BackendCall::CreateVlan(_, v, _, _) => format!("create_vlan {v}"),
            BackendCall::DeleteVlan(_, v) => format!("delete_vlan {v}"),
            BackendCall::CreateServer(spec, start, nics) => {
                format!(
                    "create_server {} start={start} additional_nics={}",
                    spec.id,
                    nics.len()
                )
            }
            BackendCall::AttachNic(s, nic) => format!("attach_nic {} to {s}", nic.id),
            BackendCall::DetachNic(s, nic) => format!("detach_nic {nic} from {s}"),
            BackendCall::StartServer(s) => format!("start_server {s}"),
            BackendCall::StopServer(s, g) => format!("stop_server {s} graceful={g}"),
            BackendCall::RestartServer(s, g) => format!("restart_server {s} graceful={g}"),
            BackendCall::DeleteServer(s) => format!("delete_server {s}"),
            BackendCall::ResizeServer(s, c, m) => format!("resize_server {s} cpu={c} memory={m}"),
        }
    }

    /// Runs the call (blocking).
    pub fn run(&self, b: &dyn NodeBackend) -> Result<(), BackendError> {
        match self {
            BackendCall::Nothing => Ok(()),
            BackendCall::CreateDomain(d) => b.create_domain(d),
            BackendCall::DeleteDomain(d) => b.delete_domain(d),
            BackendCall::CreateVlan(d, v, gw, p) => b.create_vlan(d, v, *gw, *p),
            BackendCall::DeleteVlan(d, v) => b.delete_vlan(d, v),
            BackendCall::CreateServer(spec, start, nics) if nics.is_empty() => {
                b.create_server(spec, *start)
            }
            // The NICs are there before the node boots, as on a real VM.
            BackendCall::CreateServer(spec, start, nics) => {
                b.create_server(spec, false)?;
                nics.iter().try_for_each(|n| b.attach_nic(&spec.id, n))?;
                if *start {
                    b.start_server(&spec.id)
                } else {
                    Ok(())
                }
            }
            BackendCall::AttachNic(s, nic) => b.attach_nic(s, nic),
            BackendCall::DetachNic(s, nic) => b.detach_nic(s, nic),
            BackendCall::StartServer(s) => b.start_server(s),
            BackendCall::StopServer(s, g) => b.stop_server(s, *g),
            BackendCall::RestartServer(s, g) => b.restart_server(s, *g),
            BackendCall::DeleteServer(s) => b.delete_server(s),
            BackendCall::ResizeServer(s, c, m) => b.resize_server(s, *c, *m),
        }
    }
}

/// Why a job's backend call failed (the text becomes the resource's failure reason).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The backend refused or failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The blocking task running the call panicked or was cancelled.
    #[error("backend call failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Runs `call` on a blocking thread (inline when the backend never blocks) and sleeps until
/// `due_ms` at the same time; returns the call's outcome once both are over.
pub async fn run_job(
    backend: Arc<dyn NodeBackend>,
    call: BackendCall,
    due_ms: i64,
) -> Result<(), JobError> {
    let wait = async {
        let left = due_ms - now_ms();
        if left > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(left as u64)).await;
        }
    };
    if !backend.blocks() {
        let res = call.run(backend.as_ref());
        wait.await;
        return Ok(res?);
    }
    let work = tokio::task::spawn_blocking(move || call.run(backend.as_ref()));
    let (res, ()) = tokio::join!(work, wait);
    Ok(res??)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::NoBackend;

    #[tokio::test]
    async fn a_job_completes_at_the_later_of_latency_and_backend() {
        let backend: Arc<dyn NodeBackend> = Arc::new(NoBackend);
        let t0 = std::time::Instant::now();
        let due = now_ms() + 50;
        run_job(backend, BackendCall::Nothing, due).await.unwrap();
        assert!(t0.elapsed() >= std::time::Duration::from_millis(45));
    }
}
