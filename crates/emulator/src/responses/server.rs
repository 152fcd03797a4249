//! Servers on the wire: list, get (shape by API version: ≤2.3 top-level `operatingSystem`, ≥2.4
//! `guest`, ≥2.5 `scsiController`), deployServer, the power actions, delete, clean, monitoring, the
//! hardware changes (reconfigureServer, disks, addNic, removeNic).

use super::body::Fields;
use super::{Ctx, Out, list, matches, time};
use crate::errors::ApiResult;
use crate::models::server::{self, DeployServer, Monitoring, Nic, NicRequest, Reconfigure, Server};
use crate::models::{State, catalogue};
use crate::ops::OpKind;

fn nic(o: &mut Out, st: &State, s: &Server, name: &'static str, n: &Nic, index: usize, minor: u32) {
    o.open(name);
    o.attr_s("id", &n.id);
    o.attr_s("privateIpv4", &n.ipv4.to_string());
    o.attr_s("ipv6", &n.ipv6);
    o.attr_s("vlanId", &n.vlan_id);
    o.attr_s(
        "vlanName",
        st.vlans
            .get(&n.vlan_id)
            .map(|v| v.name.as_str())
            .unwrap_or(""),
    );
    if minor >= 5 {
        o.attr_s("networkAdapter", &n.adapter);
    }
    if minor >= 10 {
        o.attr_b("connected", true);
        let h = n.id.as_bytes();
        let mac = format!("00:50:56:{:02x}:{:02x}:{:02x}", h[0], h[1], h[2]);
        o.attr_s("macAddress", &mac);
        o.attr_i("key", 4000 + index as i64);
    }
    let removing = matches!(&s.staged, Some(server::HardwareChange::RemoveNic(id)) if *id == n.id);
    o.attr_s("state", if removing { "PENDING_DELETE" } else { "NORMAL" });
    o.close();
}

fn disk(o: &mut Out, s: &Server, d: &server::Disk) {
    o.open("disk");
    o.attr_s("id", &d.id);
    o.attr_i("scsiId", d.scsi_id as i64);
    o.attr_i("sizeGb", d.size_gb as i64);
    o.attr_s("speed", &d.speed);
    o.attr_s(
        "state",
        if s.state == crate::models::ResourceState::PendingAdd {
            "PENDING_ADD"
        } else {
            "NORMAL"
        },
    );
    o.close();
}

/// The disks: under one SCSI controller from 2.5 on, a plain list before.
fn storage(o: &mut Out, s: &Server, minor: u32) {
    if minor >= 5 {
        o.begin_list("scsiController");
        o.open("scsiController");
        o.attr_s("id", &s.scsi_controller_id);
        o.attr_s("adapterType", "LSI_LOGIC_PARALLEL");
        o.attr_i("key", 1000);
        o.attr_s("state", "NORMAL");
        o.attr_i("busNumber", 0);
        o.begin_list("disk");
        for d in &s.disks {
            disk(o, s, d);
        }
        o.end_list();
        o.close();
        o.end_list();
        for l in ["sataController", "ideController", "floppy"] {
            o.begin_list(l);
            o.end_list();
        }
    } else {
        o.begin_list("disk");
        for d in &s.disks {
            disk(o, s, d);
        }
        o.end_list();
    }
}

/// `networkInfo`: the primary NIC and the additional ones.
fn network(o: &mut Out, st: &State, s: &Server, minor: u32) {
    o.open("networkInfo");
    o.attr_s("networkDomainId", &s.domain_id);
    nic(o, st, s, "primaryNic", &s.primary_nic, 0, minor);
    o.begin_list("additionalNic");
    for (i, n) in s.additional_nics.iter().enumerate() {
        nic(o, st, s, "additionalNic", n, i + 1, minor);
    }
    o.end_list();
    o.close();
}

/// The VMware tools element (`vmwareTools` up to 2.3, `guest/vmTools` from 2.4).
fn tools(o: &mut Out, s: &Server, element: &'static str) {
    o.open(element);
    o.attr_s("versionStatus", "CURRENT");
    o.attr_s(
        "runningStatus",
        if s.started { "RUNNING" } else { "NOT_RUNNING" },
    );
    o.attr_i("apiVersion", 10304);
    o.close();
}

/// Renders one server (`user` is the API user shown in `progress/userName`).
pub fn render(o: &mut Out, st: &State, s: &Server, minor: u32, user: &str, root: bool) {
    if root {
        o.root("server");
    } else {
        o.open("server");
    }
    o.attr_s("id", &s.id);
    o.attr_s("datacenterId", &s.datacenter_id);
    o.text_s("name", &s.name);
    o.text_s("description", &s.description);
    let image = catalogue::image(&s.image_id);
    let os = |o: &mut Out| {
        o.open("operatingSystem");
        o.attr_s("id", image.map(|i| i.os_id).unwrap_or("UNKNOWN"));
        o.attr_s(
            "displayName",
            image.map(|i| i.os_display).unwrap_or("UNKNOWN"),
        );
        o.attr_s("family", image.map(|i| i.family).unwrap_or("UNIX"));
        o.close();
    };
    if minor <= 3 {
        os(o);
    }
    o.open("cpu");
    o.attr_i("count", s.cpu_count as i64);
    o.attr_s("speed", &s.cpu_speed);
    o.attr_i("coresPerSocket", s.cores_per_socket as i64);
    o.close();
    o.text_i("memoryGb", s.memory_gb as i64);
    storage(o, s, minor);
    network(o, st, s, minor);
    if let Some(b) = &s.backup {
        o.open("backup");
        o.attr_s("assetId", &b.asset_id);
        o.attr_s("servicePlan", &b.service_plan);
        o.attr_s("state", "NORMAL");
        o.close();
    }
    if let Some(plan) = &s.monitoring {
        o.open("monitoring");
        o.attr_s("monitoringId", &s.id[..8]);
        o.attr_s("servicePlan", plan);
        o.attr_s("state", "NORMAL");
        o.close();
    }
    if minor >= 10 {
        o.open("source");
        o.attr_s("type", "IMAGE_ID");
        o.attr_s("value", &s.image_id);
        o.close();
    }
    o.text_s("sourceImageId", &s.image_id);
    o.text_s("createTime", &time(s.create_ms));
    o.text_b("deployed", s.deployed);
    o.text_b("started", s.started);
    o.text_s("state", s.state.as_str());
    if let Some(p) = s.pending {
        o.open("progress");
        o.text_s("action", p.op.action());
        o.text_s("requestTime", &time(p.requested_ms));
        o.text_s("userName", user);
        o.close();
    }
    if minor <= 3 {
        tools(o, s, "vmwareTools");
    }
    o.open("virtualHardware");
    o.attr_s("version", "vmx-13");
    o.attr_b("upToDate", true);
    o.close();
    if minor >= 4 {
        o.open("guest");
        o.attr_b("osCustomization", true);
        os(o);
        tools(o, s, "vmTools");
        o.close();
    }
    o.close();
}

/// `GET server/server` (filters id, datacenterId, networkDomainId, vlanId, sourceImageId, deployed,
/// started, state, name, privateIpv4, ipv6).
pub fn list_servers(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let q = |n| ctx.q(n);
    let (id, dc, dom, vlan, img, deployed, started, state, name, ip4, ip6) = (
        q("id"),
        q("datacenterId"),
        q("networkDomainId"),
        q("vlanId"),
        q("sourceImageId"),
        q("deployed"),
        q("started"),
        q("state"),
        q("name"),
        q("privateIpv4"),
        q("ipv6"),
    );
    let b = |x: bool| if x { "true" } else { "false" };
    let items: Vec<&Server> = st
        .servers
        .values()
        .filter(|s| {
            matches(id, &s.id)
                && matches(dc, &s.datacenter_id)
                && matches(dom, &s.domain_id)
                && matches(img, &s.image_id)
                && matches(deployed, b(s.deployed))
                && matches(started, b(s.started))
                && matches(state, s.state.as_str())
                && matches(name, &s.name)
                && vlan.is_none_or(|v| s.nics().any(|n| n.vlan_id == v))
                && ip4.is_none_or(|v| s.nics().any(|n| n.ipv4.to_string() == v))
                && ip6.is_none_or(|v| s.nics().any(|n| n.ipv6 == v))
        })
        .collect();
    let user = ctx.core.user.as_str();
    // Under the state read lock: the fragments served are those of this state.
    list(ctx, "servers", "server", &items, |o, s| {
        let fragment = ctx.core.fragments.get_or_render(
            &s.id,
            (ctx.minor, ctx.fmt == super::Format::Json),
            || {
                let mut f = Out::fragment(ctx.fmt, 1536);
                render(&mut f, &st, s, ctx.minor, user, false);
                f.finish()
            },
        );
        o.raw_item(&fragment);
    })
}

/// `GET server/server/{id}`.
pub fn get_server(ctx: &Ctx<'_>, id: &str) -> ApiResult<String> {
    let st = ctx.core.read();
    let s = st.server(id)?;
    let mut o = Out::new(ctx.fmt, 2048);
    render(&mut o, &st, s, ctx.minor, &ctx.core.user, true);
    Ok(o.finish())
}

fn nic_request(f: Fields<'_>) -> ApiResult<NicRequest> {
    Ok(NicRequest {
        vlan_id: f.str_opt("vlanId")?.filter(|s| !s.is_empty()),
        private_ipv4: f.str_opt("privateIpv4")?.filter(|s| !s.is_empty()),
        adapter: f.str_opt("networkAdapter")?,
    })
}

/// `POST server/deployServer`.
pub async fn deploy(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deployServer")?;
    let f = Fields::new(&m);
    if f.has("network") {
        return Err(crate::errors::ApiError::invalid(
            "network",
            "the MCP 1.0 network element is not supported; use networkInfo",
        ));
    }
    let ni = f.obj_req("networkInfo")?;
    let cpu = f.obj_opt("cpu")?;
    let mut disks = Vec::new();
    for d in f.list("disk")? {
        disks.push((d.int_req("scsiId", 0, 15)? as u32, d.str_req("speed")?));
    }
    let req = DeployServer {
        name: f.str_req("name")?,
        description: f.str_opt("description")?.unwrap_or_default(),
        image_id: f.str_req("imageId")?,
        start: f.bool_req("start")?,
        admin_password: f.str_opt("administratorPassword")?,
        cpu: match cpu {
            Some(c) => (
                c.int_opt("count", 1, 32)?.map(|x| x as u32),
                c.int_opt("coresPerSocket", 1, 32)?.map(|x| x as u32),
                c.str_opt("speed")?,
            ),
            None => (None, None, None),
        },
        memory_gb: f.int_opt("memoryGb", 1, 256)?.map(|x| x as u32),
        domain_id: ni.str_req("networkDomainId")?,
        primary: nic_request(ni.obj_req("primaryNic")?)?,
        additional: ni
            .list("additionalNic")?
            .into_iter()
            .map(nic_request)
            .collect::<ApiResult<_>>()?,
        disks,
    };
    let name = req.name.clone();
    let id = ctx.core.change(|tx| server::deploy(tx, req)).await?;
    Ok(ctx.accepted(&format!("deploy Server '{name}'"), &[("serverId", &id)]))
}

/// The asynchronous server actions: `startServer` … `cleanServer`.
pub async fn action(ctx: &Ctx<'_>, root: &str, op: OpKind) -> ApiResult<String> {
    let m = ctx.body(root)?;
    let id = Fields::new(&m).id()?;
    ctx.core.change(|tx| server::action(tx, &id, op)).await?;
    Ok(ctx.accepted(&format!("{} Server '{id}'", verb(op)), &[]))
}

fn verb(op: OpKind) -> &'static str {
    match op {
        OpKind::StartServer => "start",
        OpKind::ShutdownServer => "shutdown",
        OpKind::PowerOffServer => "power off",
        OpKind::RebootServer => "reboot",
        OpKind::ResetServer => "reset",
        OpKind::DeleteServer => "delete",
        OpKind::CleanServer => "clean",
        _ => "change",
    }
}

/// `enableServerMonitoring`, `changeServerMonitoringPlan`, `disableServerMonitoring`.
pub async fn monitoring(ctx: &Ctx<'_>, root: &str) -> ApiResult<String> {
    let m = ctx.body(root)?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let plan = if root == "disableServerMonitoring" {
        String::new()
    } else {
        f.str_req("servicePlan")?
    };
    let change = match root {
        "enableServerMonitoring" => Monitoring::Enable(&plan),
        "changeServerMonitoringPlan" => Monitoring::Change(&plan),
        _ => Monitoring::Disable,
    };
    ctx.core
        .change(|tx| server::monitoring(tx, &id, change))
        .await?;
    Ok(ctx.ok(
        "OK",
        &format!("Monitoring of Server '{id}' has been updated."),
        &[],
    ))
}

/// `POST server/reconfigureServer` (every child optional).
pub async fn reconfigure(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("reconfigureServer")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let r = Reconfigure {
        cpu_count: f.int_opt("cpuCount", 1, 32)?.map(|x| x as u32),
        cores_per_socket: f.int_opt("coresPerSocket", 1, 32)?.map(|x| x as u32),
        cpu_speed: f.str_opt("cpuSpeed")?,
        memory_gb: f.int_opt("memoryGb", 1, 256)?.map(|x| x as u32),
    };
    ctx.core
        .change(|tx| server::reconfigure(tx, &id, r))
        .await?;
    Ok(ctx.accepted(&format!("reconfigure Server '{id}'"), &[]))
}

/// `POST server/addDisk`.
pub async fn add_disk(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("addDisk")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let size = f.int_req("sizeGb", 1, 1000)? as u32;
    let speed = f.str_opt("speed")?.unwrap_or_else(|| "STANDARD".into());
    let scsi = f.int_opt("scsiId", 0, 15)?.map(|x| x as u32);
    let disk = ctx
        .core
        .change(|tx| server::add_disk(tx, &id, size, &speed, scsi))
        .await?;
    Ok(ctx.accepted(
        &format!("add a Disk to Server '{id}'"),
        &[("diskId", &disk)],
    ))
}

/// `POST server/expandDisk` (`id` is the disk id).
pub async fn expand_disk(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("expandDisk")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let size = f.int_req("newSizeGb", 1, 1000)? as u32;
    ctx.core
        .change(|tx| server::expand_disk(tx, &id, size))
        .await?;
    Ok(ctx.accepted(&format!("expand Disk '{id}'"), &[]))
}

/// `POST server/changeDiskSpeed` (`id` is the disk id).
pub async fn change_disk_speed(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("changeDiskSpeed")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let speed = f.str_req("speed")?;
    ctx.core
        .change(|tx| server::change_disk_speed(tx, &id, &speed))
        .await?;
    Ok(ctx.accepted(&format!("change the speed of Disk '{id}'"), &[]))
}

/// `POST server/addNic`: `serverId` and `nic` with exactly one of `vlanId` and `privateIpv4`, and
/// maybe `networkAdapter`.
pub async fn add_nic(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("addNic")?;
    let f = Fields::new(&m);
    let id = f.str_req("serverId")?;
    let req = nic_request(f.obj_req("nic")?)?;
    let nic_id = ctx.core.change(|tx| server::add_nic(tx, &id, &req)).await?;
    let vlan = {
        let st = ctx.core.read();
        st.servers
            .get(&id)
            .and_then(|s| s.staged_nic())
            .and_then(|n| st.vlans.get(&n.vlan_id))
            .map(|v| v.name.clone())
            .unwrap_or_default()
    };
    Ok(ctx.ok(
        "IN_PROGRESS",
        &format!(
            "The request to add NIC for VLAN '{vlan}' on Server '{id}' has been accepted and is being processed."
        ),
        &[("nicId", &nic_id)],
    ))
}

/// `POST server/removeNic` (`id` is the NIC id).
pub async fn remove_nic(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("removeNic")?;
    let id = Fields::new(&m).id()?;
    ctx.core.change(|tx| server::remove_nic(tx, &id)).await?;
    Ok(ctx.accepted(&format!("Remove NIC {id}"), &[]))
}

/// `POST server/updateVmwareTools` (`<updateVmwareTools id="..."/>`): asynchronous.
pub async fn update_vmware_tools(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("updateVmwareTools")?;
    let id = Fields::new(&m).id()?;
    ctx.core
        .change(|tx| server::update_vmware_tools(tx, &id))
        .await?;
    Ok(ctx.accepted(&format!("update VMware Tools on Server {id}"), &[]))
}
