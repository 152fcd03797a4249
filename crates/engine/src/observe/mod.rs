//! Observation: the [`Inventory`] of a location read from the API with a bounded number of list
//! calls (one for the domains of the location, five per named domain, four more per domain with a
//! load balancer, two for tags when the plan tags servers, one per VLAN whose reservations are
//! needed, one for images when needed), never one call per node (except the backup details of a
//! backed-up server whose node asks for backup clients), converted into the plan's plain types.

mod convert;

use cloud::{CloudClient, CloudResult, NetworkDomain};
use plan::{Desired, DomainInventory, Inventory, Phase};

/// Which VLANs' reservations an observation lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservations {
    /// None (start, stop, wipe: nothing there depends on them).
    None,
    /// Those of the VLANs the plan reserves addresses on (build, facts).
    Planned,
    /// Those of every VLAN of the plan (destroying the network: a VLAN that holds reservations the
    /// plan does not list is kept, rather than refused by the API).
    All,
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
    phase: Phase,
) -> CloudResult<Inventory> {
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
        let inv = observe_domain(client, d).await?;
        let inv = observe_balancers(client, want, inv).await?;
        let inv = observe_backup_clients(client, want, inv).await?;
        observe_reservations(client, want, reservations, inv).await
    }));
    let images = async {
        if with_images {
            client.list_os_images(Some(loc)).await
        } else {
            Ok(Vec::new())
        }
    };
    let (mut domains, images, (tag_keys, tags)) =
        tokio::try_join!(domains, images, observe_tags(client, want))?;
    for s in domains.iter_mut().flat_map(|d| d.servers.iter_mut()) {
        s.tags = tags
            .iter()
            .filter(|t| t.asset_id == s.id)
            .map(|t| t.tag_key_name.clone())
            .collect();
    }
    Ok(Inventory {
        location_id: loc.to_string(),
        domains,
        images: images.into_iter().map(convert::image).collect(),
        tag_keys,
        ..Inventory::default()
    })
}

/// The organisation's tag key names and the location's server tags, when the plan tags servers
/// (two lists; none otherwise).
async fn observe_tags(
    client: &CloudClient,
    want: &Desired,
) -> CloudResult<(Vec<String>, Vec<cloud::Tag>)> {
    if want.nodes.iter().all(|n| n.tags.is_empty()) {
        return Ok((Vec::new(), Vec::new()));
    }
    let loc = want.location_id.as_str();
    let filter = [("assetType", "SERVER"), ("datacenterId", loc)];
    let (keys, tags) = tokio::try_join!(client.list_tag_keys(&[]), client.list_tags(&filter))?;
    Ok((keys.into_iter().map(|k| k.name).collect(), tags))
}

/// The five lists of one domain, in parallel.
async fn observe_domain(
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
    let mut inv = DomainInventory::new(convert::domain(domain));
    inv.vlans = vlans.into_iter().map(convert::vlan).collect();
    inv.servers = servers.iter().map(convert::server).collect();
    inv.nat_rules = nat_rules.into_iter().map(convert::nat_rule).collect();
    inv.firewall_rules = firewall_rules
        .into_iter()
        .map(convert::firewall_rule)
        .collect();
    inv.ip_blocks = ip_blocks.into_iter().map(convert::ip_block).collect();
    Ok(inv)
}

/// The four load balancer lists of a domain that a balancer of the plan lives in (none otherwise).
async fn observe_balancers(
    client: &CloudClient,
    want: &Desired,
    mut inv: DomainInventory,
) -> CloudResult<DomainInventory> {
    if !want.balancers.iter().any(|b| b.domain == inv.domain.name) {
        return Ok(inv);
    }
    let id = inv.domain.id.clone();
    let filter = [("networkDomainId", id.as_str())];
    let (pools, nodes, members, listeners) = tokio::try_join!(
        client.list_vip_pools(&id),
        client.list_vip_nodes(&id),
        client.list_pool_members(&filter),
        client.list_virtual_listeners(&id),
    )?;
    inv.pools = pools.into_iter().map(convert::pool).collect();
    inv.vip_nodes = nodes.into_iter().map(convert::vip_node).collect();
    inv.pool_members = members.into_iter().map(convert::pool_member).collect();
    inv.listeners = listeners.into_iter().map(convert::listener).collect();
    Ok(inv)
}

/// The backup clients of the backed-up servers whose node asks for clients (one call each).
async fn observe_backup_clients(
    client: &CloudClient,
    want: &Desired,
    mut inv: DomainInventory,
) -> CloudResult<DomainInventory> {
    let asks = |name: &str| {
        want.nodes.iter().any(|n| {
            n.name == name
                && n.domain == inv.domain.name
                && n.backup.as_ref().is_some_and(|b| !b.clients.is_empty())
        })
    };
    let ids: Vec<String> = inv
        .servers
        .iter()
        .filter(|s| s.backup.is_some() && asks(&s.name))
        .map(|s| s.id.clone())
        .collect();
    let details =
        futures_util::future::try_join_all(ids.iter().map(|id| client.get_backup_details(id)))
            .await?;
    for (id, d) in ids.iter().zip(details) {
        if let Some(s) = inv.servers.iter_mut().find(|s| s.id == *id)
            && let Some(b) = s.backup.as_mut()
        {
            b.clients = Some(d.map(convert::backup_clients).unwrap_or_default());
        }
    }
    Ok(inv)
}

/// Lists the reservations of the VLANs of `inv` that `which` names (one call per VLAN, in
/// parallel; never one per node) into `inv.reserved`.
async fn observe_reservations(
    client: &CloudClient,
    want: &Desired,
    which: Reservations,
    mut inv: DomainInventory,
) -> CloudResult<DomainInventory> {
    let ids: Vec<String> = want
        .vlans
        .iter()
        .filter(|w| w.domain == inv.domain.name)
        .filter(|w| match which {
            Reservations::None => false,
            Reservations::Planned => !w.reserved.is_empty(),
            Reservations::All => true,
        })
        .filter_map(|w| inv.vlan(&w.name).map(|v| v.id.clone()))
        .collect();
    let lists = futures_util::future::try_join_all(
        ids.iter().map(|id| client.list_reserved_private_ipv4(id)),
    )
    .await?;
    inv.reserved = lists.into_iter().flatten().map(convert::reserved).collect();
    Ok(inv)
}
