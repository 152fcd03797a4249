//! The load balancer family (`networkDomainVip/…`): pools, VIP nodes, pool members and virtual
//! listeners, as the API reports them (shapes of the libcloud `networkDomainVip_*` fixtures), one
//! typed call per operation, and the waits for their states.
//!
//! A VIP node is an address that a pool balances to (the original names it after the server's
//! private address); a pool member puts a VIP node in a pool; a virtual listener answers on an
//! address of the domain (taken from its public IP blocks) and port and forwards to its pool.

use serde::{Deserialize, Serialize};

use super::error::{CloudError, CloudResult};
use super::model::ResourceState;
use super::ops::{Probe, Wait};
use super::transport::{CloudClient, Kind};
use super::wait::AsyncOp;
use super::wire::{ApiResponse, XmlBody};

/// A reference by id and name (`<pool id= name=/>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdName {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Name.
    #[serde(rename(deserialize = "@name"), alias = "name", default)]
    pub name: String,
}

/// A load balancer pool (`networkDomainVip/pool`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VipPool {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Owning domain.
    #[serde(default)]
    pub network_domain_id: String,
    /// Name (unique per domain).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// ROUND_ROBIN, LEAST_CONNECTIONS_MEMBER, …
    #[serde(default)]
    pub load_balance_method: String,
    /// NONE | RESELECT | DROP.
    #[serde(default)]
    pub service_down_action: Option<String>,
    /// Seconds.
    #[serde(default)]
    pub slow_ramp_time: Option<u32>,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
}

/// A VIP node: one address a pool can balance to (`networkDomainVip/node`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VipNode {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Owning domain.
    #[serde(default)]
    pub network_domain_id: String,
    /// Name (unique per domain).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// IPv4 address.
    #[serde(default)]
    pub ipv4_address: Option<String>,
    /// IPv6 address.
    #[serde(default)]
    pub ipv6_address: Option<String>,
    /// ENABLED | DISABLED | FORCED_OFFLINE.
    #[serde(default)]
    pub status: Option<String>,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
}

impl VipNode {
    /// The node's address (IPv4, else IPv6), blanks removed.
    pub fn address(&self) -> Option<String> {
        self.ipv4_address
            .as_deref()
            .or(self.ipv6_address.as_deref())
            .map(|a| a.trim().to_string())
    }
}

/// The node of a pool member (`<node id= name= ipAddress= status=/>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberNode {
    /// VIP node id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// VIP node name.
    #[serde(rename(deserialize = "@name"), alias = "name", default)]
    pub name: String,
    /// Its address.
    #[serde(rename(deserialize = "@ipAddress"), alias = "ipAddress", default)]
    pub ip_address: String,
}

/// A pool member (`networkDomainVip/poolMember`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolMember {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Owning domain.
    #[serde(default)]
    pub network_domain_id: String,
    /// The pool.
    pub pool: IdName,
    /// The VIP node.
    pub node: MemberNode,
    /// Port (none: the listener's).
    #[serde(default)]
    pub port: Option<u16>,
    /// ENABLED | DISABLED | FORCED_OFFLINE.
    #[serde(default)]
    pub status: Option<String>,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
}

/// A virtual listener (`networkDomainVip/virtualListener`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualListener {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Owning domain.
    #[serde(default)]
    pub network_domain_id: String,
    /// Name (unique per domain).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// STANDARD | PERFORMANCE_LAYER_4.
    #[serde(rename = "type", default)]
    pub listener_type: Option<String>,
    /// ANY | TCP | UDP | HTTP | FTP | SMTP.
    #[serde(default)]
    pub protocol: Option<String>,
    /// The address it answers on.
    #[serde(default)]
    pub listener_ip_address: Option<String>,
    /// The port it answers on (none: any).
    #[serde(default)]
    pub port: Option<u16>,
    /// Enabled flag.
    #[serde(default)]
    pub enabled: bool,
    /// Its pool.
    #[serde(default)]
    pub pool: Option<IdName>,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
}

impl VirtualListener {
    /// The listener's address, blanks removed.
    pub fn address(&self) -> Option<String> {
        self.listener_ip_address
            .as_deref()
            .map(|a| a.trim().to_string())
    }
}

/// Request to create a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVipPool {
    /// Domain.
    pub network_domain_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// ROUND_ROBIN, LEAST_CONNECTIONS_MEMBER, …
    pub load_balance_method: String,
    /// Health monitor ids (none: no monitor).
    pub health_monitor_ids: Vec<String>,
    /// NONE | RESELECT | DROP.
    pub service_down_action: String,
    /// Seconds.
    pub slow_ramp_time: u32,
}

/// Request to create a VIP node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVipNode {
    /// Domain.
    pub network_domain_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// IPv4 address.
    pub ipv4_address: String,
    /// Connection limit.
    pub connection_limit: u32,
    /// Connection rate limit.
    pub connection_rate_limit: u32,
}

/// Request to create a virtual listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVirtualListener {
    /// Domain.
    pub network_domain_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// STANDARD | PERFORMANCE_LAYER_4.
    pub listener_type: String,
    /// ANY | TCP | UDP | HTTP.
    pub protocol: String,
    /// Address (none: the API takes one from the domain's public blocks).
    pub listener_ip_address: Option<String>,
    /// Port (none: any).
    pub port: Option<u16>,
    /// Connection limit.
    pub connection_limit: u32,
    /// Connection rate limit.
    pub connection_rate_limit: u32,
    /// PRESERVE | PRESERVE_STRICT | CHANGE.
    pub source_port_preservation: String,
    /// Pool id.
    pub pool_id: String,
}

fn info(r: &ApiResponse, name: &str) -> CloudResult<String> {
    r.info(name)
        .map(str::to_string)
        .ok_or_else(|| CloudError::Decode {
            what: r.operation.clone(),
            detail: format!("no info {name} in the answer"),
        })
}

/// A wait's view of one load balancer resource: its state, or `None` when gone.
fn vip_probe(state: Option<ResourceState>, gone: bool) -> Probe {
    match (state, gone) {
        (None, true) => Probe::Done,
        (None, false) => Probe::Pending("not found".into()),
        (Some(ResourceState::Normal), false) => Probe::Done,
        (Some(s), _) if s.is_pending() || s == ResourceState::Normal => {
            Probe::Pending(s.to_string())
        }
        (Some(s), _) => Probe::Failed {
            state: s.to_string(),
            reason: String::new(),
        },
    }
}

/// Which load balancer resource a wait watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VipKind {
    /// A pool.
    Pool,
    /// A VIP node.
    Node,
    /// A pool member.
    PoolMember,
    /// A virtual listener.
    VirtualListener,
}

impl VipKind {
    fn path(self) -> &'static str {
        match self {
            VipKind::Pool => "pool",
            VipKind::Node => "node",
            VipKind::PoolMember => "poolMember",
            VipKind::VirtualListener => "virtualListener",
        }
    }
}

impl CloudClient {
    async fn vip_post(&self, kind: Kind, op: &str, body: String) -> CloudResult<ApiResponse> {
        self.post(kind, op, &format!("networkDomainVip/{op}"), body)
            .await
    }

    async fn vip_delete(&self, op: &str, id: &str) -> CloudResult<()> {
        let body = XmlBody::empty_root(op, &[("id", id)]);
        self.vip_post(Kind::Change, op, body).await.map(drop)
    }

    /// `GET networkDomainVip/pool?networkDomainId=`.
    pub async fn list_vip_pools(&self, domain_id: &str) -> CloudResult<Vec<VipPool>> {
        let f = [("networkDomainId", domain_id)];
        self.list_all("pool", "networkDomainVip/pool", &f).await
    }

    /// `GET networkDomainVip/node?networkDomainId=`.
    pub async fn list_vip_nodes(&self, domain_id: &str) -> CloudResult<Vec<VipNode>> {
        let f = [("networkDomainId", domain_id)];
        self.list_all("node", "networkDomainVip/node", &f).await
    }

    /// `GET networkDomainVip/poolMember` with filters (`networkDomainId`, `poolId`).
    pub async fn list_pool_members(
        &self,
        filters: &[(&str, &str)],
    ) -> CloudResult<Vec<PoolMember>> {
        self.list_all("poolMember", "networkDomainVip/poolMember", filters)
            .await
    }

    /// `GET networkDomainVip/virtualListener?networkDomainId=`.
    pub async fn list_virtual_listeners(
        &self,
        domain_id: &str,
    ) -> CloudResult<Vec<VirtualListener>> {
        let f = [("networkDomainId", domain_id)];
        self.list_all("virtualListener", "networkDomainVip/virtualListener", &f)
            .await
    }

    /// `GET networkDomainVip/pool/{id}`.
    pub async fn get_vip_pool(&self, id: &str) -> CloudResult<Option<VipPool>> {
        self.get_one("pool", &format!("networkDomainVip/pool/{id}"))
            .await
    }

    /// `GET networkDomainVip/node/{id}`.
    pub async fn get_vip_node(&self, id: &str) -> CloudResult<Option<VipNode>> {
        self.get_one("node", &format!("networkDomainVip/node/{id}"))
            .await
    }

    /// `GET networkDomainVip/poolMember/{id}`.
    pub async fn get_pool_member(&self, id: &str) -> CloudResult<Option<PoolMember>> {
        self.get_one("poolMember", &format!("networkDomainVip/poolMember/{id}"))
            .await
    }

    /// `GET networkDomainVip/virtualListener/{id}`.
    pub async fn get_virtual_listener(&self, id: &str) -> CloudResult<Option<VirtualListener>> {
        let path = format!("networkDomainVip/virtualListener/{id}");
        self.get_one("virtualListener", &path).await
    }

    /// `POST networkDomainVip/createPool` → new pool id.
    pub async fn create_vip_pool(&self, req: &NewVipPool) -> CloudResult<String> {
        let mut b = XmlBody::new("createPool", &[]);
        b.text("networkDomainId", &req.network_domain_id)
            .text("name", &req.name)
            .text("description", &req.description)
            .text("loadBalanceMethod", &req.load_balance_method);
        for h in &req.health_monitor_ids {
            b.text("healthMonitorId", h);
        }
        b.text("serviceDownAction", &req.service_down_action)
            .text("slowRampTime", &req.slow_ramp_time.to_string());
        let r = self
            .vip_post(Kind::Create, "createPool", b.finish())
            .await?;
        info(&r, "poolId")
    }

    /// `POST networkDomainVip/createNode` → new VIP node id.
    pub async fn create_vip_node(&self, req: &NewVipNode) -> CloudResult<String> {
        let mut b = XmlBody::new("createNode", &[]);
        b.text("networkDomainId", &req.network_domain_id)
            .text("name", &req.name)
            .text("description", &req.description)
            .text("ipv4Address", &req.ipv4_address)
            .text("status", "ENABLED")
            .text("connectionLimit", &req.connection_limit.to_string())
            .text(
                "connectionRateLimit",
                &req.connection_rate_limit.to_string(),
            );
        let r = self
            .vip_post(Kind::Create, "createNode", b.finish())
            .await?;
        info(&r, "nodeId")
    }

    /// `POST networkDomainVip/addPoolMember` → new pool member id. Without a port, the member
    /// takes the listener's.
    pub async fn add_pool_member(
        &self,
        pool_id: &str,
        node_id: &str,
        port: Option<u16>,
    ) -> CloudResult<String> {
        let mut b = XmlBody::new("addPoolMember", &[]);
        b.text("poolId", pool_id).text("nodeId", node_id);
        if let Some(p) = port {
            b.text("port", &p.to_string());
        }
        b.text("status", "ENABLED");
        let r = self
            .vip_post(Kind::Create, "addPoolMember", b.finish())
            .await?;
        info(&r, "poolMemberId")
    }

    /// `POST networkDomainVip/createVirtualListener` → (new id, its address).
    pub async fn create_virtual_listener(
        &self,
        req: &NewVirtualListener,
    ) -> CloudResult<(String, Option<String>)> {
        let mut b = XmlBody::new("createVirtualListener", &[]);
        b.text("networkDomainId", &req.network_domain_id)
            .text("name", &req.name)
            .text("description", &req.description)
            .text("type", &req.listener_type)
            .text("protocol", &req.protocol)
            .opt_text("listenerIpAddress", req.listener_ip_address.as_deref());
        if let Some(p) = req.port {
            b.text("port", &p.to_string());
        }
        b.text("enabled", "true")
            .text("connectionLimit", &req.connection_limit.to_string())
            .text(
                "connectionRateLimit",
                &req.connection_rate_limit.to_string(),
            )
            .text("sourcePortPreservation", &req.source_port_preservation)
            .text("poolId", &req.pool_id);
        let r = self
            .vip_post(Kind::Create, "createVirtualListener", b.finish())
            .await?;
        let ip = r.info("listenerIpAddress").map(str::to_string);
        Ok((info(&r, "virtualListenerId")?, ip))
    }

    /// `POST networkDomainVip/deletePool` (refused with HAS_DEPENDENCY while it has members or
    /// listeners).
    pub async fn delete_vip_pool(&self, id: &str) -> CloudResult<()> {
        self.vip_delete("deletePool", id).await
    }

    /// `POST networkDomainVip/deleteNode` (refused while a pool member uses it).
    pub async fn delete_vip_node(&self, id: &str) -> CloudResult<()> {
        self.vip_delete("deleteNode", id).await
    }

    /// `POST networkDomainVip/removePoolMember`.
    pub async fn remove_pool_member(&self, id: &str) -> CloudResult<()> {
        self.vip_delete("removePoolMember", id).await
    }

    /// `POST networkDomainVip/deleteVirtualListener`.
    pub async fn delete_virtual_listener(&self, id: &str) -> CloudResult<()> {
        self.vip_delete("deleteVirtualListener", id).await
    }

    /// The state of one load balancer resource, `None` when gone.
    async fn vip_state(&self, kind: VipKind, id: &str) -> CloudResult<Option<ResourceState>> {
        Ok(match kind {
            VipKind::Pool => self.get_vip_pool(id).await?.map(|x| x.state),
            VipKind::Node => self.get_vip_node(id).await?.map(|x| x.state),
            VipKind::PoolMember => self.get_pool_member(id).await?.map(|x| x.state),
            VipKind::VirtualListener => self.get_virtual_listener(id).await?.map(|x| x.state),
        })
    }

    /// Waits until a load balancer resource is NORMAL (`gone`: until it no longer exists). The API
    /// answers these operations at once; a resource found PENDING_* is waited for all the same.
    pub async fn wait_vip(&self, kind: VipKind, id: &str, gone: bool) -> CloudResult<()> {
        let what = format!("{} {id}", kind.path());
        self.wait_until(&what, Wait::after(AsyncOp::Quick), || async move {
            Ok(vip_probe(self.vip_state(kind, id).await?, gone))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes() {
        assert_eq!(vip_probe(Some(ResourceState::Normal), false), Probe::Done);
        assert_eq!(vip_probe(None, true), Probe::Done);
        assert!(matches!(
            vip_probe(Some(ResourceState::PendingAdd), false),
            Probe::Pending(_)
        ));
        assert!(matches!(
            vip_probe(Some(ResourceState::Normal), true),
            Probe::Pending(_)
        ));
        assert!(matches!(
            vip_probe(Some(ResourceState::FailedAdd), false),
            Probe::Failed { .. }
        ));
    }
}
