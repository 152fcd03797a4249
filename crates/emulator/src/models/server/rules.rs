//! Server rules: deploy (asynchronous, addresses allocated from the VLANs), the power actions,
//! delete and clean (asynchronous), monitoring (synchronous), hardware changes (CPU, memory, disks,
//! secondary NICs: staged while PENDING_CHANGE, applied when the operation completes), and what the
//! backend needs to create a server or attach its NICs.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use super::data::{
    DeployServer, Disk, HardwareChange, MAX_NICS, Monitoring, Nic, NicRequest, Reconfigure, Secret,
    Server,
};
use crate::backend::{NicSpec, ServerSpec};
use crate::errors::{ApiError, ApiResult, Code};
use crate::models::catalogue;
use crate::models::common::{Kind, ResourceState, check_description, check_name, new_id};
use crate::models::state::{Resource, State, Tx};
use crate::models::vlan::data::{Vlan, allocate};
use crate::models::vlan::rules::used_addresses;
use crate::ops::OpKind;

/// The backend's view of a server, which needs its VLANs from the state.
impl Server {
    /// What the backend needs to attach the additional NICs of this server.
    pub fn additional_nic_specs(&self, st: &State) -> Vec<NicSpec> {
        self.additional_nics
            .iter()
            .filter_map(|n| nic_spec(st, n))
            .collect()
    }

    /// What the backend needs to create this server.
    pub fn backend_spec(&self, st: &State) -> Option<ServerSpec> {
        let v = st.vlans.get(&self.primary_nic.vlan_id)?;
        Some(ServerSpec {
            id: self.id.clone(),
            name: self.name.clone(),
            domain_id: self.domain_id.clone(),
            vlan_id: v.id.clone(),
            private_ipv4: self.primary_nic.ipv4,
            prefix: v.network.prefix_len(),
            gateway: v.gateway,
            admin_password: self
                .admin_password
                .as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default(),
            cpu_count: self.cpu_count,
            memory_gb: self.memory_gb,
        })
    }
}

/// What the backend needs to attach `nic` (`None` when its VLAN is gone).
pub fn nic_spec(st: &State, nic: &Nic) -> Option<NicSpec> {
    let v = st.vlans.get(&nic.vlan_id)?;
    Some(NicSpec {
        id: nic.id.clone(),
        vlan_id: nic.vlan_id.clone(),
        private_ipv4: nic.ipv4,
        prefix: v.network.prefix_len(),
    })
}

const SPEEDS: &[&str] = &["STANDARD", "HIGHPERFORMANCE", "ECONOMY", "PROVISIONEDIOPS"];

/// Resolves a NIC request of a new server (or of addNic): its VLAN, its address (given, or the
/// first free one), its adapter. `taken` and `vlans_used` carry what the server's other NICs hold.
fn resolve_nic(
    st: &State,
    field: &str,
    domain_id: &str,
    req: &NicRequest,
    taken: &mut HashSet<Ipv4Addr>,
    vlans_used: &mut HashSet<String>,
) -> ApiResult<Nic> {
    let v = nic_vlan(st, field, domain_id, req)?;
    if !vlans_used.insert(v.id.clone()) {
        return Err(ApiError::invalid(
            field,
            format!(
                "the server would have two NICs on VLAN {} ('{}')",
                v.id, v.name
            ),
        ));
    }
    let ip = nic_address(st, field, v, req, taken)?;
    taken.insert(ip);
    let adapter = nic_adapter(field, req)?;
    Ok(Nic {
        id: new_id(),
        vlan_id: v.id.clone(),
        ipv4: ip,
        ipv6: v.ipv6_for(ip),
        adapter,
    })
}

/// The VLAN a NIC request names, by id or by an address in it; it must be NORMAL and in the
/// server's network domain.
fn nic_vlan<'s>(
    st: &'s State,
    field: &str,
    domain_id: &str,
    req: &NicRequest,
) -> ApiResult<&'s Vlan> {
    let v = match (&req.vlan_id, &req.private_ipv4) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::invalid(
                field,
                "give exactly one of vlanId and privateIpv4",
            ));
        }
        (Some(id), None) => {
            let v = st
                .vlans
                .get(id)
                .ok_or_else(|| ApiError::not_found("VLAN", id))?;
            if v.domain_id != domain_id {
                return Err(ApiError::invalid(
                    &format!("{field}.vlanId"),
                    format!("VLAN {id} is not in Network Domain {domain_id}"),
                ));
            }
            v
        }
        (None, Some(ip)) => {
            let addr: Ipv4Addr = ip.trim().parse().map_err(|_| {
                ApiError::invalid(
                    &format!("{field}.privateIpv4"),
                    format!("'{ip}' is not an IPv4 address"),
                )
            })?;
            st.vlans
                .values()
                .find(|v| v.domain_id == domain_id && v.network.contains(&addr))
                .ok_or_else(|| {
                    ApiError::new(
                        Code::IpAddressOutOfRange,
                        format!(
                            "{field}.privateIpv4 {addr} is not in a VLAN of this Network Domain."
                        ),
                    )
                })?
        }
    };
    if v.state.is_pending() {
        return Err(ApiError::busy(format!(
            "VLAN {} is busy ({}).",
            v.id,
            v.state.as_str()
        )));
    }
    if v.state != ResourceState::Normal {
        return Err(ApiError::invalid(
            &format!("{field}.vlanId"),
            format!("VLAN {} is {}", v.id, v.state.as_str()),
        ));
    }
    Ok(v)
}

/// The address of a NIC request in VLAN `v`: the one given (a free host address) or the first
/// free one; `taken` holds the server's other NICs' addresses.
fn nic_address(
    st: &State,
    field: &str,
    v: &Vlan,
    req: &NicRequest,
    taken: &HashSet<Ipv4Addr>,
) -> ApiResult<Ipv4Addr> {
    let mut used = used_addresses(st, &v.id);
    used.extend(taken.iter().copied());
    match &req.private_ipv4 {
        Some(ip) => {
            let addr: Ipv4Addr = ip.trim().parse().unwrap_or(Ipv4Addr::UNSPECIFIED);
            if !v.is_host_address(addr) {
                return Err(ApiError::new(
                    Code::IpAddressOutOfRange,
                    format!(
                        "{field}.privateIpv4 {addr} is reserved in VLAN '{}'.",
                        v.name
                    ),
                ));
            }
            if used.contains(&addr) {
                return Err(ApiError::new(
                    Code::IpAddressNotUnique,
                    format!("{field}.privateIpv4 {addr} is already in use or reserved."),
                ));
            }
            Ok(addr)
        }
        None => allocate(v, &used).ok_or_else(|| {
            ApiError::new(
                Code::NoIpAddressAvailable,
                format!("VLAN '{}' has no free private address.", v.name),
            )
        }),
    }
}

/// The network adapter of a NIC request (VMXNET3 unless given), upper-cased and known.
fn nic_adapter(field: &str, req: &NicRequest) -> ApiResult<String> {
    let adapter = req
        .adapter
        .clone()
        .unwrap_or_else(|| "VMXNET3".into())
        .to_ascii_uppercase();
    if ![
        "E1000",
        "E1000E",
        "VMXNET3",
        "ENHANCED_VMXNET2",
        "FLEXIBLE_PCNET32",
    ]
    .contains(&adapter.as_str())
    {
        return Err(ApiError::invalid(
            &format!("{field}.networkAdapter"),
            format!("unknown adapter '{adapter}'"),
        ));
    }
    Ok(adapter)
}

/// The hardware a deployServer asks for, checked, with the image's defaults filled in.
struct Hardware {
    cpu_count: u32,
    cores_per_socket: u32,
    cpu_speed: String,
    memory_gb: u32,
    disk_speed: String,
}

/// Checks the administrator password and the hardware of a deployServer, in the API's order.
fn check_hardware(req: &DeployServer, image: &catalogue::OsImage) -> ApiResult<Hardware> {
    match &req.admin_password {
        None => {
            return Err(ApiError::invalid(
                "administratorPassword",
                "is required for this image",
            ));
        }
        Some(p) if p.chars().count() < 8 || p.chars().count() > 64 => {
            return Err(ApiError::invalid(
                "administratorPassword",
                "must be 8..64 characters",
            ));
        }
        Some(_) => {}
    }
    let cpu_count = req.cpu.0.unwrap_or(image.cpu_count);
    if !(1..=32).contains(&cpu_count) {
        return Err(ApiError::invalid(
            "cpu.count",
            format!("{cpu_count} is not within 1..32"),
        ));
    }
    let cores = req.cpu.1.unwrap_or(1);
    if cores == 0 || !cpu_count.is_multiple_of(cores) {
        return Err(ApiError::invalid(
            "cpu.coresPerSocket",
            format!("{cores} does not divide cpu.count {cpu_count}"),
        ));
    }
    let cpu_speed = req
        .cpu
        .2
        .clone()
        .unwrap_or_else(|| "STANDARD".into())
        .to_ascii_uppercase();
    if cpu_speed != "STANDARD" && cpu_speed != "HIGHPERFORMANCE" {
        return Err(ApiError::invalid(
            "cpu.speed",
            format!("'{cpu_speed}' is not STANDARD or HIGHPERFORMANCE"),
        ));
    }
    let memory_gb = req.memory_gb.unwrap_or(image.memory_gb);
    if !(1..=256).contains(&memory_gb) {
        return Err(ApiError::invalid(
            "memoryGb",
            format!("{memory_gb} is not within 1..256"),
        ));
    }
    let mut disk_speed = "STANDARD".to_string();
    for (scsi, speed) in &req.disks {
        if *scsi != 0 {
            return Err(ApiError::invalid(
                "disk.scsiId",
                format!("the image has no disk with scsiId {scsi}"),
            ));
        }
        let up = speed.to_ascii_uppercase();
        if !SPEEDS.contains(&up.as_str()) {
            return Err(ApiError::invalid(
                "disk.speed",
                format!("unknown disk speed '{speed}'"),
            ));
        }
        disk_speed = up;
    }
    Ok(Hardware {
        cpu_count,
        cores_per_socket: cores,
        cpu_speed,
        memory_gb,
        disk_speed,
    })
}

/// Starts deploying a server; returns its id.
pub fn deploy(tx: &mut Tx<'_>, req: DeployServer) -> ApiResult<String> {
    check_name("name", &req.name)?;
    check_description("description", &req.description)?;
    let image = catalogue::image(&req.image_id)
        .ok_or_else(|| ApiError::not_found("OS Image", &req.image_id))?;
    let hw = check_hardware(&req, image)?;
    let d = tx.st().domain_ready(&req.domain_id)?;
    if d.datacenter_id != image.datacenter_id {
        return Err(ApiError::invalid(
            "imageId",
            format!(
                "image {} is in {}, the Network Domain in {}",
                image.id, image.datacenter_id, d.datacenter_id
            ),
        ));
    }
    let datacenter_id = d.datacenter_id.clone();
    let st = tx.st();
    let mut taken = HashSet::new();
    let mut vlans_used = HashSet::new();
    let primary = resolve_nic(
        st,
        "networkInfo.primaryNic",
        &req.domain_id,
        &req.primary,
        &mut taken,
        &mut vlans_used,
    )?;
    let mut additional = Vec::new();
    for nic in &req.additional {
        additional.push(resolve_nic(
            st,
            "networkInfo.additionalNic",
            &req.domain_id,
            nic,
            &mut taken,
            &mut vlans_used,
        )?);
    }
    let id = new_id();
    let pending = tx.pending_then_start(Kind::Server, &id, OpKind::DeployServer, req.start);
    tx.put(Resource::Server(Server {
        id: id.clone(),
        datacenter_id,
        name: req.name,
        description: req.description,
        image_id: image.id.clone(),
        cpu_count: hw.cpu_count,
        cores_per_socket: hw.cores_per_socket,
        cpu_speed: hw.cpu_speed,
        memory_gb: hw.memory_gb,
        disks: vec![Disk {
            id: new_id(),
            scsi_id: 0,
            size_gb: image.disk_gb,
            speed: hw.disk_speed,
        }],
        scsi_controller_id: new_id(),
        domain_id: req.domain_id,
        primary_nic: primary,
        additional_nics: additional,
        monitoring: None,
        create_ms: tx.now,
        deployed: false,
        // As the API reports it (libcloud maps PENDING_ADD + started + DEPLOY_SERVER to STARTING).
        started: req.start,
        start_on_deploy: req.start,
        state: ResourceState::PendingAdd,
        pending: Some(pending),
        failure_reason: None,
        admin_password: req.admin_password.map(Secret::new),
        staged: None,
        backup: None,
    }));
    Ok(id)
}

fn not_busy(s: &Server) -> ApiResult<()> {
    if s.state.is_pending() {
        return Err(ApiError::busy(format!(
            "Server {} is already busy ({}).",
            s.id,
            s.pending.map(|p| p.op.action()).unwrap_or("")
        )));
    }
    Ok(())
}

/// Starts a power action, delete or clean (`op`) on server `id`.
pub fn action(tx: &mut Tx<'_>, id: &str, op: OpKind) -> ApiResult<()> {
    let mut s = tx.st().server(id)?.clone();
    not_busy(&s)?;
    let failed_add = s.state == ResourceState::FailedAdd;
    if failed_add && op != OpKind::CleanServer {
        return Err(ApiError::invalid(
            "id",
            format!("Server {id} failed to deploy; use cleanServer"),
        ));
    }
    let state = match op {
        OpKind::StartServer if s.started => {
            return Err(ApiError::new(
                Code::ServerStarted,
                format!("Server {id} is already started."),
            ));
        }
        OpKind::ShutdownServer
        | OpKind::PowerOffServer
        | OpKind::RebootServer
        | OpKind::ResetServer
            if !s.started =>
        {
            return Err(ApiError::new(
                Code::ServerStopped,
                format!("Server {id} is stopped."),
            ));
        }
        OpKind::DeleteServer if s.started => {
            return Err(ApiError::new(
                Code::ServerStarted,
                format!("Server {id} must be stopped before it is deleted."),
            ));
        }
        OpKind::DeleteServer if s.backup.is_some() => {
            return Err(ApiError::new(
                Code::HasDependency,
                format!(
                    "Server {id} has cloud backup enabled; disable it before deleting the server."
                ),
            ));
        }
        OpKind::CleanServer if !failed_add => {
            return Err(ApiError::invalid(
                "id",
                format!("Server {id} is {}, not FAILED_ADD", s.state.as_str()),
            ));
        }
        OpKind::DeleteServer | OpKind::CleanServer => ResourceState::PendingDelete,
        _ => ResourceState::PendingChange,
    };
    s.pending = Some(tx.pending(Kind::Server, id, op));
    s.state = state;
    if op == OpKind::StartServer {
        // `started` turns true when the start begins (PENDING_CHANGE + started = STARTING).
        s.started = true;
    }
    s.failure_reason = None;
    tx.put(Resource::Server(s));
    Ok(())
}

/// Completes the pending operation `seq` on server `id`.
pub fn complete(tx: &mut Tx<'_>, id: &str, seq: u64, outcome: Result<(), String>) {
    let Some(s) = tx.st().servers.get(id) else {
        return;
    };
    let Some(p) = s.pending.filter(|p| p.seq == seq) else {
        return;
    };
    let mut s = s.clone();
    s.pending = None;
    match (p.op, outcome) {
        (OpKind::DeleteServer | OpKind::CleanServer, Ok(())) => {
            tx.del(Kind::Server, id);
            return;
        }
        (OpKind::DeleteServer | OpKind::CleanServer, Err(e)) => {
            s.state = if p.op == OpKind::CleanServer {
                ResourceState::FailedAdd
            } else {
                ResourceState::FailedDelete
            };
            s.failure_reason = Some(e);
        }
        (OpKind::DeployServer, Ok(())) => {
            s.state = ResourceState::Normal;
            s.deployed = true;
            s.started = s.start_on_deploy;
        }
        (OpKind::DeployServer, Err(e)) => {
            s.state = ResourceState::FailedAdd;
            s.started = false;
            s.failure_reason = Some(e);
        }
        (
            OpKind::ReconfigureServer
            | OpKind::AddDisk
            | OpKind::ExpandDisk
            | OpKind::ChangeDiskSpeed
            | OpKind::AddNic
            | OpKind::RemoveNic
            | OpKind::UpdateVmwareTools,
            outcome,
        ) => {
            let change = s.staged.take();
            match outcome {
                Ok(()) => {
                    s.state = ResourceState::Normal;
                    if let Some(c) = change {
                        apply(&mut s, c);
                    }
                }
                Err(e) => {
                    s.state = ResourceState::FailedChange;
                    s.failure_reason = Some(e);
                }
            }
        }
        (op, Ok(())) => {
            s.state = ResourceState::Normal;
            s.started = matches!(
                op,
                OpKind::StartServer | OpKind::RebootServer | OpKind::ResetServer
            );
        }
        (op, Err(e)) => {
            s.state = ResourceState::FailedChange;
            if op == OpKind::StartServer {
                s.started = false;
            }
            s.failure_reason = Some(e);
        }
    }
    tx.put(Resource::Server(s));
}

/// Enables, changes or disables monitoring (synchronous).
pub fn monitoring(tx: &mut Tx<'_>, id: &str, m: Monitoring<'_>) -> ApiResult<()> {
    let mut s = tx.st().server(id)?.clone();
    not_busy(&s)?;
    let plan = |p: &str| {
        let up = p.to_ascii_uppercase();
        if up == "ESSENTIALS" || up == "ADVANCED" {
            Ok(up)
        } else {
            Err(ApiError::invalid(
                "servicePlan",
                format!("'{p}' is not ESSENTIALS or ADVANCED"),
            ))
        }
    };
    match (m, &s.monitoring) {
        (Monitoring::Enable(_), Some(_)) => {
            return Err(ApiError::new(
                Code::NoChange,
                "Monitoring is already enabled.",
            ));
        }
        (Monitoring::Enable(p), None) => s.monitoring = Some(plan(p)?),
        (Monitoring::Change(_), None) => {
            return Err(ApiError::invalid(
                "id",
                "monitoring is not enabled on this server",
            ));
        }
        (Monitoring::Change(p), Some(cur)) => {
            let p = plan(p)?;
            if &p == cur {
                return Err(ApiError::new(
                    Code::NoChange,
                    format!("Monitoring plan is already {p}."),
                ));
            }
            s.monitoring = Some(p);
        }
        (Monitoring::Disable, None) => {
            return Err(ApiError::new(Code::NoChange, "Monitoring is not enabled."));
        }
        (Monitoring::Disable, Some(_)) => s.monitoring = None,
    }
    tx.put(Resource::Server(s));
    Ok(())
}

fn apply(s: &mut Server, c: HardwareChange) {
    match c {
        HardwareChange::Reconfigure {
            cpu_count,
            cores_per_socket,
            cpu_speed,
            memory_gb,
        } => {
            s.cpu_count = cpu_count.unwrap_or(s.cpu_count);
            s.cores_per_socket = cores_per_socket.unwrap_or(s.cores_per_socket);
            s.cpu_speed = cpu_speed.unwrap_or_else(|| s.cpu_speed.clone());
            s.memory_gb = memory_gb.unwrap_or(s.memory_gb);
        }
        HardwareChange::AddDisk(d) => {
            s.disks.push(d);
            s.disks.sort_by_key(|d| d.scsi_id);
        }
        HardwareChange::ExpandDisk(id, gb) => {
            if let Some(d) = s.disks.iter_mut().find(|d| d.id == id) {
                d.size_gb = gb;
            }
        }
        HardwareChange::DiskSpeed(id, speed) => {
            if let Some(d) = s.disks.iter_mut().find(|d| d.id == id) {
                d.speed = speed;
            }
        }
        HardwareChange::AddNic(n) => s.additional_nics.push(n),
        HardwareChange::RemoveNic(id) => s.additional_nics.retain(|n| n.id != id),
    }
}

fn check_speed(field: &str, speed: &str) -> ApiResult<String> {
    let up = speed.to_ascii_uppercase();
    if !SPEEDS.contains(&up.as_str()) {
        return Err(ApiError::invalid(
            field,
            format!("unknown disk speed '{speed}'"),
        ));
    }
    Ok(up)
}

/// A deployed, NORMAL server for a hardware change.
fn changeable(tx: &Tx<'_>, id: &str) -> ApiResult<Server> {
    let s = tx.st().server(id)?.clone();
    not_busy(&s)?;
    if s.state != ResourceState::Normal || !s.deployed {
        return Err(ApiError::invalid(
            "id",
            format!("Server {id} is {}", s.state.as_str()),
        ));
    }
    Ok(s)
}

fn stage(tx: &mut Tx<'_>, mut s: Server, op: OpKind, c: HardwareChange) {
    s.pending = Some(tx.pending(Kind::Server, &s.id.clone(), op));
    s.state = ResourceState::PendingChange;
    s.failure_reason = None;
    s.staged = Some(c);
    tx.put(Resource::Server(s));
}

/// Starts reconfiguring CPU and memory of server `id` (allowed while it runs).
pub fn reconfigure(tx: &mut Tx<'_>, id: &str, r: Reconfigure) -> ApiResult<()> {
    let s = changeable(tx, id)?;
    if let Some(c) = r.cpu_count
        && !(1..=32).contains(&c)
    {
        return Err(ApiError::invalid(
            "cpuCount",
            format!("{c} is not within 1..32"),
        ));
    }
    if let Some(m) = r.memory_gb
        && !(1..=256).contains(&m)
    {
        return Err(ApiError::invalid(
            "memoryGb",
            format!("{m} is not within 1..256"),
        ));
    }
    let count = r.cpu_count.unwrap_or(s.cpu_count);
    let cores = r.cores_per_socket.unwrap_or(if r.cpu_count.is_some() {
        1
    } else {
        s.cores_per_socket
    });
    if cores == 0 || !count.is_multiple_of(cores) {
        return Err(ApiError::invalid(
            "coresPerSocket",
            format!("{cores} does not divide cpuCount {count}"),
        ));
    }
    let speed = match &r.cpu_speed {
        Some(sp) => {
            let up = sp.to_ascii_uppercase();
            if up != "STANDARD" && up != "HIGHPERFORMANCE" {
                return Err(ApiError::invalid(
                    "cpuSpeed",
                    format!("'{sp}' is not STANDARD or HIGHPERFORMANCE"),
                ));
            }
            Some(up)
        }
        None => None,
    };
    if r.cpu_count.is_none()
        && r.memory_gb.is_none()
        && speed.is_none()
        && r.cores_per_socket.is_none()
    {
        return Err(ApiError::new(Code::NoChange, "Nothing to reconfigure."));
    }
    let change = HardwareChange::Reconfigure {
        cpu_count: r.cpu_count,
        cores_per_socket: Some(cores),
        cpu_speed: speed,
        memory_gb: r.memory_gb,
    };
    stage(tx, s, OpKind::ReconfigureServer, change);
    Ok(())
}

/// Starts adding a disk to server `id`; returns the new disk id.
pub fn add_disk(
    tx: &mut Tx<'_>,
    id: &str,
    size_gb: u32,
    speed: &str,
    scsi_id: Option<u32>,
) -> ApiResult<String> {
    let s = changeable(tx, id)?;
    if !(1..=1000).contains(&size_gb) {
        return Err(ApiError::invalid(
            "sizeGb",
            format!("{size_gb} is not within 1..1000"),
        ));
    }
    let speed = check_speed("speed", speed)?;
    let scsi = match scsi_id {
        Some(n) if s.disks.iter().any(|d| d.scsi_id == n) => {
            return Err(ApiError::invalid(
                "scsiId",
                format!("scsiId {n} is already in use on Server {id}"),
            ));
        }
        Some(n) if n == 7 || n > 15 => {
            return Err(ApiError::invalid(
                "scsiId",
                format!("scsiId {n} is not available"),
            ));
        }
        Some(n) => n,
        None => (0..16)
            .find(|n| *n != 7 && !s.disks.iter().any(|d| d.scsi_id == *n))
            .ok_or_else(|| ApiError::invalid("scsiId", "no free SCSI id"))?,
    };
    let disk_id = new_id();
    let d = Disk {
        id: disk_id.clone(),
        scsi_id: scsi,
        size_gb,
        speed,
    };
    stage(tx, s, OpKind::AddDisk, HardwareChange::AddDisk(d));
    Ok(disk_id)
}

fn disk_owner(tx: &Tx<'_>, disk_id: &str) -> ApiResult<(Server, Disk)> {
    let st = tx.st();
    let (s, d) = st
        .servers
        .values()
        .find_map(|s| s.disks.iter().find(|d| d.id == disk_id).map(|d| (s, d)))
        .ok_or_else(|| ApiError::not_found("Disk", disk_id))?;
    let (sid, d) = (s.id.clone(), d.clone());
    Ok((changeable(tx, &sid)?, d))
}

/// Starts growing disk `disk_id` to `new_size_gb` (never shrinks).
pub fn expand_disk(tx: &mut Tx<'_>, disk_id: &str, new_size_gb: u32) -> ApiResult<()> {
    let (s, d) = disk_owner(tx, disk_id)?;
    if new_size_gb <= d.size_gb || new_size_gb > 1000 {
        return Err(ApiError::invalid(
            "newSizeGb",
            format!(
                "{new_size_gb} must be above the current {} GB and at most 1000",
                d.size_gb
            ),
        ));
    }
    let c = HardwareChange::ExpandDisk(d.id, new_size_gb);
    stage(tx, s, OpKind::ExpandDisk, c);
    Ok(())
}

/// Starts changing the speed of disk `disk_id`.
pub fn change_disk_speed(tx: &mut Tx<'_>, disk_id: &str, speed: &str) -> ApiResult<()> {
    let (s, d) = disk_owner(tx, disk_id)?;
    let speed = check_speed("speed", speed)?;
    if speed == d.speed {
        return Err(ApiError::new(
            Code::NoChange,
            format!("Disk {disk_id} is already {speed}."),
        ));
    }
    let c = HardwareChange::DiskSpeed(d.id, speed);
    stage(tx, s, OpKind::ChangeDiskSpeed, c);
    Ok(())
}

/// Starts adding a secondary NIC to server `id` (on `req`'s VLAN, or the VLAN holding its fixed
/// address); returns the new NIC id. The server must be NORMAL (pending: RESOURCE_BUSY), the VLAN in
/// its domain and not one it already has a NIC on, the address free, and the server below
/// [`MAX_NICS`].
pub fn add_nic(tx: &mut Tx<'_>, id: &str, req: &NicRequest) -> ApiResult<String> {
    let s = changeable(tx, id)?;
    let count = s.nics().count();
    if count >= MAX_NICS {
        return Err(ApiError::invalid(
            "serverId",
            format!("Server {id} already has {count} NICs, the most a server may have"),
        ));
    }
    let mut vlans_used: HashSet<String> = s.nics().map(|n| n.vlan_id.clone()).collect();
    let nic = resolve_nic(
        tx.st(),
        "nic",
        &s.domain_id,
        req,
        &mut HashSet::new(),
        &mut vlans_used,
    )?;
    let nic_id = nic.id.clone();
    stage(tx, s, OpKind::AddNic, HardwareChange::AddNic(nic));
    Ok(nic_id)
}

/// Starts removing the secondary NIC `nic_id` from its server. The primary NIC cannot be removed.
pub fn remove_nic(tx: &mut Tx<'_>, nic_id: &str) -> ApiResult<()> {
    let st = tx.st();
    let Some(owner) = st
        .servers
        .values()
        .find(|s| s.nics().any(|n| n.id == nic_id))
    else {
        return Err(ApiError::not_found("NIC", nic_id));
    };
    if owner.primary_nic.id == nic_id {
        return Err(ApiError::invalid(
            "id",
            format!(
                "NIC {nic_id} is the primary NIC of Server {}; it cannot be removed",
                owner.id
            ),
        ));
    }
    let sid = owner.id.clone();
    let s = changeable(tx, &sid)?;
    let c = HardwareChange::RemoveNic(nic_id.to_string());
    stage(tx, s, OpKind::RemoveNic, c);
    Ok(())
}

/// Changes the name and/or description of a server (synchronous; MCP 1.0 `POST server/{id}`).
pub fn edit(
    tx: &mut Tx<'_>,
    id: &str,
    name: Option<String>,
    description: Option<String>,
) -> ApiResult<()> {
    let mut s = tx.st().server(id)?.clone();
    not_busy(&s)?;
    if let Some(n) = name {
        check_name("name", &n)?;
        s.name = n;
    }
    if let Some(d) = description {
        check_description("description", &d)?;
        s.description = d;
    }
    tx.put(Resource::Server(s));
    Ok(())
}

/// Starts updating the VMware tools of a running server (asynchronous: PENDING_CHANGE, then
/// NORMAL). A stopped server is SERVER_STOPPED.
pub fn update_vmware_tools(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    let s = changeable(tx, id)?;
    if !s.started {
        return Err(ApiError::new(
            Code::ServerStopped,
            format!("Server {id} is stopped; VMware tools are updated on a running server."),
        ));
    }
    let mut s = s;
    s.pending = Some(tx.pending(Kind::Server, id, OpKind::UpdateVmwareTools));
    s.state = ResourceState::PendingChange;
    tx.put(Resource::Server(s));
    Ok(())
}
