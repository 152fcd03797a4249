//! The latency profile: how long each asynchronous operation lasts (approximate real latencies,
//! overridable with `--profile FILE`), times the time scale. It answers the models' `Durations`
//! question; the job runner (`jobs`) waits for the answer.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ops::{Durations, OpKind};

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
    /// expandVlan.
    pub expand_vlan: f64,
    /// updateVmwareTools.
    pub update_vmware_tools: f64,
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
            expand_vlan: 30.0,
            update_vmware_tools: 30.0,
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
            p.expand_vlan,
            p.update_vmware_tools,
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
            OpKind::ExpandVlan => p.expand_vlan,
            OpKind::UpdateVmwareTools => p.update_vmware_tools,
        };
        (s * self.time_scale * 1000.0).round() as i64
    }
}

impl Durations for Latency {
    fn duration_ms(&self, op: OpKind, then_start: bool) -> i64 {
        self.ms(op, then_start)
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
}
