//! One typed call per CloudControl operation (deploy subset), and waits for asynchronous ones.
//!
//! Creates return the new id from the envelope's `info`; a lost answer comes back as
//! [`CloudError::AnswerLost`] so that the caller observes before creating again.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::codes::ErrorCode;
use super::error::{CloudError, CloudResult};
use super::model::*;
use super::transport::{CloudClient, Kind, Secret};
use super::wait::AsyncOp;
use super::wire::{self, ApiResponse, XmlBody};

/// Request to deploy a network domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNetworkDomain {
    /// Datacenter (location) id.
    pub datacenter_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// ESSENTIALS | ADVANCED.
    pub plan: String,
}

/// Request to deploy a VLAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVlan {
    /// Domain.
    pub network_domain_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Base address, e.g. `10.0.3.0`.
    pub base_address: String,
    /// Prefix length.
    pub prefix_size: u8,
}

/// Where a new firewall rule goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Placement {
    /// First.
    First,
    /// Last.
    Last,
    /// Before the named rule.
    Before(String),
    /// After the named rule.
    After(String),
}

/// Request to create a firewall rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFirewallRule {
    /// Domain.
    pub network_domain_id: String,
    /// Name (unique in the domain).
    pub name: String,
    /// ACCEPT_DECISIVELY | DROP.
    pub action: String,
    /// IPV4 | IPV6.
    pub ip_version: String,
    /// IP | TCP | UDP | ICMP.
    pub protocol: String,
    /// Source (no ip = ANY).
    pub source: FirewallScope,
    /// Destination.
    pub destination: FirewallScope,
    /// Enabled.
    pub enabled: bool,
    /// Placement.
    pub placement: Placement,
}

/// A CPU request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuSpec {
    /// Count.
    pub count: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// STANDARD | HIGHPERFORMANCE.
    pub speed: String,
}

/// Request to deploy a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewServer {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Image id.
    pub image_id: String,
    /// Start once deployed.
    pub start: bool,
    /// Root/administrator password (omitted for customer UNIX images).
    #[serde(skip)]
    pub administrator_password: Option<Secret>,
    /// CPU.
    pub cpu: Option<CpuSpec>,
    /// Memory.
    pub memory_gb: Option<u32>,
    /// Domain.
    pub network_domain_id: String,
    /// VLAN of the primary NIC (or give `primary_ipv4`).
    pub primary_vlan_id: Option<String>,
    /// Fixed private address of the primary NIC.
    pub primary_ipv4: Option<String>,
}

/// Request to reconfigure a server's CPU and memory: `None` leaves a value as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconfigure {
    /// Number of virtual CPUs (1..32).
    pub cpu_count: Option<u32>,
    /// Memory in GB (1..256).
    pub memory_gb: Option<u32>,
    /// STANDARD | HIGHPERFORMANCE.
    pub cpu_speed: Option<String>,
    /// Cores per socket (divides the CPU count).
    pub cores_per_socket: Option<u32>,
}

/// Outcome of one poll during a wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The wait is over.
    Done,
    /// Still going, with the state seen.
    Pending(String),
    /// Cannot end well.
    Failed {
        /// State seen.
        state: String,
        /// failureReason, if any.
        reason: String,
    },
}

/// What a wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// The operation (gives the expected duration).
    pub op: AsyncOp,
    /// True when the operation was accepted just now (so its duration teaches the pacer).
    pub calibrate: bool,
    /// When the API accepted the operation, if earlier than the wait's start (the pacer counts
    /// from there: a server deploy's wait starts after the listing that follows the deploy).
    pub accepted: Option<Instant>,
}

impl Wait {
    /// Waiting for an operation this process just started.
    pub fn after(op: AsyncOp) -> Self {
        Wait {
            op,
            calibrate: true,
            accepted: None,
        }
    }
    /// Waiting for an operation found pending (started earlier, maybe by a killed run).
    pub fn resume(op: AsyncOp) -> Self {
        Wait {
            op,
            calibrate: false,
            accepted: None,
        }
    }
    /// The same wait, counted from `at` when known (when the API accepted the operation).
    pub fn accepted_at(self, at: Option<Instant>) -> Self {
        Wait {
            accepted: at.or(self.accepted),
            ..self
        }
    }
    fn deletes(&self) -> bool {
        matches!(
            self.op,
            AsyncOp::DeleteNetworkDomain
                | AsyncOp::DeleteVlan
                | AsyncOp::DeleteServer
                | AsyncOp::CleanServer
        )
    }
}

fn new_id(resp: &ApiResponse, name: &str) -> CloudResult<String> {
    resp.info(name)
        .map(str::to_string)
        .ok_or_else(|| CloudError::Decode {
            what: resp.operation.clone(),
            detail: format!("no info {name} in the answer"),
        })
}

fn scope_xml(b: &mut XmlBody, tag: &str, s: &FirewallScope) {
    b.open(tag, &[]);
    match (&s.ip, &s.ip_address_list_id) {
        (Some(ip), _) => {
            let prefix = ip.prefix_size.map(|p| p.to_string());
            let mut attrs = vec![("address", ip.address.as_str())];
            if let Some(p) = &prefix {
                attrs.push(("prefixSize", p));
            }
            b.empty("ip", &attrs);
        }
        (None, Some(list)) => {
            b.text("ipAddressListId", list);
        }
        (None, None) => {
            b.empty("ip", &[("address", "ANY")]);
        }
    }
    if let Some(port) = &s.port {
        let begin = port.begin.to_string();
        let end = port.end.map(|e| e.to_string());
        let mut attrs = vec![("begin", begin.as_str())];
        if let Some(e) = &end {
            attrs.push(("end", e));
        }
        b.empty("port", &attrs);
    } else if let Some(list) = &s.port_list_id {
        b.text("portListId", list);
    }
    b.close(tag);
}

fn domain_probe(d: Option<NetworkDomainLike>, gone: bool) -> Probe {
    match d {
        None if gone => Probe::Done,
        None => Probe::Failed {
            state: "GONE".into(),
            reason: "the resource disappeared".into(),
        },
        Some(s) if s.is_pending() => Probe::Pending(s.to_string()),
        Some(s) if s.is_failed() => Probe::Failed {
            state: s.to_string(),
            reason: String::new(),
        },
        Some(s) if gone => Probe::Pending(s.to_string()),
        Some(_) => Probe::Done,
    }
}

type NetworkDomainLike = ResourceState;

impl CloudClient {
    // ---- infrastructure and images ------------------------------------------------------------

    /// `GET infrastructure/datacenter`.
    pub async fn list_datacenters(&self) -> CloudResult<Vec<Datacenter>> {
        self.list_all("datacenter", "infrastructure/datacenter", &[])
            .await
    }

    /// `GET infrastructure/datacenter?id=`.
    pub async fn get_datacenter(&self, id: &str) -> CloudResult<Option<Datacenter>> {
        let all: Vec<Datacenter> = self
            .list_all("datacenter", "infrastructure/datacenter", &[("id", id)])
            .await?;
        Ok(all.into_iter().find(|d| d.id == id))
    }

    /// `GET image/osImage?datacenterId=`.
    pub async fn list_os_images(&self, datacenter_id: Option<&str>) -> CloudResult<Vec<Image>> {
        let f: Vec<(&str, &str)> = datacenter_id
            .map(|d| ("datacenterId", d))
            .into_iter()
            .collect();
        self.list_all("osImage", "image/osImage", &f).await
    }

    /// `GET image/osImage/{id}`.
    pub async fn get_os_image(&self, id: &str) -> CloudResult<Option<Image>> {
        self.get_one("osImage", &format!("image/osImage/{id}"))
            .await
    }

    /// `GET image/customerImage/{id}`.
    pub async fn get_customer_image(&self, id: &str) -> CloudResult<Option<Image>> {
        self.get_one("customerImage", &format!("image/customerImage/{id}"))
            .await
    }

    // ---- network domains -----------------------------------------------------------------------

    /// `GET network/networkDomain` with filters such as `("datacenterId","NA9")`, `("name",…)`.
    pub async fn list_network_domains(
        &self,
        filters: &[(&str, &str)],
    ) -> CloudResult<Vec<NetworkDomain>> {
        self.list_all("networkDomain", "network/networkDomain", filters)
            .await
    }

    /// `GET network/networkDomain/{id}`.
    pub async fn get_network_domain(&self, id: &str) -> CloudResult<Option<NetworkDomain>> {
        self.get_one("networkDomain", &format!("network/networkDomain/{id}"))
            .await
    }

    /// `POST network/deployNetworkDomain` → new id.
    pub async fn deploy_network_domain(&self, req: &NewNetworkDomain) -> CloudResult<String> {
        let mut b = XmlBody::new("deployNetworkDomain", &[]);
        b.text("datacenterId", &req.datacenter_id)
            .text("name", &req.name)
            .opt_text("description", req.description.as_deref())
            .text("type", &req.plan);
        let r = self
            .post(
                Kind::Create,
                "deployNetworkDomain",
                "network/deployNetworkDomain",
                b.finish(),
            )
            .await?;
        new_id(&r, "networkDomainId")
    }

    /// `POST network/editNetworkDomain`.
    pub async fn edit_network_domain(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        plan: Option<&str>,
    ) -> CloudResult<()> {
        let mut b = XmlBody::new("editNetworkDomain", &[("id", id)]);
        b.opt_text("name", name)
            .opt_text("description", description)
            .opt_text("type", plan);
        self.post(
            Kind::Change,
            "editNetworkDomain",
            "network/editNetworkDomain",
            b.finish(),
        )
        .await
        .map(drop)
    }

    /// `POST network/deleteNetworkDomain` (asynchronous).
    pub async fn delete_network_domain(&self, id: &str) -> CloudResult<()> {
        self.simple_post("deleteNetworkDomain", "network", id).await
    }

    // ---- VLANs ---------------------------------------------------------------------------------

    /// `GET network/vlan` with filters (`networkDomainId`, `name`, …).
    pub async fn list_vlans(&self, filters: &[(&str, &str)]) -> CloudResult<Vec<Vlan>> {
        self.list_all("vlan", "network/vlan", filters).await
    }

    /// `GET network/vlan/{id}`.
    pub async fn get_vlan(&self, id: &str) -> CloudResult<Option<Vlan>> {
        self.get_one("vlan", &format!("network/vlan/{id}")).await
    }

    /// `POST network/deployVlan` (2.4 body) → new id.
    pub async fn deploy_vlan(&self, req: &NewVlan) -> CloudResult<String> {
        let mut b = XmlBody::new("deployVlan", &[]);
        b.text("networkDomainId", &req.network_domain_id)
            .text("name", &req.name)
            .opt_text("description", req.description.as_deref())
            .text("privateIpv4BaseAddress", &req.base_address)
            .text("privateIpv4PrefixSize", &req.prefix_size.to_string());
        let r = self
            .post(Kind::Create, "deployVlan", "network/deployVlan", b.finish())
            .await?;
        new_id(&r, "vlanId")
    }

    /// `POST network/editVlan`.
    pub async fn edit_vlan(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> CloudResult<()> {
        let mut b = XmlBody::new("editVlan", &[("id", id)]);
        b.opt_text("name", name)
            .opt_text("description", description);
        self.post(Kind::Change, "editVlan", "network/editVlan", b.finish())
            .await
            .map(drop)
    }

    /// `POST network/deleteVlan` (asynchronous).
    pub async fn delete_vlan(&self, id: &str) -> CloudResult<()> {
        self.simple_post("deleteVlan", "network", id).await
    }

    // ---- reserved private addresses ------------------------------------------------------------

    /// `GET network/reservedPrivateIpv4Address?vlanId=` (every page): the private addresses
    /// reserved on a VLAN.
    pub async fn list_reserved_private_ipv4(
        &self,
        vlan_id: &str,
    ) -> CloudResult<Vec<ReservedPrivateIpv4>> {
        self.list_all(
            "ipv4",
            "network/reservedPrivateIpv4Address",
            &[("vlanId", vlan_id)],
        )
        .await
    }

    /// `POST network/reservePrivateIpv4Address` (synchronous). Refusals are retried like any
    /// change, lost answers re-sent; IP_ADDRESS_NOT_UNIQUE (a re-sent request whose first answer
    /// was lost, or an earlier run) is checked against the VLAN's reservations: an address already
    /// reserved on this VLAN is success, one held by a server stays an error.
    pub async fn reserve_private_ipv4(
        &self,
        vlan_id: &str,
        ip: &str,
        description: Option<&str>,
    ) -> CloudResult<()> {
        let mut b = XmlBody::new("reservePrivateIpv4Address", &[]);
        b.text("vlanId", vlan_id)
            .text("ipAddress", ip)
            .opt_text("description", description);
        let sent = self
            .post(
                Kind::Change,
                "reservePrivateIpv4Address",
                "network/reservePrivateIpv4Address",
                b.finish(),
            )
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.has_code(ErrorCode::IpAddressNotUnique) => {
                let held = self.list_reserved_private_ipv4(vlan_id).await?;
                if held.iter().any(|r| r.ip_address == ip) {
                    tracing::debug!(target: "cloud", vlan_id, ip, "already reserved on this VLAN");
                    Ok(())
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `POST network/unreservePrivateIpv4Address` (synchronous). RESOURCE_NOT_FOUND means the
    /// address is not reserved there (maybe a re-sent request whose first answer was lost).
    pub async fn unreserve_private_ipv4(&self, vlan_id: &str, ip: &str) -> CloudResult<()> {
        let mut b = XmlBody::new("unreservePrivateIpv4Address", &[]);
        b.text("vlanId", vlan_id).text("ipAddress", ip);
        self.post(
            Kind::Change,
            "unreservePrivateIpv4Address",
            "network/unreservePrivateIpv4Address",
            b.finish(),
        )
        .await
        .map(drop)
    }

    // ---- public IP blocks ----------------------------------------------------------------------

    /// `GET network/publicIpBlock?networkDomainId=`.
    pub async fn list_public_ip_blocks(&self, domain_id: &str) -> CloudResult<Vec<PublicIpBlock>> {
        self.list_all(
            "publicIpBlock",
            "network/publicIpBlock",
            &[("networkDomainId", domain_id)],
        )
        .await
    }

    /// `GET network/publicIpBlock/{id}`.
    pub async fn get_public_ip_block(&self, id: &str) -> CloudResult<Option<PublicIpBlock>> {
        self.get_one("publicIpBlock", &format!("network/publicIpBlock/{id}"))
            .await
    }

    /// `POST network/addPublicIpBlock` → new block id.
    pub async fn add_public_ip_block(&self, domain_id: &str) -> CloudResult<String> {
        let mut b = XmlBody::new("addPublicIpBlock", &[]);
        b.text("networkDomainId", domain_id);
        let r = self
            .post(
                Kind::Create,
                "addPublicIpBlock",
                "network/addPublicIpBlock",
                b.finish(),
            )
            .await?;
        new_id(&r, "ipBlockId")
    }

    /// `POST network/removePublicIpBlock`.
    pub async fn remove_public_ip_block(&self, id: &str) -> CloudResult<()> {
        self.simple_post("removePublicIpBlock", "network", id).await
    }

    /// `GET network/reservedPublicIpv4Address?networkDomainId=` (every page).
    pub async fn list_reserved_public_ipv4(&self, domain_id: &str) -> CloudResult<Vec<ReservedIp>> {
        let mut out = Vec::new();
        for page in 1..=1000u32 {
            let q = [
                ("networkDomainId", domain_id.to_string()),
                ("pageNumber", page.to_string()),
                ("pageSize", "250".to_string()),
            ];
            let body = self
                .get_raw(
                    "reservedPublicIpv4Address",
                    "network/reservedPublicIpv4Address",
                    &q,
                )
                .await?;
            let items = wire::decode_reserved_ips(&body)?;
            let n = items.len();
            out.extend(items);
            if n < 250 {
                break;
            }
        }
        Ok(out)
    }

    // ---- NAT -----------------------------------------------------------------------------------

    /// `GET network/natRule?networkDomainId=`.
    pub async fn list_nat_rules(&self, domain_id: &str) -> CloudResult<Vec<NatRule>> {
        self.list_all(
            "natRule",
            "network/natRule",
            &[("networkDomainId", domain_id)],
        )
        .await
    }

    /// `GET network/natRule/{id}`.
    pub async fn get_nat_rule(&self, id: &str) -> CloudResult<Option<NatRule>> {
        self.get_one("natRule", &format!("network/natRule/{id}"))
            .await
    }

    /// `POST network/createNatRule` → new id. Without `external_ip` the API picks a free address.
    pub async fn create_nat_rule(
        &self,
        domain_id: &str,
        internal_ip: &str,
        external_ip: Option<&str>,
    ) -> CloudResult<String> {
        let mut b = XmlBody::new("createNatRule", &[]);
        b.text("networkDomainId", domain_id)
            .text("internalIp", internal_ip)
            .opt_text("externalIp", external_ip);
        let r = self
            .post(
                Kind::Create,
                "createNatRule",
                "network/createNatRule",
                b.finish(),
            )
            .await?;
        new_id(&r, "natRuleId")
    }

    /// `POST network/deleteNatRule`.
    pub async fn delete_nat_rule(&self, id: &str) -> CloudResult<()> {
        self.simple_post("deleteNatRule", "network", id).await
    }

    // ---- firewall ------------------------------------------------------------------------------

    /// `GET network/firewallRule?networkDomainId=` (every page).
    pub async fn list_firewall_rules(&self, domain_id: &str) -> CloudResult<Vec<FirewallRule>> {
        self.list_all(
            "firewallRule",
            "network/firewallRule",
            &[("networkDomainId", domain_id)],
        )
        .await
    }

    /// `GET network/firewallRule/{id}`.
    pub async fn get_firewall_rule(&self, id: &str) -> CloudResult<Option<FirewallRule>> {
        self.get_one("firewallRule", &format!("network/firewallRule/{id}"))
            .await
    }

    /// `POST network/createFirewallRule` → new id.
    pub async fn create_firewall_rule(&self, req: &NewFirewallRule) -> CloudResult<String> {
        let mut b = XmlBody::new("createFirewallRule", &[]);
        b.text("networkDomainId", &req.network_domain_id)
            .text("name", &req.name)
            .text("action", &req.action)
            .text("ipVersion", &req.ip_version)
            .text("protocol", &req.protocol);
        scope_xml(&mut b, "source", &req.source);
        scope_xml(&mut b, "destination", &req.destination);
        b.text("enabled", if req.enabled { "true" } else { "false" });
        match &req.placement {
            Placement::First => b.empty("placement", &[("position", "FIRST")]),
            Placement::Last => b.empty("placement", &[("position", "LAST")]),
            Placement::Before(r) => b.empty(
                "placement",
                &[("position", "BEFORE"), ("relativeToRule", r)],
            ),
            Placement::After(r) => {
                b.empty("placement", &[("position", "AFTER"), ("relativeToRule", r)])
            }
        };
        let r = self
            .post(
                Kind::Create,
                "createFirewallRule",
                "network/createFirewallRule",
                b.finish(),
            )
            .await?;
        new_id(&r, "firewallRuleId")
    }

    /// `POST network/editFirewallRule` (enable or disable).
    pub async fn edit_firewall_rule(&self, id: &str, enabled: bool) -> CloudResult<()> {
        let mut b = XmlBody::new("editFirewallRule", &[("id", id)]);
        b.text("enabled", if enabled { "true" } else { "false" });
        self.post(
            Kind::Change,
            "editFirewallRule",
            "network/editFirewallRule",
            b.finish(),
        )
        .await
        .map(drop)
    }

    /// `POST network/deleteFirewallRule`.
    pub async fn delete_firewall_rule(&self, id: &str) -> CloudResult<()> {
        self.simple_post("deleteFirewallRule", "network", id).await
    }

    // ---- servers -------------------------------------------------------------------------------

    /// `GET server/server` with filters (`networkDomainId`, `datacenterId`, `name`, …).
    pub async fn list_servers(&self, filters: &[(&str, &str)]) -> CloudResult<Vec<Server>> {
        self.list_all("server", "server/server", filters).await
    }

    /// `GET server/server` with filters, each server's status only (what waits read, decoded
    /// faster than whole servers).
    pub async fn list_server_statuses(
        &self,
        filters: &[(&str, &str)],
    ) -> CloudResult<Vec<ServerStatus>> {
        self.list_all_with(
            "server",
            "server/server",
            filters,
            super::status_xml::decode_page,
        )
        .await
    }

    /// `GET server/server/{id}`.
    pub async fn get_server(&self, id: &str) -> CloudResult<Option<Server>> {
        self.get_one("server", &format!("server/server/{id}")).await
    }

    /// `POST server/deployServer` → new id.
    pub async fn deploy_server(&self, req: &NewServer) -> CloudResult<String> {
        let mut b = XmlBody::new("deployServer", &[]);
        b.text("name", &req.name)
            .text("description", &req.description)
            .text("imageId", &req.image_id)
            .text("start", if req.start { "true" } else { "false" });
        if let Some(p) = &req.administrator_password {
            b.text("administratorPassword", p.expose());
        }
        if let Some(c) = &req.cpu {
            let (count, cores) = (c.count.to_string(), c.cores_per_socket.to_string());
            b.empty(
                "cpu",
                &[
                    ("speed", &c.speed),
                    ("count", &count),
                    ("coresPerSocket", &cores),
                ],
            );
        }
        if let Some(m) = req.memory_gb {
            b.text("memoryGb", &m.to_string());
        }
        b.open(
            "networkInfo",
            &[("networkDomainId", &req.network_domain_id)],
        )
        .open("primaryNic", &[]);
        match (&req.primary_ipv4, &req.primary_vlan_id) {
            (Some(ip), _) => b.text("privateIpv4", ip),
            (None, Some(v)) => b.text("vlanId", v),
            (None, None) => {
                return Err(CloudError::Config(format!(
                    "server {} needs a VLAN or a private IPv4 for its primary NIC",
                    req.name
                )));
            }
        };
        b.close("primaryNic").close("networkInfo");
        let r = self
            .post(
                Kind::Create,
                "deployServer",
                "server/deployServer",
                b.finish(),
            )
            .await?;
        new_id(&r, "serverId")
    }

    /// `POST server/startServer`.
    pub async fn start_server(&self, id: &str) -> CloudResult<()> {
        self.simple_post("startServer", "server", id).await
    }

    /// `POST server/shutdownServer` (graceful).
    pub async fn shutdown_server(&self, id: &str) -> CloudResult<()> {
        self.simple_post("shutdownServer", "server", id).await
    }

    /// `POST server/powerOffServer`.
    pub async fn power_off_server(&self, id: &str) -> CloudResult<()> {
        self.simple_post("powerOffServer", "server", id).await
    }

    /// `POST server/rebootServer`.
    pub async fn reboot_server(&self, id: &str) -> CloudResult<()> {
        self.simple_post("rebootServer", "server", id).await
    }

    /// `POST server/resetServer`.
    pub async fn reset_server(&self, id: &str) -> CloudResult<()> {
        self.simple_post("resetServer", "server", id).await
    }

    /// `POST server/deleteServer` (the server must be stopped).
    pub async fn delete_server(&self, id: &str) -> CloudResult<()> {
        self.simple_post("deleteServer", "server", id).await
    }

    /// `POST server/cleanServer` (removes a FAILED_ADD server).
    pub async fn clean_server(&self, id: &str) -> CloudResult<()> {
        self.simple_post("cleanServer", "server", id).await
    }

    /// `POST server/enableServerMonitoring`.
    pub async fn enable_server_monitoring(&self, id: &str, plan: &str) -> CloudResult<()> {
        self.monitoring_post("enableServerMonitoring", id, Some(plan))
            .await
    }

    /// `POST server/changeServerMonitoringPlan`.
    pub async fn change_server_monitoring_plan(&self, id: &str, plan: &str) -> CloudResult<()> {
        self.monitoring_post("changeServerMonitoringPlan", id, Some(plan))
            .await
    }

    /// `POST server/disableServerMonitoring`.
    pub async fn disable_server_monitoring(&self, id: &str) -> CloudResult<()> {
        self.monitoring_post("disableServerMonitoring", id, None)
            .await
    }

    /// `POST server/updateVmwareTools`: upgrades the server's VMware tools (IN_PROGRESS; the
    /// server shows `UPDATE_VMWARE_TOOLS` until done). NO_CHANGE when they are current.
    pub async fn update_vmware_tools(&self, id: &str) -> CloudResult<()> {
        self.simple_post("updateVmwareTools", "server", id).await
    }

    /// `POST server/reconfigureServer`: CPU count, cores per socket, CPU speed and memory (each
    /// optional; absent ones are left as they are). Wait with [`AsyncOp::ReconfigureServer`].
    pub async fn reconfigure_server(&self, id: &str, req: &Reconfigure) -> CloudResult<()> {
        let mut b = XmlBody::new("reconfigureServer", &[("id", id)]);
        if let Some(n) = req.cpu_count {
            b.text("cpuCount", &n.to_string());
        }
        if let Some(m) = req.memory_gb {
            b.text("memoryGb", &m.to_string());
        }
        if let Some(sp) = &req.cpu_speed {
            b.text("cpuSpeed", sp);
        }
        if let Some(c) = req.cores_per_socket {
            b.text("coresPerSocket", &c.to_string());
        }
        self.post(
            Kind::Change,
            "reconfigureServer",
            "server/reconfigureServer",
            b.finish(),
        )
        .await
        .map(drop)
    }

    /// `POST server/addDisk` → new disk id. Wait with [`AsyncOp::ChangeDisk`].
    pub async fn add_disk(
        &self,
        server_id: &str,
        size_gb: u32,
        speed: &str,
        scsi_id: Option<u32>,
    ) -> CloudResult<String> {
        let mut b = XmlBody::new("addDisk", &[("id", server_id)]);
        b.text("sizeGb", &size_gb.to_string()).text("speed", speed);
        if let Some(n) = scsi_id {
            b.text("scsiId", &n.to_string());
        }
        let r = self
            .post(Kind::Change, "addDisk", "server/addDisk", b.finish())
            .await?;
        new_id(&r, "diskId")
    }

    /// `POST server/expandDisk` (grow only). Wait on the server with [`AsyncOp::ChangeDisk`].
    pub async fn expand_disk(&self, disk_id: &str, new_size_gb: u32) -> CloudResult<()> {
        let mut b = XmlBody::new("expandDisk", &[("id", disk_id)]);
        b.text("newSizeGb", &new_size_gb.to_string());
        self.post(Kind::Change, "expandDisk", "server/expandDisk", b.finish())
            .await
            .map(drop)
    }

    /// `POST server/changeDiskSpeed`. Wait on the server with [`AsyncOp::ChangeDisk`].
    pub async fn change_disk_speed(&self, disk_id: &str, speed: &str) -> CloudResult<()> {
        let mut b = XmlBody::new("changeDiskSpeed", &[("id", disk_id)]);
        b.text("speed", speed);
        self.post(
            Kind::Change,
            "changeDiskSpeed",
            "server/changeDiskSpeed",
            b.finish(),
        )
        .await
        .map(drop)
    }

    async fn monitoring_post(&self, op: &str, id: &str, plan: Option<&str>) -> CloudResult<()> {
        let body = match plan {
            Some(p) => {
                let mut b = XmlBody::new(op, &[("id", id)]);
                b.text("servicePlan", p);
                b.finish()
            }
            None => XmlBody::empty_root(op, &[("id", id)]),
        };
        self.post(Kind::Change, op, &format!("server/{op}"), body)
            .await
            .map(drop)
    }

    async fn simple_post(&self, op: &str, area: &str, id: &str) -> CloudResult<()> {
        let body = XmlBody::empty_root(op, &[("id", id)]);
        self.post(Kind::Change, op, &format!("{area}/{op}"), body)
            .await
            .map(drop)
    }

    // ---- waits ---------------------------------------------------------------------------------

    /// Polls `probe` on the pacer's schedule until it says done, failed, or the wait times out.
    pub async fn wait_until<F, Fut>(&self, what: &str, wait: Wait, probe: F) -> CloudResult<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = CloudResult<Probe>>,
    {
        self.wait_until_woken(what, wait, probe, std::future::pending::<()>)
            .await
    }

    /// Like [`wait_until`](Self::wait_until), also probing as soon as `woken()` completes (a
    /// shared listing that shows the resource settled: the poll it saves would come up to one
    /// pacer step late). The pacer's schedule goes on from where it was.
    pub async fn wait_until_woken<F, Fut, W, WFut>(
        &self,
        what: &str,
        wait: Wait,
        mut probe: F,
        mut woken: W,
    ) -> CloudResult<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = CloudResult<Probe>>,
        W: FnMut() -> WFut,
        WFut: Future<Output = ()>,
    {
        let pacer = &self.inner.pacer;
        let policy = &self.inner.wait;
        let start = wait.accepted.unwrap_or_else(Instant::now);
        let timeout = pacer.timeout(wait.op, policy);
        let mut before = Duration::ZERO;
        loop {
            let delay = pacer.next_delay(wait.op, start.elapsed(), policy);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = woken() => {}
            }
            let at = start.elapsed();
            match probe().await? {
                Probe::Done => {
                    if wait.calibrate {
                        pacer.record(wait.op, before, at);
                    }
                    return Ok(());
                }
                Probe::Pending(state) => {
                    before = at;
                    if start.elapsed() >= timeout {
                        return Err(CloudError::WaitTimeout {
                            what: what.to_string(),
                            waited: start.elapsed(),
                            state,
                        });
                    }
                }
                Probe::Failed { state, reason } => {
                    return Err(CloudError::Failed {
                        what: what.to_string(),
                        state,
                        reason,
                    });
                }
            }
        }
    }

    /// Waits until the domain is NORMAL (deploy) or gone (delete).
    pub async fn wait_network_domain(&self, id: &str, wait: Wait) -> CloudResult<()> {
        let gone = wait.deletes();
        self.wait_until(&format!("network domain {id}"), wait, || async move {
            Ok(domain_probe(
                self.get_network_domain(id).await?.map(|d| d.state),
                gone,
            ))
        })
        .await
    }

    /// Waits until the VLAN is NORMAL (deploy) or gone (delete).
    pub async fn wait_vlan(&self, id: &str, wait: Wait) -> CloudResult<()> {
        let gone = wait.deletes();
        self.wait_until(&format!("VLAN {id}"), wait, || async move {
            Ok(domain_probe(
                self.get_vlan(id).await?.map(|v| v.state),
                gone,
            ))
        })
        .await
    }

    /// Waits until the firewall rule is NORMAL.
    pub async fn wait_firewall_rule(&self, id: &str) -> CloudResult<()> {
        self.wait_until(
            &format!("firewall rule {id}"),
            Wait::after(AsyncOp::Quick),
            || async move {
                Ok(domain_probe(
                    self.get_firewall_rule(id).await?.map(|r| r.state),
                    false,
                ))
            },
        )
        .await
    }

    /// Waits until the server is NORMAL with no pending action (and started as asked), or gone for
    /// deletes. A `failureReason` ends the wait.
    pub async fn wait_server(
        &self,
        id: &str,
        wait: Wait,
        started: Option<bool>,
    ) -> CloudResult<()> {
        let gone = wait.deletes();
        self.wait_until(&format!("server {id}"), wait, || async move {
            let s = self.get_server(id).await?;
            Ok(server_probe(s.as_ref(), gone, started))
        })
        .await
    }
}

/// Interprets one server observation for a wait.
pub fn server_probe(s: Option<&Server>, gone: bool, started: Option<bool>) -> Probe {
    let Some(s) = s else {
        return domain_probe(None, gone);
    };
    if let Some(reason) = s.progress.as_ref().and_then(|p| p.failure_reason.clone())
        && !reason.trim().is_empty()
    {
        return Probe::Failed {
            state: s.state.to_string(),
            reason,
        };
    }
    if s.state.is_failed() {
        return Probe::Failed {
            state: s.state.to_string(),
            reason: String::new(),
        };
    }
    let settled = s.state == ResourceState::Normal && s.pending_action().is_none();
    if gone || !settled || started.is_some_and(|want| want != s.started) {
        let action = s.pending_action().unwrap_or("");
        return Probe::Pending(format!("{} {action}", s.state).trim().to_string());
    }
    Probe::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(state: &str, action: Option<&str>, failure: Option<&str>, started: bool) -> Server {
        let progress = action.map(|a| {
            let f = failure.map_or(String::new(), |f| {
                format!("<failureReason>{f}</failureReason>")
            });
            format!("<progress><action>{a}</action>{f}</progress>")
        });
        let xml = format!(
            r#"<server xmlns="urn:didata.com:api:cloud:types" id="s1" datacenterId="NA9"><name>n</name>
               <started>{started}</started><state>{state}</state>{}</server>"#,
            progress.unwrap_or_default()
        );
        wire::decode("server", &xml).unwrap()
    }

    #[test]
    fn server_probes() {
        let done = server("NORMAL", None, None, true);
        assert_eq!(server_probe(Some(&done), false, Some(true)), Probe::Done);
        assert!(matches!(
            server_probe(Some(&done), false, Some(false)),
            Probe::Pending(_)
        ));
        let pending = server("PENDING_ADD", Some("DEPLOY_SERVER"), None, true);
        assert_eq!(
            server_probe(Some(&pending), false, None),
            Probe::Pending("PENDING_ADD DEPLOY_SERVER".into())
        );
        let failed = server(
            "PENDING_ADD",
            Some("DEPLOY_SERVER"),
            Some("no capacity"),
            false,
        );
        assert_eq!(
            server_probe(Some(&failed), false, None),
            Probe::Failed {
                state: "PENDING_ADD".into(),
                reason: "no capacity".into()
            }
        );
        let failed_add = server("FAILED_ADD", None, None, false);
        assert!(matches!(
            server_probe(Some(&failed_add), false, None),
            Probe::Failed { .. }
        ));
        assert_eq!(server_probe(None, true, None), Probe::Done);
        assert!(matches!(
            server_probe(None, false, None),
            Probe::Failed { .. }
        ));
        assert!(matches!(
            server_probe(Some(&done), true, None),
            Probe::Pending(_)
        ));
    }

    /// A client of an endpoint nothing listens on (for waits whose probes never call it).
    fn offline_client(wait: super::super::wait::WaitPolicy) -> CloudClient {
        let cfg =
            super::super::transport::ClientConfig::new("http://127.0.0.1:1", "u", Secret::new("p"));
        CloudClient::new(super::super::transport::ClientConfig { wait, ..cfg }).expect("client")
    }

    /// A wait on a 270 s deploy polls first after 2 s (the default policy's floor); woken once
    /// the resource is settled, it probes at once.
    #[tokio::test]
    async fn a_woken_wait_probes_before_its_schedule() {
        let c = offline_client(super::super::wait::WaitPolicy::default());
        let settled = std::sync::atomic::AtomicBool::new(false);
        let probes = std::sync::atomic::AtomicU32::new(0);
        let t0 = Instant::now();
        let wait = Wait::after(AsyncOp::DeployServer { started: true });
        let probe = || async {
            probes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(if settled.load(std::sync::atomic::Ordering::SeqCst) {
                Probe::Done
            } else {
                Probe::Pending("PENDING_ADD".into())
            })
        };
        let woken = || async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            settled.store(true, std::sync::atomic::Ordering::SeqCst);
        };
        c.wait_until_woken("server s", wait, probe, woken)
            .await
            .unwrap();
        assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
        assert_eq!(probes.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// A wait counted from when the operation was accepted (a second before it started) polls
    /// on that clock and teaches the pacer the whole duration.
    #[tokio::test]
    async fn a_wait_counts_from_the_acceptance() {
        let c = offline_client(super::super::wait::WaitPolicy::fast());
        let accepted = Instant::now() - Duration::from_secs(1);
        let t0 = Instant::now();
        let wait = Wait::after(AsyncOp::Quick).accepted_at(Some(accepted));
        c.wait_until("rule r", wait, || async { Ok(Probe::Done) })
            .await
            .unwrap();
        // uncalibrated: the first poll comes 5% of the time since acceptance later (50 ms)
        assert!(
            t0.elapsed() < Duration::from_millis(500),
            "{:?}",
            t0.elapsed()
        );
        let expected = c.inner.pacer.expected(AsyncOp::Quick).unwrap();
        assert!(expected >= Duration::from_secs(1), "{expected:?}");
    }
}
