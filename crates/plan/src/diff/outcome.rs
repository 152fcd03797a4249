//! What the diff hands back ([`Diff`]: the steps and the notes), and the step ids that one resource
//! kind hands to the next while a phase is planned (a server waits for its VLAN's step, a NAT rule
//! for the domain's new IP blocks, a VLAN's deletion for its servers' deletions...).

use std::collections::{BTreeMap, BTreeSet};

use crate::steps::StepPlan;

/// The steps of a phase plus notes on what was left alone and why.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// The DAG.
    pub plan: StepPlan,
    /// Human notes (skipped nodes, kept domains...).
    pub notes: Vec<String>,
}

/// Build: the step after which each network element is ready (`None`: ready already).
#[derive(Debug, Default)]
pub(crate) struct BuildSteps<'a> {
    /// Per domain name: its create or wait step. A domain missing here is not built in.
    pub domain: BTreeMap<&'a str, Option<usize>>,
    /// Per (domain, VLAN) name: the step after which the VLAN takes servers (created, waited for,
    /// addresses reserved). A VLAN missing here is not available.
    pub vlan: BTreeMap<(&'a str, &'a str), Option<usize>>,
    /// Per domain name: the steps adding public IP blocks.
    pub blocks: BTreeMap<&'a str, Vec<usize>>,
    /// The steps after which each basement server is ready (other servers wait for them).
    pub basement_ready: Vec<usize>,
    /// Per domain name: the accept rules created (the default IPv6 deny waits for them).
    pub accept: BTreeMap<&'a str, Vec<usize>>,
    /// Per (domain, node) name: the step after which the node's server is ready (`None`: ready
    /// already). A node missing here is not built.
    pub node_ready: BTreeMap<(String, String), Option<usize>>,
    /// Per tag key name: the step creating it (keys that exist have none).
    pub tag_keys: BTreeMap<String, usize>,
}

/// Destroy: what the node deletions remove, for the network elements that wait for them.
#[derive(Debug, Default)]
pub(crate) struct Deleted {
    /// Ids of the servers deleted.
    pub servers: BTreeSet<String>,
    /// Ids of the NAT rules deleted.
    pub nat: BTreeSet<String>,
    /// Ids of the firewall rules deleted.
    pub rules: BTreeSet<String>,
    /// Per domain name: every deleting step so far (the domain's deletion waits for them).
    pub per_domain: BTreeMap<String, Vec<usize>>,
    /// Per (domain name, VLAN id): the deletions of servers with a NIC on it.
    pub server_deletes: BTreeMap<(String, String), Vec<usize>>,
    /// Per domain name: the NAT rule deletions.
    pub nat_deletes: BTreeMap<String, Vec<usize>>,
    /// Deletions of non-basement servers (basement servers go after them).
    pub non_basement: Vec<usize>,
    /// Ids of the virtual listeners deleted.
    pub listeners: BTreeSet<String>,
    /// Per domain name: deletions that free public addresses other than NAT rules' (listeners).
    pub address_frees: BTreeMap<String, Vec<usize>>,
    /// Per (domain, node) name: steps the deletion of the node's server waits for (its VIP node).
    pub before_server: BTreeMap<(String, String), Vec<usize>>,
}
