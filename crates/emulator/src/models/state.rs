//! The whole emulated cloud (`State`), the journal's records (`Resource`, `Record`) and the
//! transaction (`Tx`) every change goes through: it applies to the state at once, remembers how to
//! undo, what to journal and which operations (`Job`) it started.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::address_list::data::AddressList;
use super::common::{Job, Kind, Pending, ResourceState};
use super::firewall_rule::data::FirewallRule;
use super::nat_rule::data::NatRule;
use super::network_domain::data::NetworkDomain;
use super::public_ip_block::data::PublicIpBlock;
use super::server::data::Server;
use super::tag::data::{Tag, TagKey};
use super::vip::data::{Pool, PoolMember, VipNode, VirtualListener};
use super::vlan::data::Vlan;
use crate::errors::{ApiError, ApiResult};
use crate::ops::{Durations, OpKind, now_ms};

/// One stored resource, as written to the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value")]
pub enum Resource {
    /// Network domain.
    Domain(NetworkDomain),
    /// VLAN.
    Vlan(Vlan),
    /// Public IPv4 block.
    IpBlock(PublicIpBlock),
    /// NAT rule.
    Nat(NatRule),
    /// Firewall rule.
    Firewall(FirewallRule),
    /// Server.
    Server(Server),
    /// Load balancer pool.
    Pool(Pool),
    /// VIP node.
    VipNode(VipNode),
    /// Pool member.
    PoolMember(PoolMember),
    /// Virtual listener.
    Listener(VirtualListener),
    /// Tag key.
    TagKey(TagKey),
    /// Tag.
    Tag(Tag),
    /// IP address list or port list.
    AddressList(AddressList),
}

impl Resource {
    /// The kind and id of the resource.
    pub fn key(&self) -> (Kind, String) {
        match self {
            Resource::Domain(x) => (Kind::Domain, x.id.clone()),
            Resource::Vlan(x) => (Kind::Vlan, x.id.clone()),
            Resource::IpBlock(x) => (Kind::IpBlock, x.id.clone()),
            Resource::Nat(x) => (Kind::Nat, x.id.clone()),
            Resource::Firewall(x) => (Kind::Firewall, x.id.clone()),
            Resource::Server(x) => (Kind::Server, x.id.clone()),
            Resource::Pool(x) => (Kind::Pool, x.id.clone()),
            Resource::VipNode(x) => (Kind::VipNode, x.id.clone()),
            Resource::PoolMember(x) => (Kind::PoolMember, x.id.clone()),
            Resource::Listener(x) => (Kind::Listener, x.id.clone()),
            Resource::TagKey(x) => (Kind::TagKey, x.id.clone()),
            Resource::Tag(x) => (Kind::Tag, x.id.clone()),
            Resource::AddressList(x) => (Kind::AddressList, x.id.clone()),
        }
    }
}

/// One journal record: a new version of a resource, its removal, or a reset.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Record {
    /// A resource's new version.
    Put(Box<Resource>),
    /// A resource removed.
    Del {
        /// Its kind.
        kind: Kind,
        /// Its id.
        id: String,
    },
    /// Everything removed.
    Reset,
    /// The next operation sequence number.
    Seq(u64),
}

/// The whole emulated cloud of one organisation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// The organisation id in every `/caas/2.x/{orgId}/` path.
    pub org_id: String,
    /// Network domains by id.
    pub domains: BTreeMap<String, NetworkDomain>,
    /// VLANs by id.
    pub vlans: BTreeMap<String, Vlan>,
    /// Public IP blocks by id.
    pub ip_blocks: BTreeMap<String, PublicIpBlock>,
    /// NAT rules by id.
    pub nat_rules: BTreeMap<String, NatRule>,
    /// Firewall rules by id (order within a domain: `NetworkDomain::firewall_order`).
    pub firewall_rules: BTreeMap<String, FirewallRule>,
    /// Servers by id.
    pub servers: BTreeMap<String, Server>,
    /// Load balancer pools by id.
    #[serde(default)]
    pub vip_pools: BTreeMap<String, Pool>,
    /// VIP nodes by id.
    #[serde(default)]
    pub vip_nodes: BTreeMap<String, VipNode>,
    /// Pool members by id.
    #[serde(default)]
    pub pool_members: BTreeMap<String, PoolMember>,
    /// Virtual listeners by id.
    #[serde(default)]
    pub listeners: BTreeMap<String, VirtualListener>,
    /// Tag keys by id.
    #[serde(default)]
    pub tag_keys: BTreeMap<String, TagKey>,
    /// Tags by `ASSET_ID/TAG_KEY_ID`.
    #[serde(default)]
    pub tags: BTreeMap<String, Tag>,
    /// IP address lists and port lists by id.
    #[serde(default)]
    pub address_lists: BTreeMap<String, AddressList>,
    /// Next operation sequence number.
    pub next_seq: u64,
}

impl State {
    /// Applies one journal record (used on replay and by `Tx`).
    pub fn apply(&mut self, rec: &Record) {
        match rec {
            Record::Put(r) => {
                self.put((**r).clone());
            }
            Record::Del { kind, id } => {
                self.remove(*kind, id);
            }
            Record::Reset => {
                let org = std::mem::take(&mut self.org_id);
                let seq = self.next_seq;
                *self = State {
                    org_id: org,
                    next_seq: seq,
                    ..State::default()
                };
            }
            Record::Seq(s) => self.next_seq = self.next_seq.max(*s),
        }
    }

    /// Stores `r`; returns the resource it replaces.
    fn put(&mut self, r: Resource) -> Option<Resource> {
        match r {
            Resource::Domain(x) => self.domains.insert(x.id.clone(), x).map(Resource::Domain),
            Resource::Vlan(x) => self.vlans.insert(x.id.clone(), x).map(Resource::Vlan),
            Resource::IpBlock(x) => self
                .ip_blocks
                .insert(x.id.clone(), x)
                .map(Resource::IpBlock),
            Resource::Nat(x) => self.nat_rules.insert(x.id.clone(), x).map(Resource::Nat),
            Resource::Firewall(x) => self
                .firewall_rules
                .insert(x.id.clone(), x)
                .map(Resource::Firewall),
            Resource::Server(x) => self.servers.insert(x.id.clone(), x).map(Resource::Server),
            Resource::Pool(x) => self.vip_pools.insert(x.id.clone(), x).map(Resource::Pool),
            Resource::VipNode(x) => self
                .vip_nodes
                .insert(x.id.clone(), x)
                .map(Resource::VipNode),
            Resource::PoolMember(x) => self
                .pool_members
                .insert(x.id.clone(), x)
                .map(Resource::PoolMember),
            Resource::Listener(x) => self
                .listeners
                .insert(x.id.clone(), x)
                .map(Resource::Listener),
            Resource::TagKey(x) => self.tag_keys.insert(x.id.clone(), x).map(Resource::TagKey),
            Resource::Tag(x) => self.tags.insert(x.id.clone(), x).map(Resource::Tag),
            Resource::AddressList(x) => self
                .address_lists
                .insert(x.id.clone(), x)
                .map(Resource::AddressList),
        }
    }

    fn remove(&mut self, kind: Kind, id: &str) -> Option<Resource> {
        match kind {
            Kind::Domain => self.domains.remove(id).map(Resource::Domain),
            Kind::Vlan => self.vlans.remove(id).map(Resource::Vlan),
            Kind::IpBlock => self.ip_blocks.remove(id).map(Resource::IpBlock),
            Kind::Nat => self.nat_rules.remove(id).map(Resource::Nat),
            Kind::Firewall => self.firewall_rules.remove(id).map(Resource::Firewall),
            Kind::Server => self.servers.remove(id).map(Resource::Server),
            Kind::Pool => self.vip_pools.remove(id).map(Resource::Pool),
            Kind::VipNode => self.vip_nodes.remove(id).map(Resource::VipNode),
            Kind::PoolMember => self.pool_members.remove(id).map(Resource::PoolMember),
            Kind::Listener => self.listeners.remove(id).map(Resource::Listener),
            Kind::TagKey => self.tag_keys.remove(id).map(Resource::TagKey),
            Kind::Tag => self.tags.remove(id).map(Resource::Tag),
            Kind::AddressList => self.address_lists.remove(id).map(Resource::AddressList),
        }
    }

    fn get(&self, kind: Kind, id: &str) -> Option<Resource> {
        match kind {
            Kind::Domain => self.domains.get(id).cloned().map(Resource::Domain),
            Kind::Vlan => self.vlans.get(id).cloned().map(Resource::Vlan),
            Kind::IpBlock => self.ip_blocks.get(id).cloned().map(Resource::IpBlock),
            Kind::Nat => self.nat_rules.get(id).cloned().map(Resource::Nat),
            Kind::Firewall => self.firewall_rules.get(id).cloned().map(Resource::Firewall),
            Kind::Server => self.servers.get(id).cloned().map(Resource::Server),
            Kind::Pool => self.vip_pools.get(id).cloned().map(Resource::Pool),
            Kind::VipNode => self.vip_nodes.get(id).cloned().map(Resource::VipNode),
            Kind::PoolMember => self.pool_members.get(id).cloned().map(Resource::PoolMember),
            Kind::Listener => self.listeners.get(id).cloned().map(Resource::Listener),
            Kind::TagKey => self.tag_keys.get(id).cloned().map(Resource::TagKey),
            Kind::Tag => self.tags.get(id).cloned().map(Resource::Tag),
            Kind::AddressList => self
                .address_lists
                .get(id)
                .cloned()
                .map(Resource::AddressList),
        }
    }

    /// Number of stored resources of every kind.
    pub fn resource_count(&self) -> usize {
        self.domains.len()
            + self.vlans.len()
            + self.ip_blocks.len()
            + self.nat_rules.len()
            + self.firewall_rules.len()
            + self.servers.len()
            + self.vip_pools.len()
            + self.vip_nodes.len()
            + self.pool_members.len()
            + self.listeners.len()
            + self.tag_keys.len()
            + self.tags.len()
            + self.address_lists.len()
    }

    /// Every stored resource's kind and id.
    fn keys(&self) -> Vec<(Kind, String)> {
        fn ids<T>(k: Kind, m: &BTreeMap<String, T>) -> impl Iterator<Item = (Kind, String)> + '_ {
            m.keys().map(move |id| (k, id.clone()))
        }
        ids(Kind::Domain, &self.domains)
            .chain(ids(Kind::Vlan, &self.vlans))
            .chain(ids(Kind::IpBlock, &self.ip_blocks))
            .chain(ids(Kind::Nat, &self.nat_rules))
            .chain(ids(Kind::Firewall, &self.firewall_rules))
            .chain(ids(Kind::Server, &self.servers))
            .chain(ids(Kind::Pool, &self.vip_pools))
            .chain(ids(Kind::VipNode, &self.vip_nodes))
            .chain(ids(Kind::PoolMember, &self.pool_members))
            .chain(ids(Kind::Listener, &self.listeners))
            .chain(ids(Kind::TagKey, &self.tag_keys))
            .chain(ids(Kind::Tag, &self.tags))
            .chain(ids(Kind::AddressList, &self.address_lists))
            .collect()
    }

    /// The network domain `id`, or RESOURCE_NOT_FOUND.
    pub fn domain(&self, id: &str) -> ApiResult<&NetworkDomain> {
        self.domains
            .get(id)
            .ok_or_else(|| ApiError::not_found("Network Domain", id))
    }
    /// The network domain `id` if children may be added to it now: RESOURCE_BUSY while an
    /// operation is under way on it, INVALID_INPUT_DATA unless it is NORMAL.
    pub fn domain_ready(&self, id: &str) -> ApiResult<&NetworkDomain> {
        let d = self.domain(id)?;
        if d.state.is_pending() {
            return Err(ApiError::busy(format!(
                "Network Domain {id} is busy ({}).",
                d.state.as_str()
            )));
        }
        if d.state != ResourceState::Normal {
            return Err(ApiError::invalid(
                "networkDomainId",
                format!("Network Domain {id} is {}", d.state.as_str()),
            ));
        }
        Ok(d)
    }
    /// The VLAN `id`, or RESOURCE_NOT_FOUND.
    pub fn vlan(&self, id: &str) -> ApiResult<&Vlan> {
        self.vlans
            .get(id)
            .ok_or_else(|| ApiError::not_found("VLAN", id))
    }
    /// The server `id`, or RESOURCE_NOT_FOUND.
    pub fn server(&self, id: &str) -> ApiResult<&Server> {
        self.servers
            .get(id)
            .ok_or_else(|| ApiError::not_found("Server", id))
    }
}

impl State {
    /// Every operation under way, as jobs (rescheduled after a restart).
    pub fn pending_jobs(&self) -> Vec<Job> {
        let mut jobs = Vec::new();
        let mut add = |kind: Kind, id: &str, p: Option<Pending>| {
            if let Some(p) = p {
                jobs.push(Job {
                    kind,
                    id: id.to_string(),
                    pending: p,
                });
            }
        };
        for d in self.domains.values() {
            add(Kind::Domain, &d.id, d.pending);
        }
        for v in self.vlans.values() {
            add(Kind::Vlan, &v.id, v.pending);
        }
        for s in self.servers.values() {
            add(Kind::Server, &s.id, s.pending);
        }
        for r in self.firewall_rules.values() {
            add(Kind::Firewall, &r.id, r.pending);
        }
        jobs
    }

    /// Ids of the network domains that exist (neither being deployed nor failed to deploy).
    pub fn deployed_domains(&self) -> Vec<String> {
        self.domains
            .values()
            .filter(|d| {
                !matches!(
                    d.state,
                    ResourceState::PendingAdd | ResourceState::FailedAdd
                )
            })
            .map(|d| d.id.clone())
            .collect()
    }
}

/// A change in progress: applies to the state at once, remembers how to undo, what to journal and
/// what to schedule.
pub struct Tx<'a> {
    st: &'a mut State,
    durations: &'a dyn Durations,
    /// Records to journal, in order.
    pub records: Vec<Record>,
    undo: Vec<(Kind, String, Option<Resource>)>,
    /// Operations started, to hand to the job runner after commit.
    pub jobs: Vec<Job>,
    /// Network domains whose NAT/firewall set changed (to sync with the backend).
    pub public_changed: Vec<String>,
    /// The transaction's time, in ms since the epoch.
    pub now: i64,
}

impl<'a> Tx<'a> {
    /// Starts a transaction on `st`; operations it starts last what `durations` says.
    pub fn new(st: &'a mut State, durations: &'a dyn Durations) -> Self {
        Tx {
            st,
            durations,
            records: Vec::new(),
            undo: Vec::new(),
            jobs: Vec::new(),
            public_changed: Vec::new(),
            now: now_ms(),
        }
    }

    /// Read access to the state as changed so far.
    pub fn st(&self) -> &State {
        self.st
    }

    /// Stores a new version of a resource.
    pub fn put(&mut self, r: Resource) {
        let (kind, id) = r.key();
        let before = self.st.put(r.clone());
        self.undo.push((kind, id, before));
        self.records.push(Record::Put(Box::new(r)));
    }

    /// Removes a resource (and the tags applied to it).
    pub fn del(&mut self, kind: Kind, id: &str) {
        let before = self.st.remove(kind, id);
        self.undo.push((kind, id.to_string(), before));
        self.records.push(Record::Del {
            kind,
            id: id.to_string(),
        });
        if matches!(
            kind,
            Kind::Server | Kind::Domain | Kind::Vlan | Kind::IpBlock
        ) {
            let tags: Vec<String> = self
                .st
                .tags
                .values()
                .filter(|t| t.asset_id == id)
                .map(|t| t.id.clone())
                .collect();
            for t in tags {
                self.del(Kind::Tag, &t);
            }
        }
    }

    /// Removes everything (keeps the org id).
    pub fn reset(&mut self) {
        for (kind, id) in self.st.keys() {
            let before = self.st.get(kind, &id);
            self.undo.push((kind, id, before));
        }
        self.st.apply(&Record::Reset);
        self.records.push(Record::Reset);
    }

    /// Starts an asynchronous operation `op` on resource (`kind`, `id`), lasting what the
    /// transaction's durations say.
    pub fn pending(&mut self, kind: Kind, id: &str, op: OpKind) -> Pending {
        self.pending_then_start(kind, id, op, false)
    }

    /// Like `pending`; `then_start` adds the start of a server deployed with `start=true`.
    pub fn pending_then_start(
        &mut self,
        kind: Kind,
        id: &str,
        op: OpKind,
        then_start: bool,
    ) -> Pending {
        let latency_ms = self.durations.duration_ms(op, then_start);
        let seq = self.st.next_seq;
        self.st.next_seq += 1;
        self.records.push(Record::Seq(self.st.next_seq));
        let p = Pending {
            op,
            seq,
            requested_ms: self.now,
            due_ms: self.now + latency_ms.max(0),
        };
        self.jobs.push(Job {
            kind,
            id: id.to_string(),
            pending: p,
        });
        p
    }

    /// Marks a domain's NAT/firewall set as changed.
    pub fn public_changed(&mut self, domain_id: &str) {
        if !self.public_changed.iter().any(|d| d == domain_id) {
            self.public_changed.push(domain_id.to_string());
        }
    }

    /// Records that undo this transaction once committed (newest change undone first).
    pub fn inverse(&self) -> Vec<Record> {
        self.undo
            .iter()
            .rev()
            .map(|(kind, id, before)| match before {
                Some(r) => Record::Put(Box::new(r.clone())),
                None => Record::Del {
                    kind: *kind,
                    id: id.clone(),
                },
            })
            .collect()
    }

    /// Reverts every change made through this transaction.
    pub fn rollback(mut self) {
        while let Some((kind, id, before)) = self.undo.pop() {
            self.st.remove(kind, &id);
            if let Some(r) = before {
                self.st.put(r);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::network_domain::{self, DeployDomain};

    #[test]
    fn a_rolled_back_transaction_leaves_no_trace() {
        let mut st = State::default();
        let before = serde_json::to_string(&st).unwrap();
        let mut tx = Tx::new(&mut st, &crate::ops::Immediate);
        let req = DeployDomain {
            datacenter_id: "NA9".into(),
            name: "x".into(),
            description: String::new(),
            service_type: "ESSENTIALS".into(),
        };
        network_domain::deploy(&mut tx, req).unwrap();
        assert_eq!(tx.st().firewall_rules.len(), 5);
        tx.rollback();
        let mut after = st.clone();
        after.next_seq = 0;
        assert_eq!(serde_json::to_string(&after).unwrap(), before);
    }
}
