//! What the engine is asked to do ([`Action`]) and the phases each action runs.

use serde::Serialize;

use plan::Phase;

use crate::error::EngineError;

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Network, servers (stopped), monitoring, NAT, firewall.
    Build,
    /// The original's build polisher: bring what exists in line with the plan (cpu, memory, disks,
    /// monitoring, NICs, NAT, firewall, balancers). Runs the build phase, which does the same and
    /// also creates what is missing; servers are left as they are (not started).
    Configure,
    /// Build with servers started, start stopped ones, then prepare and information.
    Deploy,
    /// Bootstrap the running nodes over SSH, check the outcome.
    Prepare,
    /// Start every node.
    Start,
    /// Stop every node (except `running: always`).
    Stop,
    /// Stop, then destroy.
    Dispose,
    /// Destroy stopped nodes and the network elements the plan owns.
    Destroy,
    /// Destroy stopped nodes only.
    Wipe,
    /// Stop, wipe, then deploy again.
    Refresh,
    /// Per node: state, addresses, monitoring, information lines.
    Information,
    /// A YAML inventory of the nodes.
    Inventory,
    /// An INI inventory for Ansible.
    Ansible,
    /// Reachability of each node's SSH port.
    Ping,
}

impl std::str::FromStr for Action {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "build" => Action::Build,
            "configure" => Action::Configure,
            "deploy" => Action::Deploy,
            "prepare" => Action::Prepare,
            "start" => Action::Start,
            "stop" => Action::Stop,
            "dispose" => Action::Dispose,
            "destroy" => Action::Destroy,
            "wipe" => Action::Wipe,
            "refresh" => Action::Refresh,
            "information" => Action::Information,
            "inventory" => Action::Inventory,
            "ansible" => Action::Ansible,
            "ping" => Action::Ping,
            other => return Err(EngineError::UnknownAction(other.to_string())),
        })
    }
}

impl Action {
    /// The phases the action runs, in order (none for the polishers alone).
    pub fn phases(self) -> Vec<Phase> {
        match self {
            Action::Build | Action::Configure => vec![Phase::Build { start: false }],
            Action::Deploy => vec![Phase::Build { start: true }],
            Action::Start => vec![Phase::Start],
            Action::Stop => vec![Phase::Stop],
            Action::Dispose => vec![Phase::Destroy {
                network: true,
                stop: true,
            }],
            Action::Destroy => vec![Phase::Destroy {
                network: true,
                stop: false,
            }],
            Action::Wipe => vec![Phase::Destroy {
                network: false,
                stop: false,
            }],
            Action::Refresh => vec![
                Phase::Destroy {
                    network: false,
                    stop: true,
                },
                Phase::Build { start: true },
            ],
            Action::Prepare
            | Action::Information
            | Action::Inventory
            | Action::Ansible
            | Action::Ping => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse() {
        assert_eq!("Deploy".parse::<Action>().unwrap(), Action::Deploy);
        assert!("graph".parse::<Action>().is_err());
        assert_eq!(Action::Refresh.phases().len(), 2);
        assert_eq!("configure".parse::<Action>().unwrap(), Action::Configure);
        assert_eq!(Action::Configure.phases(), Action::Build.phases());
    }
}
