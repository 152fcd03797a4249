//! The clock: every asynchronous operation lasts the latency of its profile entry times the time
//! scale, runs its backend call at the same time, and completes at the later of the two. One tokio
//! task per pending operation sleeps exactly until it is due: no polling adds latency.
//! Pending work found in the store after a restart is rescheduled with its remaining time.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::backend::{BackendError, NicSpec, NodeBackend, ServerSpec};
use super::models::server::{HardwareChange, nic_spec};
use super::models::{Job, OpKind, State};

/// Approximate real latencies in seconds (before `--time-scale`); overridable with `--profile FILE`
/// (YAML or JSON with these camelCase keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    /// deployNetworkDomain.
    pub deploy_network_domain: f64,
    /// deleteNetworkDomain.
    pub delete_network_domain: f64,
    /// deployVlan.
    pub deploy_vlan: f64,
    /// deleteVlan.
    pub delete_vlan: f64,
    /// deployServer (stopped).
    pub deploy_server: f64,
    /// Extra for deployServer with `start=true`.
    pub deploy_server_started: f64,
    /// startServer.
    pub start_server: f64,
    /// shutdownServer.
    pub shutdown_server: f64,
    /// powerOffServer.
    pub power_off_server: f64,
    /// rebootServer.
    pub reboot_server: f64,
    /// resetServer.
    pub reset_server: f64,
    /// deleteServer.
    pub delete_server: f64,
    /// cleanServer.
    pub clean_server: f64,
    /// How long a new firewall rule shows PENDING_ADD.
    pub create_firewall_rule: f64,
    /// reconfigureServer (CPU, memory).
    pub reconfigure_server: f64,
    /// addDisk, expandDisk, changeDiskSpeed.
    pub change_disk: f64,
    /// addNic.
    pub add_nic: f64,
    /// removeNic.
    pub remove_nic: f64,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            deploy_network_domain: 60.0,
            delete_network_domain: 45.0,
            deploy_vlan: 45.0,
            delete_vlan: 30.0,
            deploy_server: 240.0,
            deploy_server_started: 30.0,
            start_server: 30.0,
            shutdown_server: 30.0,
            power_off_server: 10.0,
            reboot_server: 40.0,
            reset_server: 20.0,
            delete_server: 60.0,
            clean_server: 30.0,
            create_firewall_rule: 2.0,
            reconfigure_server: 20.0,
            change_disk: 20.0,
            add_nic: 20.0,
            remove_nic: 15.0,
        }
    }
}

/// Errors reading a profile file.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read profile {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a valid profile.
    #[error("invalid profile {path}: {message}")]
    Parse {
        /// File path.
        path: String,
        /// Cause.
        message: String,
    },
}

impl Profile {
    /// Reads a YAML (or JSON) profile; absent keys keep their defaults.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let p: Profile = serde_yaml::from_str(&text).map_err(|e| ProfileError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let all = [
            p.deploy_network_domain,
            p.delete_network_domain,
            p.deploy_vlan,
            p.delete_vlan,
            p.deploy_server,
            p.deploy_server_started,
            p.start_server,
            p.shutdown_server,
            p.power_off_server,
            p.reboot_server,
            p.reset_server,
            p.delete_server,
            p.clean_server,
            p.create_firewall_rule,
            p.reconfigure_server,
            p.change_disk,
            p.add_nic,
            p.remove_nic,
        ];
        if all.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(ProfileError::Parse {
                path: path.display().to_string(),
                message: "latencies must be non-negative numbers of seconds".into(),
            });
        }
        Ok(p)
    }
}

/// A profile with its time scale: the latency of each operation in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// Seconds per operation.
    pub profile: Profile,
    /// Multiplier (1 = real time).
    pub time_scale: f64,
}

impl Latency {
    /// Milliseconds `op` lasts; `start` adds the start time of a deployServer with `start=true`.
    pub fn ms(&self, op: OpKind, start: bool) -> i64 {
        let p = &self.profile;
        let s = match op {
            OpKind::DeployNetworkDomain => p.deploy_network_domain,
            OpKind::DeleteNetworkDomain => p.delete_network_domain,
            OpKind::DeployVlan => p.deploy_vlan,
            OpKind::DeleteVlan => p.delete_vlan,
            OpKind::DeployServer => {
                p.deploy_server + if start { p.deploy_server_started } else { 0.0 }
            }
            OpKind::StartServer => p.start_server,
            OpKind::ShutdownServer => p.shutdown_server,
            OpKind::PowerOffServer => p.power_off_server,
            OpKind::RebootServer => p.reboot_server,
            OpKind::ResetServer => p.reset_server,
            OpKind::DeleteServer => p.delete_server,
            OpKind::CleanServer => p.clean_server,
            OpKind::CreateFirewallRule => p.create_firewall_rule,
            OpKind::ReconfigureServer => p.reconfigure_server,
            OpKind::AddDisk | OpKind::ExpandDisk | OpKind::ChangeDiskSpeed => p.change_disk,
            OpKind::AddNic => p.add_nic,
            OpKind::RemoveNic => p.remove_nic,
        };
        (s * self.time_scale * 1000.0).round() as i64
    }
}

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
            | OpKind::AddDisk
            | OpKind::ExpandDisk
            | OpKind::ChangeDiskSpeed => BackendCall::Nothing,
        }
    }

    /// The calls that rebuild in a fresh backend what `st` says exists (after a restart): domains,
    /// VLANs, deployed servers (started or not). Pending operations are not included: their jobs
    /// make their own calls.
    pub fn replay(st: &State) -> Vec<BackendCall> {
        use super::models::ResourceState::{FailedAdd, PendingAdd};
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

/// Runs `call` on a blocking thread and sleeps until `due_ms` at the same time; returns the call's
/// outcome once both are over.
pub async fn run_job(
    backend: Arc<dyn NodeBackend>,
    call: BackendCall,
    due_ms: i64,
) -> Result<(), String> {
    let work = tokio::task::spawn_blocking(move || call.run(backend.as_ref()));
    let wait = async {
        let left = due_ms - super::models::now_ms();
        if left > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(left as u64)).await;
        }
    };
    let (res, ()) = tokio::join!(work, wait);
    match res {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("backend call failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_scales_and_adds_the_start_time() {
        let l = Latency {
            profile: Profile::default(),
            time_scale: 0.001,
        };
        assert_eq!(l.ms(OpKind::DeployServer, false), 240);
        assert_eq!(l.ms(OpKind::DeployServer, true), 270);
        assert_eq!(l.ms(OpKind::CreateFirewallRule, false), 2);
        let l = Latency {
            profile: Profile::default(),
            time_scale: 1.0,
        };
        assert_eq!(l.ms(OpKind::DeployNetworkDomain, false), 60_000);
    }

    #[test]
    fn profile_file_overrides_some_entries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.yaml");
        std::fs::write(&p, "deployServer: 5\nstartServer: 1.5\n").unwrap();
        let prof = Profile::load(&p).unwrap();
        assert_eq!(prof.deploy_server, 5.0);
        assert_eq!(prof.start_server, 1.5);
        assert_eq!(prof.deploy_vlan, 45.0);
        std::fs::write(&p, "deployServr: 5\n").unwrap();
        assert!(Profile::load(&p).is_err());
        std::fs::write(&p, "deployServer: -1\n").unwrap();
        assert!(Profile::load(&p).is_err());
    }

    #[tokio::test]
    async fn a_job_completes_at_the_later_of_latency_and_backend() {
        let backend: Arc<dyn NodeBackend> = Arc::new(super::super::backend::NoBackend);
        let t0 = std::time::Instant::now();
        let due = super::super::models::now_ms() + 50;
        run_job(backend, BackendCall::Nothing, due).await.unwrap();
        assert!(t0.elapsed() >= std::time::Duration::from_millis(45));
    }
}
