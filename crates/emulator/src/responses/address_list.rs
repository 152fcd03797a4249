//! IP address lists and port lists on the wire (`network/ipAddressList`, `network/portList`): list,
//! get, create, edit, delete, in the shapes of the libcloud fixtures.

use super::body::Fields;
use super::{Ctx, Out, list, matches, time};
use crate::errors::ApiResult;
use crate::models::State;
use crate::models::address_list::{self, AddressList, Entries, IpEntry, PortEntry};

fn render(o: &mut Out, st: &State, l: &AddressList, root: bool) {
    let (el, child) = if l.is_port_list() {
        ("portList", "childPortList")
    } else {
        ("ipAddressList", "childIpAddressList")
    };
    if root {
        o.root(el);
    } else {
        o.open(el);
    }
    o.attr_s("id", &l.id);
    o.text_s("name", &l.name);
    o.text_s("description", &l.description);
    match &l.entries {
        Entries::Ip(v, list) => {
            o.text_s("ipVersion", v);
            o.begin_list("ipAddress");
            for e in list {
                o.open("ipAddress");
                o.attr_s("begin", &e.begin);
                if let Some(end) = &e.end {
                    o.attr_s("end", end);
                }
                if let Some(p) = e.prefix {
                    o.attr_i("prefixSize", p.into());
                }
                o.close();
            }
            o.end_list();
        }
        Entries::Port(list) => {
            o.begin_list("port");
            for p in list {
                o.open("port");
                o.attr_i("begin", p.begin.into());
                if let Some(end) = p.end {
                    o.attr_i("end", end.into());
                }
                o.close();
            }
            o.end_list();
        }
    }
    o.begin_list(child);
    for c in &l.children {
        o.open(child);
        o.attr_s("id", c);
        o.attr_s("name", st.address_lists.get(c).map_or("", |x| &x.name));
        o.close();
    }
    o.end_list();
    o.text_s("state", l.state.as_str());
    o.text_s("createTime", &time(l.create_ms));
    o.close();
}

/// `GET network/ipAddressList` or `network/portList` (filters networkDomainId, id, name,
/// ipVersion, state).
pub fn list_lists(ctx: &Ctx<'_>, port: bool) -> ApiResult<String> {
    let st = ctx.core.read();
    let mut items: Vec<&AddressList> = st
        .address_lists
        .values()
        .filter(|l| {
            l.is_port_list() == port
                && matches(ctx.q("networkDomainId"), &l.domain_id)
                && matches(ctx.q("id"), &l.id)
                && matches(ctx.q("name"), &l.name)
                && matches(ctx.q("ipVersion"), l.ip_version().unwrap_or(""))
                && matches(ctx.q("state"), l.state.as_str())
        })
        .collect();
    items.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    let (root, item) = if port {
        ("portLists", "portList")
    } else {
        ("ipAddressLists", "ipAddressList")
    };
    let st2 = &*st;
    list(ctx, root, item, &items, |o, l| render(o, st2, l, false))
}

/// `GET network/ipAddressList/{id}` or `network/portList/{id}`.
pub fn get_list(ctx: &Ctx<'_>, id: &str, port: bool) -> ApiResult<String> {
    let st = ctx.core.read();
    let mut o = Out::new(ctx.fmt, 1024);
    render(&mut o, &st, address_list::get(&st, id, port)?, true);
    Ok(o.finish())
}

fn entries(f: &Fields<'_>, port: bool, version: &str) -> ApiResult<Entries> {
    if port {
        let mut out = Vec::new();
        for p in f.list("port")? {
            out.push(PortEntry {
                begin: p.int_req("begin", 1, 65535)? as u16,
                end: p.int_opt("end", 1, 65535)?.map(|e| e as u16),
            });
        }
        return Ok(Entries::Port(out));
    }
    let mut out = Vec::new();
    for a in f.list("ipAddress")? {
        out.push(IpEntry {
            begin: a.str_req("begin")?,
            end: a.str_opt("end")?.filter(|s| !s.is_empty()),
            prefix: a.int_opt("prefixSize", 0, 128)?.map(|p| p as u8),
        });
    }
    Ok(Entries::Ip(version.to_ascii_uppercase(), out))
}

fn children(f: &Fields<'_>, port: bool) -> ApiResult<Vec<String>> {
    f.strs(if port {
        "childPortListId"
    } else {
        "childIpAddressListId"
    })
}

/// `POST network/createIpAddressList` or `network/createPortList`.
pub async fn create(ctx: &Ctx<'_>, port: bool) -> ApiResult<String> {
    let root = if port {
        "createPortList"
    } else {
        "createIpAddressList"
    };
    let m = ctx.body(root)?;
    let f = Fields::new(&m);
    let dom = f.str_req("networkDomainId")?;
    let name = f.str_req("name")?;
    let description = f.str_opt("description")?.unwrap_or_default();
    let version = if port {
        String::new()
    } else {
        f.str_req("ipVersion")?
    };
    let e = entries(&f, port, &version)?;
    let kids = children(&f, port)?;
    let id = ctx
        .core
        .change(|tx| address_list::create(tx, &dom, &name, &description, e, kids))
        .await?;
    let (what, key) = if port {
        ("Port List", "portListId")
    } else {
        ("IP Address List", "ipAddressListId")
    };
    Ok(ctx.ok(
        "OK",
        &format!("{what} '{name}' has been created."),
        &[(key, &id)],
    ))
}

/// `POST network/editIpAddressList` or `network/editPortList` (entries and children replaced).
pub async fn edit(ctx: &Ctx<'_>, port: bool) -> ApiResult<String> {
    let root = if port {
        "editPortList"
    } else {
        "editIpAddressList"
    };
    let m = ctx.body(root)?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let description = f.str_opt("description")?;
    let has = f.has(if port { "port" } else { "ipAddress" });
    let e = if has {
        Some(entries(&f, port, "")?)
    } else {
        None
    };
    let kids = children(&f, port)?;
    let name = ctx
        .core
        .change(|tx| address_list::edit(tx, &id, port, description, e, kids))
        .await?;
    let what = if port { "Port List" } else { "IP Address List" };
    Ok(ctx.ok(
        "OK",
        &format!("{what} '{name}' has been edited successfully."),
        &[],
    ))
}

/// `POST network/deleteIpAddressList` or `network/deletePortList`.
pub async fn delete(ctx: &Ctx<'_>, port: bool) -> ApiResult<String> {
    let root = if port {
        "deletePortList"
    } else {
        "deleteIpAddressList"
    };
    let m = ctx.body(root)?;
    let id = Fields::new(&m).id()?;
    ctx.core
        .change(|tx| address_list::delete(tx, &id, port))
        .await?;
    let what = if port { "Port List" } else { "IP Address List" };
    Ok(ctx.ok("OK", &format!("{what} with Id {id} has been deleted."), &[]))
}
