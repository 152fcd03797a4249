//! The network side of local nodes: a domain is a network namespace, a VLAN a bridge in it with
//! the gateway address, a secondary NIC one more veth from the server namespace to a VLAN bridge,
//! and the public side (NAT and firewall) listeners in `forward::Public`.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use emulator::backend::{FirewallRuleSpec, NatSpec, NicSpec, VipSpec};

use super::{Domain, LocalNodes, NicLink, Server, Vlan, lock};
use crate::error::{NodesError, Result};
use crate::forward::Target;
use crate::{firewall, naming, netns};

/// The domain has no uplink: a packet for anywhere outside its VLANs is refused with an ICMP
/// "administratively prohibited" (as a router with no way there answers) instead of vanishing,
/// so a node's connection to the outside fails at once rather than after its timeouts. (The
/// kernel sends at most about one such answer a second per node, a host-wide setting left alone.)
fn refuse_the_way_out(name: &str) -> Result<()> {
    netns::batch(Some(name), &["route add prohibit default".to_string()])
}

impl LocalNodes {
    pub(super) fn do_create_domain(&self, domain_id: &str) -> Result<()> {
        self.check_up()?;
        let mut reg = lock(&self.reg);
        if reg.domains.contains_key(domain_id) {
            return Ok(());
        }
        let name = naming::domain_netns(&self.prefix, self.next_n());
        netns::add(&name)?;
        let setup = netns::open(&name).and_then(|f| {
            netns::sysctl(&f, "net/ipv4/ip_forward", "1")?;
            refuse_the_way_out(&name)?;
            Ok(f)
        });
        match setup {
            Ok(f) => {
                reg.domains.insert(
                    domain_id.to_string(),
                    Domain {
                        netns: name,
                        ns: Arc::new(f),
                        vlans: HashMap::new(),
                        vip_addrs: Default::default(),
                    },
                );
                Ok(())
            }
            Err(e) => {
                let _ = netns::delete(&name);
                Err(e)
            }
        }
    }

    pub(super) fn do_delete_domain(&self, domain_id: &str) -> Result<()> {
        let servers: Vec<String> = lock(&self.reg)
            .servers
            .values()
            .filter(|s| s.domain_id == domain_id)
            .map(|s| s.id.clone())
            .collect();
        for s in servers {
            self.do_delete_server(&s)?;
        }
        self.public.close_domain(domain_id);
        let removed = lock(&self.reg).domains.remove(domain_id);
        if let Some(d) = removed {
            netns::delete(&d.netns)?;
        }
        Ok(())
    }

    pub(super) fn do_create_vlan(
        &self,
        domain_id: &str,
        vlan_id: &str,
        gw: Ipv4Addr,
        prefix: u8,
    ) -> Result<()> {
        self.check_up()?;
        let n = self.next_n();
        let mut reg = lock(&self.reg);
        let d = reg
            .domains
            .get_mut(domain_id)
            .ok_or_else(|| NodesError::Invalid(format!("unknown network domain {domain_id}")))?;
        if d.vlans.contains_key(vlan_id) {
            return Ok(());
        }
        let bridge = naming::bridge(n);
        netns::batch(
            Some(&d.netns),
            &[
                format!("link add {bridge} type bridge"),
                // A set address is kept: the gateway's MAC never moves when a port leaves.
                format!("link set {bridge} address {}", naming::bridge_mac(n)),
                format!("addr add {gw}/{prefix} dev {bridge}"),
                format!("link set {bridge} up"),
            ],
        )?;
        d.vlans.insert(vlan_id.to_string(), Vlan { bridge });
        Ok(())
    }

    pub(super) fn do_delete_vlan(&self, domain_id: &str, vlan_id: &str) -> Result<()> {
        // The API refuses this while NICs are on the VLAN; the backend still removes any veth left
        // on its bridge, so that nothing outlives the VLAN.
        let (servers, domain_netns) = {
            let reg = lock(&self.reg);
            let servers: Vec<Arc<Server>> = reg
                .servers
                .values()
                .filter(|s| s.domain_id == domain_id)
                .cloned()
                .collect();
            (servers, reg.domains.get(domain_id).map(|d| d.netns.clone()))
        };
        if let Some(dn) = &domain_netns {
            for s in servers {
                let mut st = lock(&s.st);
                let gone: Vec<String> = st
                    .nics
                    .iter()
                    .filter(|(_, l)| l.vlan_id == vlan_id)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in gone {
                    if let Some(l) = st.nics.remove(&id)
                        && let Err(e) = netns::batch(Some(dn), &[format!("link del {}", l.veth)])
                    {
                        tracing::warn!("{e}");
                    }
                }
            }
        }
        let mut reg = lock(&self.reg);
        let Some(d) = reg.domains.get_mut(domain_id) else {
            return Ok(());
        };
        if let Some(v) = d.vlans.remove(vlan_id) {
            netns::batch(Some(&d.netns), &[format!("link del {}", v.bridge)])?;
        }
        Ok(())
    }

    pub(super) fn do_attach_nic(&self, id: &str, nic: &NicSpec) -> Result<()> {
        self.check_up()?;
        let s = self.server(id)?;
        let (domain_netns, bridge) = {
            let reg = lock(&self.reg);
            let d = reg.domains.get(&s.domain_id).ok_or_else(|| {
                NodesError::Invalid(format!("unknown network domain {}", s.domain_id))
            })?;
            let v = d
                .vlans
                .get(&nic.vlan_id)
                .ok_or_else(|| NodesError::Invalid(format!("unknown VLAN {}", nic.vlan_id)))?;
            (d.netns.clone(), v.bridge.clone())
        };
        let mut st = lock(&s.st);
        if st.deleted {
            return Err(NodesError::Invalid(format!("server {id} is deleted")));
        }
        if st.nics.contains_key(&nic.id) {
            return Ok(());
        }
        let ifname = (1..)
            .map(|i| format!("eth{i}"))
            .find(|n| !st.nics.values().any(|l| &l.ifname == n))
            .expect("a free interface name");
        let veth = naming::veth(self.next_n());
        let made = netns::batch(
            Some(&domain_netns),
            &[
                format!(
                    "link add {veth} type veth peer name {ifname} netns {}",
                    s.netns
                ),
                format!("link set {veth} master {bridge} up"),
            ],
        )
        .and_then(|()| {
            netns::batch(
                Some(&s.netns),
                &[
                    format!("addr add {}/{} dev {ifname}", nic.private_ipv4, nic.prefix),
                    format!("link set {ifname} up"),
                ],
            )
        });
        if let Err(e) = made {
            let _ = netns::batch(Some(&domain_netns), &[format!("link del {veth}")]);
            return Err(e);
        }
        st.nics.insert(
            nic.id.clone(),
            NicLink {
                ifname,
                veth,
                vlan_id: nic.vlan_id.clone(),
            },
        );
        Ok(())
    }

    pub(super) fn do_detach_nic(&self, id: &str, nic_id: &str) -> Result<()> {
        let Ok(s) = self.server(id) else {
            return Ok(());
        };
        let mut st = lock(&s.st);
        let Some(l) = st.nics.remove(nic_id) else {
            return Ok(());
        };
        // Deleting one end of a veth pair deletes both.
        if let Err(e) = netns::batch(Some(&s.netns), &[format!("link del {}", l.ifname)]) {
            let still_there =
                netns::batch(Some(&s.netns), &[format!("link show {}", l.ifname)]).is_ok();
            if still_there {
                st.nics.insert(nic_id.to_string(), l);
                return Err(e);
            }
        }
        Ok(())
    }

    pub(super) fn do_sync_public(
        &self,
        domain_id: &str,
        nats: &[NatSpec],
        rules: &[FirewallRuleSpec],
        vips: &[VipSpec],
    ) -> Result<()> {
        self.check_up()?;
        let ns = lock(&self.reg).domains.get(domain_id).map(|d| d.ns.clone());
        let Some(ns) = ns else {
            if nats.is_empty() && vips.is_empty() {
                self.public.close_domain(domain_id);
                return Ok(());
            }
            return Err(NodesError::Invalid(format!(
                "unknown network domain {domain_id}"
            )));
        };
        let mut wanted = BTreeMap::new();
        for nat in nats {
            for port in firewall::open_ports(nat, rules) {
                wanted.insert(
                    SocketAddrV4::new(nat.external, port),
                    Target::One(SocketAddrV4::new(nat.internal, port)),
                );
            }
        }
        // A virtual listener on a public address listens (in the host namespace) when the firewall
        // accepts TCP to its address and port, like a NAT rule; one on a VLAN address listens
        // inside the domain on an address of its `lo`, which every VLAN reaches (no firewall there).
        let mut private = std::collections::BTreeSet::new();
        for v in vips {
            let as_nat = NatSpec {
                id: v.id.clone(),
                internal: v.address,
                external: v.address,
            };
            let public = v.address.is_loopback();
            if public && !firewall::accepts(&as_nat, rules, v.port) {
                continue;
            }
            if !public {
                private.insert(v.address);
            }
            let members = v.members.iter().map(|(ip, p)| SocketAddrV4::new(*ip, *p));
            wanted.insert(
                SocketAddrV4::new(v.address, v.port),
                Target::Pool(members.collect()),
            );
        }
        self.vip_addresses(domain_id, &private, true)?;
        let synced = self.public.sync(domain_id, &ns, &wanted);
        self.vip_addresses(domain_id, &private, false)?;
        synced
    }

    /// Puts the private listener addresses `wanted` on the domain namespace's `lo` (`add`: the
    /// missing ones, before the listeners open) or takes the others off (after they closed).
    fn vip_addresses(
        &self,
        domain_id: &str,
        wanted: &std::collections::BTreeSet<Ipv4Addr>,
        add: bool,
    ) -> Result<()> {
        let mut reg = lock(&self.reg);
        let Some(d) = reg.domains.get_mut(domain_id) else {
            return Ok(());
        };
        let lines: Vec<String> = if add {
            let new: Vec<String> = wanted
                .difference(&d.vip_addrs)
                .map(|a| format!("addr add {a}/32 dev lo"))
                .collect();
            if new.is_empty() {
                return Ok(());
            }
            std::iter::once("link set lo up".to_string())
                .chain(new)
                .collect()
        } else {
            d.vip_addrs
                .difference(wanted)
                .map(|a| format!("addr del {a}/32 dev lo"))
                .collect()
        };
        if !lines.is_empty() {
            netns::batch(Some(&d.netns), &lines)?;
        }
        if add {
            d.vip_addrs.extend(wanted.iter().copied());
        } else {
            d.vip_addrs.retain(|a| wanted.contains(a));
        }
        Ok(())
    }
}
