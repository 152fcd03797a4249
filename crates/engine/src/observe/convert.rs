//! From the API client's model types (`cloud`) to the plan's plain inventory types (`plan`): only
//! what the diff and the reports read is kept.

use cloud::ResourceState;

fn state(s: &ResourceState) -> plan::State {
    plan::State::from_wire(s.as_str())
}

/// A network domain.
pub(super) fn domain(d: cloud::NetworkDomain) -> plan::Domain {
    plan::Domain {
        state: state(&d.state),
        id: d.id,
        name: d.name,
    }
}

/// A VLAN.
pub(super) fn vlan(v: cloud::Vlan) -> plan::Vlan {
    plan::Vlan {
        state: state(&v.state),
        id: v.id,
        name: v.name,
        ipv4_base: v.private_ipv4_range.address,
        ipv4_prefix: v.private_ipv4_range.prefix_size,
    }
}

fn nic(n: &cloud::Nic) -> plan::Nic {
    plan::Nic {
        vlan_id: n.vlan_id.clone(),
        vlan_name: n.vlan_name.clone(),
        private_ipv4: n.private_ipv4.clone(),
    }
}

/// A server.
pub(super) fn server(s: &cloud::Server) -> plan::Server {
    let ni = s.network_info.as_ref();
    plan::Server {
        id: s.id.clone(),
        name: s.name.clone(),
        state: state(&s.state),
        started: s.started,
        pending_action: s.pending_action().map(str::to_string),
        cpu: s.cpu.as_ref().map(|c| plan::Cpu {
            count: c.count,
            cores_per_socket: c.cores_per_socket,
            speed: c.speed.clone(),
        }),
        memory_gb: s.memory_gb,
        disks: s
            .disk
            .iter()
            .map(|d| plan::Disk {
                scsi_id: d.scsi_id,
                size_gb: d.size_gb,
                speed: d.speed.clone(),
            })
            .collect(),
        primary_nic: ni.and_then(|n| n.primary_nic.as_ref()).map(nic),
        ipv6: s.ipv6().map(str::to_string),
        additional_nics: s.additional_nics().iter().map(nic).collect(),
        monitoring: s.monitoring.as_ref().map(|m| m.service_plan.clone()),
        create_time: s.create_time.clone(),
        backup: s.backup.as_ref().map(|b| plan::ServerBackup {
            plan: b.service_plan.clone(),
            state: plan::State::from_wire(b.state.as_deref().unwrap_or("NORMAL")),
            clients: None,
        }),
        tags: Vec::new(),
        vm_tools: s
            .vm_tools()
            .map(|t| t.version_status.clone().unwrap_or_default()),
    }
}

/// The clients of a server's backup details.
pub(super) fn backup_clients(d: cloud::BackupDetails) -> Vec<plan::BackupClient> {
    d.clients
        .into_iter()
        .map(|c| plan::BackupClient {
            id: c.id,
            client_type: c.client_type,
            description: c.description,
            is_file_system: c.is_file_system,
        })
        .collect()
}

/// A load balancer pool.
pub(super) fn pool(p: cloud::VipPool) -> plan::VipPool {
    plan::VipPool {
        state: state(&p.state),
        id: p.id,
        name: p.name,
    }
}

/// A VIP node.
pub(super) fn vip_node(n: cloud::VipNode) -> plan::VipNode {
    plan::VipNode {
        state: state(&n.state),
        ip: n.address().unwrap_or_default(),
        id: n.id,
        name: n.name,
    }
}

/// A pool member.
pub(super) fn pool_member(m: cloud::PoolMember) -> plan::PoolMember {
    plan::PoolMember {
        id: m.id,
        pool_id: m.pool.id,
        node_id: m.node.id,
        ip: m.node.ip_address.trim().to_string(),
    }
}

/// A virtual listener.
pub(super) fn listener(l: cloud::VirtualListener) -> plan::Listener {
    plan::Listener {
        state: state(&l.state),
        ip: l.address(),
        port: l.port,
        id: l.id,
        name: l.name,
    }
}

/// A NAT rule.
pub(super) fn nat_rule(n: cloud::NatRule) -> plan::NatRule {
    plan::NatRule {
        id: n.id,
        internal_ip: n.internal_ip,
        external_ip: n.external_ip,
        create_time: n.create_time,
    }
}

/// A firewall rule.
pub(super) fn firewall_rule(r: cloud::FirewallRule) -> plan::FirewallRule {
    plan::FirewallRule {
        id: r.id,
        name: r.name,
        rule_type: r.rule_type,
    }
}

/// A public IP block.
pub(super) fn ip_block(b: cloud::PublicIpBlock) -> plan::IpBlock {
    plan::IpBlock {
        id: b.id,
        base_ip: b.base_ip,
        size: b.size,
        create_time: b.create_time,
    }
}

/// A reserved private address.
pub(super) fn reserved(r: cloud::ReservedPrivateIpv4) -> plan::ReservedIpv4 {
    plan::ReservedIpv4 {
        ip_address: r.ip_address,
        vlan_id: r.vlan_id,
    }
}

/// An OS image.
pub(super) fn image(i: cloud::Image) -> plan::Image {
    plan::Image {
        id: i.id,
        name: i.name,
    }
}
