//! The Inventory: what the cloud holds for the domains a plan names, observed with a bounded number of
//! list calls (one for the domains of the location, five per named domain, one per VLAN the plan
//! reserves addresses on, one for images when needed), never one call per node.

use serde::Serialize;

use cloud::{
    CloudClient, CloudResult, FirewallRule, Image, NatRule, NetworkDomain, PublicIpBlock,
    ReservedPrivateIpv4, Server, Vlan,
};

use super::desired::Desired;
use super::reserve::Reservations;

/// One observed network domain and everything in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainInventory {
    /// The domain.
    pub domain: NetworkDomain,
    /// Its VLANs.
    pub vlans: Vec<Vlan>,
    /// Its servers.
    pub servers: Vec<Server>,
    /// Its NAT rules.
    pub nat_rules: Vec<NatRule>,
    /// Its firewall rules (default and client rules).
    pub firewall_rules: Vec<FirewallRule>,
    /// Its public IP blocks.
    pub ip_blocks: Vec<PublicIpBlock>,
    /// Private addresses reserved on the VLANs the plan reserves addresses on (see `reserve`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<ReservedPrivateIpv4>,
}

impl DomainInventory {
    /// The server of that name (the first one, when the API holds duplicates).
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The VLAN of that name.
    pub fn vlan(&self, name: &str) -> Option<&Vlan> {
        self.vlans.iter().find(|v| v.name == name)
    }

    /// The NAT rule whose internal address is `ip`.
    pub fn nat_for(&self, ip: &str) -> Option<&NatRule> {
        self.nat_rules.iter().find(|n| n.internal_ip.trim() == ip)
    }

    /// The firewall rule of that exact name.
    pub fn rule(&self, name: &str) -> Option<&FirewallRule> {
        self.firewall_rules.iter().find(|r| r.name == name)
    }

    /// Public addresses of the domain's blocks not used by any NAT rule, in order.
    pub fn free_public_ips(&self) -> Vec<String> {
        let used: Vec<&str> = self
            .nat_rules
            .iter()
            .map(|n| n.external_ip.trim())
            .collect();
        self.ip_blocks
            .iter()
            .flat_map(|b| b.addresses())
            .map(|a| a.to_string())
            .filter(|a| !used.contains(&a.as_str()))
            .collect()
    }
}

/// What one location holds for a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// Location id.
    pub location_id: String,
    /// Domains named by the plan that exist.
    pub domains: Vec<DomainInventory>,
    /// OS images of the location (only fetched when a server must be deployed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    /// VLANs of other locations (location, name) that `accept:` names, looked for and not found
    /// in a location this run does not build: no rule is planned from them.
    #[serde(skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub missing_remote_vlans: std::collections::BTreeSet<(String, String)>,
}

impl Inventory {
    /// The observed domain of that name.
    pub fn domain(&self, name: &str) -> Option<&DomainInventory> {
        self.domains.iter().find(|d| d.domain.name == name)
    }
}

/// Observes everything the desired state names in its location (OS images when `with_images`,
/// reservations of the VLANs that reserve addresses).
pub async fn observe(
    client: &CloudClient,
    want: &Desired,
    with_images: bool,
) -> CloudResult<Inventory> {
    observe_with(client, want, with_images, Reservations::Planned).await
}

/// What a phase needs observed: images to deploy servers when building; every plan VLAN's
/// reservations when the network is destroyed; no reservations to start, stop or wipe.
pub async fn observe_phase(
    client: &CloudClient,
    want: &Desired,
    phase: super::Phase,
) -> CloudResult<Inventory> {
    use super::Phase;
    let (images, reservations) = match phase {
        Phase::Build { .. } => (true, Reservations::Planned),
        Phase::Destroy { network: true, .. } => (false, Reservations::All),
        Phase::Start | Phase::Stop | Phase::Destroy { .. } => (false, Reservations::None),
    };
    observe_with(client, want, images, reservations).await
}

async fn observe_with(
    client: &CloudClient,
    want: &Desired,
    with_images: bool,
    reservations: Reservations,
) -> CloudResult<Inventory> {
    let loc = want.location_id.as_str();
    let domains = client
        .list_network_domains(&[("datacenterId", loc)])
        .await?;
    let named: Vec<NetworkDomain> = domains
        .into_iter()
        .filter(|d| want.domains.iter().any(|w| w.name == d.name))
        .collect();
    let domains = futures_util::future::try_join_all(named.into_iter().map(|d| async move {
        super::reserve::observe(client, want, reservations, observe_domain(client, d).await?).await
    }));
    let images = async {
        if with_images {
            client.list_os_images(Some(loc)).await
        } else {
            Ok(Vec::new())
        }
    };
    let (domains, images) = tokio::try_join!(domains, images)?;
    Ok(Inventory {
        location_id: loc.to_string(),
        domains,
        images,
        ..Inventory::default()
    })
}

/// The five lists of one domain, in parallel.
pub async fn observe_domain(
    client: &CloudClient,
    domain: NetworkDomain,
) -> CloudResult<DomainInventory> {
    let id = domain.id.as_str();
    let filter = [("networkDomainId", id)];
    let (vlans, servers, nat_rules, firewall_rules, ip_blocks) = tokio::try_join!(
        client.list_vlans(&filter),
        client.list_servers(&filter),
        client.list_nat_rules(id),
        client.list_firewall_rules(id),
        client.list_public_ip_blocks(id),
    )?;
    Ok(DomainInventory {
        domain,
        vlans,
        servers,
        nat_rules,
        firewall_rules,
        ip_blocks,
        reserved: Vec::new(),
    })
}
