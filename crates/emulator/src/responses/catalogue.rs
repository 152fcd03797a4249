//! Datacenters and OS images on the wire; customer images (none exist: RESOURCE_NOT_FOUND).

use super::{Ctx, Out, list, matches};
use crate::errors::{ApiError, ApiResult};
use crate::models::catalogue::{self, Datacenter, OsImage};

fn datacenter(o: &mut Out, d: &Datacenter) {
    o.open("datacenter");
    o.attr_s("id", d.id);
    o.attr_s("type", "MCP 2.0");
    o.text_s("displayName", d.display_name);
    o.text_s("city", d.city);
    o.text_s("state", d.state);
    o.text_s("country", d.country);
    o.text_s("vpnUrl", d.vpn_url);
    o.text_s("ftpsHost", d.ftps_host);
    o.open("networking");
    o.attr_i("type", 2);
    o.attr_s("maintenanceStatus", "NORMAL");
    o.begin_list("property");
    o.open("property");
    o.attr_s("name", "MAX_SERVER_TO_VIP_CONNECTIONS");
    o.attr_s("value", "20");
    o.close();
    o.end_list();
    o.close();
    o.open("hypervisor");
    o.attr_s("type", "VMWARE");
    o.attr_s("maintenanceStatus", "NORMAL");
    o.begin_list("diskSpeed");
    for (id, name, abbr, desc, def) in [
        ("STANDARD", "Standard", "STD", "Standard Disk Speed", true),
        (
            "HIGHPERFORMANCE",
            "High Performance",
            "HPF",
            "Faster than Standard.",
            false,
        ),
        ("ECONOMY", "Economy", "ECN", "Slower than Standard.", false),
    ] {
        o.open("diskSpeed");
        o.attr_s("id", id);
        o.attr_b("default", def);
        o.attr_b("available", true);
        o.text_s("displayName", name);
        o.text_s("abbreviation", abbr);
        o.text_s("description", desc);
        o.close();
    }
    o.end_list();
    o.begin_list("cpuSpeed");
    for (id, name, desc, def) in [
        ("STANDARD", "Standard", "The default CPU speed.", true),
        ("HIGHPERFORMANCE", "High Performance", "Faster CPUs.", false),
    ] {
        o.open("cpuSpeed");
        o.attr_s("id", id);
        o.attr_b("default", def);
        o.attr_b("available", true);
        o.text_s("displayName", name);
        o.text_s("description", desc);
        o.close();
    }
    o.end_list();
    o.begin_list("property");
    for (n, v) in [
        ("MIN_DISK_SIZE_GB", "10"),
        ("MAX_DISK_SIZE_GB", "1000"),
        ("MAX_TOTAL_ADDITIONAL_STORAGE_GB", "10000"),
        ("MAX_TOTAL_IMAGE_STORAGE_GB", "2600"),
        ("MAX_CPU_COUNT", "32"),
        ("MIN_MEMORY_MB", "1024"),
        ("MAX_MEMORY_MB", "262144"),
    ] {
        o.open("property");
        o.attr_s("name", n);
        o.attr_s("value", v);
        o.close();
    }
    o.end_list();
    o.close();
    for (name, typ) in [
        ("backup", Some("COMMVAULT")),
        ("consoleAccess", None),
        ("monitoring", None),
    ] {
        o.open(name);
        if let Some(t) = typ {
            o.attr_s("type", t);
        }
        o.attr_s("maintenanceStatus", "NORMAL");
        o.close();
    }
    o.close();
}

/// `GET infrastructure/datacenter[?id=]`.
pub fn list_datacenters(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = ctx.q("id");
    let items: Vec<&Datacenter> = catalogue::datacenters()
        .iter()
        .filter(|d| matches(id, d.id))
        .collect();
    list(ctx, "datacenters", "datacenter", &items, |o, d| {
        datacenter(o, d)
    })
}

fn os_image(o: &mut Out, i: &OsImage, minor: u32, root: bool) {
    if root {
        o.root("osImage");
    } else {
        o.open("osImage");
    }
    o.attr_s("id", &i.id);
    o.attr_s("datacenterId", i.datacenter_id);
    o.text_s("name", i.name);
    o.text_s("description", i.description);
    o.open("cpu");
    o.attr_i("count", i.cpu_count as i64);
    o.attr_s("speed", "STANDARD");
    o.attr_i("coresPerSocket", 1);
    o.close();
    o.text_i("memoryGb", i.memory_gb as i64);
    if minor >= 5 {
        o.begin_list("scsiController");
        o.open("scsiController");
        o.attr_s("id", &i.disk_id);
        o.attr_s("adapterType", "LSI_LOGIC_PARALLEL");
        o.attr_i("key", 1000);
        o.attr_i("busNumber", 0);
        o.begin_list("disk");
        disk(o, i);
        o.end_list();
        o.close();
        o.end_list();
        for l in ["sataController", "floppy", "nic", "softwareLabel"] {
            o.begin_list(l);
            o.end_list();
        }
    } else {
        disk(o, i);
    }
    o.text_s("createTime", i.create_time);
    o.text_s("osImageKey", i.key);
    if minor >= 5 {
        o.text_i("sortOrder", i.sort_order as i64);
    }
    if minor <= 3 {
        os(o, i);
    } else {
        o.open("guest");
        o.attr_b("osCustomization", true);
        os(o, i);
        o.close();
    }
    o.close();
}

fn disk(o: &mut Out, i: &OsImage) {
    o.open("disk");
    o.attr_s("id", &i.disk_id);
    o.attr_i("scsiId", 0);
    o.attr_i("sizeGb", i.disk_gb as i64);
    o.attr_s("speed", "STANDARD");
    o.close();
}

fn os(o: &mut Out, i: &OsImage) {
    o.open("operatingSystem");
    o.attr_s("id", i.os_id);
    o.attr_s("displayName", i.os_display);
    o.attr_s("family", i.family);
    o.close();
}

/// `GET image/osImage[?datacenterId=&name=&id=]`.
pub fn list_os_images(ctx: &Ctx<'_>) -> ApiResult<String> {
    let (dc, name, id) = (ctx.q("datacenterId"), ctx.q("name"), ctx.q("id"));
    let items: Vec<&OsImage> = catalogue::images()
        .iter()
        .filter(|i| matches(dc, i.datacenter_id) && matches(name, i.name) && matches(id, &i.id))
        .collect();
    list(ctx, "osImages", "osImage", &items, |o, i| {
        os_image(o, i, ctx.minor, false)
    })
}

/// `GET image/osImage/{id}`.
pub fn get_os_image(ctx: &Ctx<'_>, id: &str) -> ApiResult<String> {
    let i = catalogue::image(id).ok_or_else(|| ApiError::not_found("Server Image", id))?;
    let mut o = Out::new(ctx.fmt, 1024);
    os_image(&mut o, i, ctx.minor, true);
    Ok(o.finish())
}

/// `GET image/customerImage[/{id}]`: there are no customer images.
pub fn customer_image(ctx: &Ctx<'_>, id: Option<&str>) -> ApiResult<String> {
    match id {
        Some(id) => Err(ApiError::not_found("Server Image", id)),
        None => list::<()>(ctx, "customerImages", "customerImage", &[], |_, _| {}),
    }
}
