//! HTTP routing (axum): Basic auth, the `/oec/0.9/myaccount` and `/caas/2.{minor}/{orgId}/...`
//! operations, the `/emulator/v1/` control endpoints, fault injection, statistics and the request log.
//! One fallback handler parses the path itself, so every request takes the same short path.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;

use super::control;
use super::core::Core;
use super::errors::{ApiError, Code};
use super::faults::Fault;
use super::ops::OpKind;
use super::request_log::{LogLine, is_secret_key, redact};
use super::responses::{
    self, Ctx, Format, address_list, body, body::MAX_BODY, catalogue, firewall_rule, nat_rule,
    network_domain, oec, public_ip_block, server, tag, vip, vlan,
};

/// The router serving everything.
pub fn router(core: Arc<Core>) -> Router {
    Router::new().fallback(handle).with_state(core)
}

/// Lowest and highest API minor version served.
pub const MINORS: std::ops::RangeInclusive<u32> = 2..=13;

struct Answer {
    status: u16,
    code: String,
    body: String,
    content_type: &'static str,
    reset: bool,
}

impl Answer {
    fn api(fmt: Format, status: u16, code: &str, body: String) -> Answer {
        Answer {
            status,
            code: code.to_string(),
            body,
            content_type: fmt.content_type(),
            reset: false,
        }
    }
    fn error(fmt: Format, operation: &str, e: &ApiError) -> Answer {
        Answer::api(
            fmt,
            e.status,
            e.code.as_str(),
            responses::error_envelope(fmt, operation, e),
        )
    }
    fn plain(status: u16, text: &str) -> Answer {
        Answer {
            status,
            code: format!("HTTP_{status}"),
            body: text.to_string(),
            content_type: "text/plain; charset=utf-8",
            reset: false,
        }
    }
    fn json(status: u16, v: &serde_json::Value) -> Answer {
        Answer {
            status,
            code: format!("HTTP_{status}"),
            body: v.to_string(),
            content_type: "application/json",
            reset: false,
        }
    }
}

fn authorized(core: &Core, headers: &HeaderMap) -> bool {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(b64) = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let Ok(s) = String::from_utf8(raw) else {
        return false;
    };
    let Some((u, p)) = s.split_once(':') else {
        return false;
    };
    core.check_credentials(u, p)
}

/// `deployServer` -> `DEPLOY_SERVER`.
pub fn operation_name(op: &str) -> String {
    let mut out = String::with_capacity(op.len() + 8);
    for (i, c) in op.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn get_name(area_op: &str, id: bool) -> &'static str {
    match (area_op, id) {
        ("infrastructure/datacenter", _) => "LIST_DATACENTERS",
        ("image/osImage", false) => "LIST_OS_IMAGES",
        ("image/osImage", true) => "GET_OS_IMAGE",
        ("image/customerImage", false) => "LIST_CUSTOMER_IMAGES",
        ("image/customerImage", true) => "GET_CUSTOMER_IMAGE",
        ("network/networkDomain", false) => "LIST_NETWORK_DOMAINS",
        ("network/networkDomain", true) => "GET_NETWORK_DOMAIN",
        ("network/vlan", false) => "LIST_VLANS",
        ("network/vlan", true) => "GET_VLAN",
        ("network/publicIpBlock", false) => "LIST_PUBLIC_IP_BLOCKS",
        ("network/publicIpBlock", true) => "GET_PUBLIC_IP_BLOCK",
        ("network/reservedPublicIpv4Address", false) => "LIST_RESERVED_PUBLIC_IPV4_ADDRESSES",
        ("network/reservedPrivateIpv4Address", false) => "LIST_RESERVED_PRIVATE_IPV4_ADDRESSES",
        ("network/natRule", false) => "LIST_NAT_RULES",
        ("network/natRule", true) => "GET_NAT_RULE",
        ("network/firewallRule", false) => "LIST_FIREWALL_RULES",
        ("network/firewallRule", true) => "GET_FIREWALL_RULE",
        ("server/server", false) => "LIST_SERVERS",
        ("server/server", true) => "GET_SERVER",
        ("networkDomainVip/pool", false) => "LIST_POOLS",
        ("networkDomainVip/pool", true) => "GET_POOL",
        ("networkDomainVip/node", false) => "LIST_NODES",
        ("networkDomainVip/node", true) => "GET_NODE",
        ("networkDomainVip/poolMember", false) => "LIST_POOL_MEMBERS",
        ("networkDomainVip/poolMember", true) => "GET_POOL_MEMBER",
        ("networkDomainVip/virtualListener", false) => "LIST_VIRTUAL_LISTENERS",
        ("networkDomainVip/virtualListener", true) => "GET_VIRTUAL_LISTENER",
        ("networkDomainVip/defaultHealthMonitor", _) => "LIST_DEFAULT_HEALTH_MONITORS",
        ("networkDomainVip/defaultPersistenceProfile", _) => "LIST_DEFAULT_PERSISTENCE_PROFILES",
        ("networkDomainVip/defaultIrule", _) => "LIST_DEFAULT_IRULES",
        ("tag/tagKey", false) => "LIST_TAG_KEYS",
        ("tag/tagKey", true) => "GET_TAG_KEY",
        ("tag/tag", _) => "LIST_TAGS",
        ("network/ipAddressList", false) => "LIST_IP_ADDRESS_LISTS",
        ("network/ipAddressList", true) => "GET_IP_ADDRESS_LIST",
        ("network/portList", false) => "LIST_PORT_LISTS",
        ("network/portList", true) => "GET_PORT_LIST",
        _ => "UNKNOWN",
    }
}

fn is_known_post(area_op: &str) -> bool {
    matches!(
        area_op,
        "network/deployNetworkDomain"
            | "network/editNetworkDomain"
            | "network/deleteNetworkDomain"
            | "network/deployVlan"
            | "network/editVlan"
            | "network/deleteVlan"
            | "network/reservePrivateIpv4Address"
            | "network/unreservePrivateIpv4Address"
            | "network/addPublicIpBlock"
            | "network/removePublicIpBlock"
            | "network/createNatRule"
            | "network/deleteNatRule"
            | "network/createFirewallRule"
            | "network/editFirewallRule"
            | "network/deleteFirewallRule"
            | "server/deployServer"
            | "server/startServer"
            | "server/shutdownServer"
            | "server/powerOffServer"
            | "server/rebootServer"
            | "server/resetServer"
            | "server/deleteServer"
            | "server/cleanServer"
            | "server/enableServerMonitoring"
            | "server/changeServerMonitoringPlan"
            | "server/disableServerMonitoring"
            | "server/reconfigureServer"
            | "server/addDisk"
            | "server/expandDisk"
            | "server/changeDiskSpeed"
            | "server/addNic"
            | "server/removeNic"
            | "server/updateVmwareTools"
            | "network/expandVlan"
            | "network/createIpAddressList"
            | "network/editIpAddressList"
            | "network/deleteIpAddressList"
            | "network/createPortList"
            | "network/editPortList"
            | "network/deletePortList"
            | "networkDomainVip/createPool"
            | "networkDomainVip/editPool"
            | "networkDomainVip/deletePool"
            | "networkDomainVip/createNode"
            | "networkDomainVip/editNode"
            | "networkDomainVip/deleteNode"
            | "networkDomainVip/addPoolMember"
            | "networkDomainVip/editPoolMember"
            | "networkDomainVip/removePoolMember"
            | "networkDomainVip/createVirtualListener"
            | "networkDomainVip/editVirtualListener"
            | "networkDomainVip/deleteVirtualListener"
            | "tag/createTagKey"
            | "tag/editTagKey"
            | "tag/deleteTagKey"
            | "tag/applyTags"
            | "tag/removeTags"
    )
}

/// Reads of the load balancer, tag and address list families.
fn dispatch_get_more(
    ctx: &Ctx<'_>,
    area_op: &str,
    id: Option<&str>,
) -> Option<Result<String, ApiError>> {
    Some(match (area_op, id) {
        ("networkDomainVip/pool", None) => vip::list_pools(ctx),
        ("networkDomainVip/node", None) => vip::list_nodes(ctx),
        ("networkDomainVip/poolMember", None) => vip::list_members(ctx),
        ("networkDomainVip/virtualListener", None) => vip::list_listeners(ctx),
        ("networkDomainVip/defaultHealthMonitor", None) => vip::default_monitors(ctx),
        ("networkDomainVip/defaultPersistenceProfile", None) => vip::default_profiles(ctx),
        ("networkDomainVip/defaultIrule", None) => vip::default_irules(ctx),
        (
            "networkDomainVip/pool"
            | "networkDomainVip/node"
            | "networkDomainVip/poolMember"
            | "networkDomainVip/virtualListener",
            Some(id),
        ) => vip::get(ctx, &area_op["networkDomainVip/".len()..], id),
        ("tag/tagKey", None) => tag::list_keys(ctx),
        ("tag/tagKey", Some(id)) => tag::get_key(ctx, id),
        ("tag/tag", None) => tag::list_tags(ctx),
        ("network/ipAddressList", None) => address_list::list_lists(ctx, false),
        ("network/ipAddressList", Some(id)) => address_list::get_list(ctx, id, false),
        ("network/portList", None) => address_list::list_lists(ctx, true),
        ("network/portList", Some(id)) => address_list::get_list(ctx, id, true),
        _ => return None,
    })
}

/// Changes of the load balancer, tag and address list families, expandVlan and updateVmwareTools.
async fn dispatch_post_more(ctx: &Ctx<'_>, area_op: &str) -> Option<Result<String, ApiError>> {
    Some(match area_op {
        "networkDomainVip/createPool" => vip::create_pool(ctx).await,
        "networkDomainVip/editPool" => vip::edit_pool(ctx).await,
        "networkDomainVip/deletePool" => vip::delete_pool(ctx).await,
        "networkDomainVip/createNode" => vip::create_node(ctx).await,
        "networkDomainVip/editNode" => vip::edit_node(ctx).await,
        "networkDomainVip/deleteNode" => vip::delete_node(ctx).await,
        "networkDomainVip/addPoolMember" => vip::add_member(ctx).await,
        "networkDomainVip/editPoolMember" => vip::edit_member(ctx).await,
        "networkDomainVip/removePoolMember" => vip::remove_member(ctx).await,
        "networkDomainVip/createVirtualListener" => vip::create_listener(ctx).await,
        "networkDomainVip/editVirtualListener" => vip::edit_listener(ctx).await,
        "networkDomainVip/deleteVirtualListener" => vip::delete_listener(ctx).await,
        "tag/createTagKey" => tag::create_key(ctx).await,
        "tag/editTagKey" => tag::edit_key(ctx).await,
        "tag/deleteTagKey" => tag::delete_key(ctx).await,
        "tag/applyTags" => tag::apply(ctx).await,
        "tag/removeTags" => tag::remove(ctx).await,
        "network/createIpAddressList" => address_list::create(ctx, false).await,
        "network/editIpAddressList" => address_list::edit(ctx, false).await,
        "network/deleteIpAddressList" => address_list::delete(ctx, false).await,
        "network/createPortList" => address_list::create(ctx, true).await,
        "network/editPortList" => address_list::edit(ctx, true).await,
        "network/deletePortList" => address_list::delete(ctx, true).await,
        "network/expandVlan" => vlan::expand(ctx).await,
        "server/updateVmwareTools" => server::update_vmware_tools(ctx).await,
        _ => return None,
    })
}

async fn dispatch(
    ctx: &Ctx<'_>,
    area_op: &str,
    id: Option<&str>,
    post: bool,
) -> Result<String, ApiError> {
    if !post {
        if let Some(r) = dispatch_get_more(ctx, area_op, id) {
            return r;
        }
        return match (area_op, id) {
            ("infrastructure/datacenter", None) => catalogue::list_datacenters(ctx),
            ("image/osImage", None) => catalogue::list_os_images(ctx),
            ("image/osImage", Some(id)) => catalogue::get_os_image(ctx, id),
            ("image/customerImage", id) => catalogue::customer_image(ctx, id),
            ("network/networkDomain", None) => network_domain::list_domains(ctx),
            ("network/networkDomain", Some(id)) => network_domain::get_domain(ctx, id),
            ("network/vlan", None) => vlan::list_vlans(ctx),
            ("network/vlan", Some(id)) => vlan::get_vlan(ctx, id),
            ("network/publicIpBlock", None) => public_ip_block::list_blocks(ctx),
            ("network/publicIpBlock", Some(id)) => public_ip_block::get_block(ctx, id),
            ("network/reservedPublicIpv4Address", None) => public_ip_block::list_reserved(ctx),
            ("network/reservedPrivateIpv4Address", None) => vlan::list_reserved(ctx),
            ("network/natRule", None) => nat_rule::list_rules(ctx),
            ("network/natRule", Some(id)) => nat_rule::get_rule(ctx, id),
            ("network/firewallRule", None) => firewall_rule::list_rules(ctx),
            ("network/firewallRule", Some(id)) => firewall_rule::get_rule(ctx, id),
            ("server/server", None) => server::list_servers(ctx),
            ("server/server", Some(id)) => server::get_server(ctx, id),
            _ => Err(ApiError::new(
                Code::ResourceNotFound,
                format!("No such resource: {area_op}"),
            )
            .with_status(404)),
        };
    }
    if let Some(r) = dispatch_post_more(ctx, area_op).await {
        return r;
    }
    match area_op {
        "network/deployNetworkDomain" => network_domain::deploy(ctx).await,
        "network/editNetworkDomain" => network_domain::edit(ctx).await,
        "network/deleteNetworkDomain" => network_domain::delete(ctx).await,
        "network/deployVlan" => vlan::deploy(ctx).await,
        "network/editVlan" => vlan::edit(ctx).await,
        "network/deleteVlan" => vlan::delete(ctx).await,
        "network/reservePrivateIpv4Address" => vlan::reserve(ctx).await,
        "network/unreservePrivateIpv4Address" => vlan::unreserve(ctx).await,
        "network/addPublicIpBlock" => public_ip_block::add(ctx).await,
        "network/removePublicIpBlock" => public_ip_block::remove(ctx).await,
        "network/createNatRule" => nat_rule::create(ctx).await,
        "network/deleteNatRule" => nat_rule::delete(ctx).await,
        "network/createFirewallRule" => firewall_rule::create(ctx).await,
        "network/editFirewallRule" => firewall_rule::edit(ctx).await,
        "network/deleteFirewallRule" => firewall_rule::delete(ctx).await,
        "server/deployServer" => server::deploy(ctx).await,
        "server/startServer" => server::action(ctx, "startServer", OpKind::StartServer).await,
        "server/shutdownServer" => {
            server::action(ctx, "shutdownServer", OpKind::ShutdownServer).await
        }
        "server/powerOffServer" => {
            server::action(ctx, "powerOffServer", OpKind::PowerOffServer).await
        }
        "server/rebootServer" => server::action(ctx, "rebootServer", OpKind::RebootServer).await,
        "server/resetServer" => server::action(ctx, "resetServer", OpKind::ResetServer).await,
        "server/deleteServer" => server::action(ctx, "deleteServer", OpKind::DeleteServer).await,
        "server/cleanServer" => server::action(ctx, "cleanServer", OpKind::CleanServer).await,
        "server/enableServerMonitoring" => server::monitoring(ctx, "enableServerMonitoring").await,
        "server/changeServerMonitoringPlan" => {
            server::monitoring(ctx, "changeServerMonitoringPlan").await
        }
        "server/disableServerMonitoring" => {
            server::monitoring(ctx, "disableServerMonitoring").await
        }
        "server/reconfigureServer" => server::reconfigure(ctx).await,
        "server/addDisk" => server::add_disk(ctx).await,
        "server/expandDisk" => server::expand_disk(ctx).await,
        "server/changeDiskSpeed" => server::change_disk_speed(ctx).await,
        "server/addNic" => server::add_nic(ctx).await,
        "server/removeNic" => server::remove_nic(ctx).await,
        _ => Err(ApiError::new(
            Code::ResourceNotFound,
            format!("No such operation: {area_op}"),
        )
        .with_status(404)),
    }
}

fn myaccount(core: &Core) -> String {
    let org = core.read().org_id.clone();
    let mut user = String::new();
    for c in core.user.chars() {
        match c {
            '&' => user.push_str("&amp;"),
            '<' => user.push_str("&lt;"),
            '>' => user.push_str("&gt;"),
            c => user.push(c),
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<ns3:Account xmlns=\"http://oec.api.opsource.net/schemas/server\" xmlns:ns3=\"http://oec.api.opsource.net/schemas/directory\">\
<ns3:userName>{user}</ns3:userName><ns3:fullName>Plumbery Emulator</ns3:fullName><ns3:firstName>Plumbery</ns3:firstName>\
<ns3:lastName>Emulator</ns3:lastName><ns3:emailAddress>{user}@example.com</ns3:emailAddress><ns3:orgId>{org}</ns3:orgId>\
<ns3:roles><ns3:role><ns3:name>server</ns3:name></ns3:role><ns3:role><ns3:name>network</ns3:name></ns3:role>\
<ns3:role><ns3:name>primary administrator</ns3:name></ns3:role></ns3:roles></ns3:Account>"
    )
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY + 1).await.map_err(|_| {
        ApiError::invalid(
            "body",
            format!("request body exceeds {MAX_BODY} bytes or could not be read"),
        )
    })
}

async fn control(core: &Arc<Core>, method: &Method, what: &str, body: Body) -> Answer {
    match (method.as_str(), what) {
        ("GET", "stats") => Answer::json(200, &control::stats(core).to_json()),
        ("POST", "reset") => match core.reset() {
            Ok(()) => Answer::json(200, &serde_json::json!({"reset": true})),
            Err(e) => Answer::json(500, &serde_json::json!({"error": e.message})),
        },
        ("GET", "faults") => Answer::json(200, &control::faults_json(core)),
        ("PUT", "faults") => match read_body(body).await {
            Ok(b) => match control::set_faults(core, &b) {
                Ok(v) => Answer::json(200, &v),
                Err(e) => Answer::json(400, &serde_json::json!({"error": e.to_string()})),
            },
            Err(e) => Answer::json(400, &serde_json::json!({"error": e.message})),
        },
        _ => Answer::plain(404, "unknown control endpoint"),
    }
}

/// What answering a request needs from its head.
struct Incoming {
    method: Method,
    path: String,
    query: String,
    /// The answer format the `Accept` header asks for (XML unless it names JSON).
    fmt: Format,
    /// The `Content-Type` header, empty when missing.
    content_type: String,
}

impl Incoming {
    /// Reads the method, path, query, answer format and content type of a request head.
    fn read(parts: &Parts) -> Incoming {
        let text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let fmt = match text(header::ACCEPT) {
            Some(a) if a.contains("json") => Format::Json,
            _ => Format::Xml,
        };
        Incoming {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            fmt,
            content_type: text(header::CONTENT_TYPE).unwrap_or("").to_string(),
        }
    }
}

/// A request answered, with what the statistics and the request log need.
struct Outcome {
    operation: String,
    answer: Answer,
    /// The body of a change as logged (see `loggable_body`).
    logged_body: Option<serde_json::Value>,
    /// Whether the statistics count the request (control requests are not counted).
    counted: bool,
}

async fn handle(State(core): State<Arc<Core>>, req: Request) -> Response {
    let t0 = Instant::now();
    let (parts, body) = req.into_parts();
    let incoming = Incoming::read(&parts);
    let out = answer_request(&core, &parts.headers, &incoming, body).await;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    if out.counted {
        core.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .count(&out.operation, &out.answer.code);
    }
    log_request(
        &core,
        incoming,
        out.operation,
        &out.answer,
        ms,
        out.logged_body,
    );
    into_response(out.answer)
}

/// Answers a request: refused without credentials, else a control endpoint, the MCP 1.0
/// account, another MCP 1.0 operation or a 2.x operation.
async fn answer_request(
    core: &Arc<Core>,
    headers: &HeaderMap,
    incoming: &Incoming,
    body: Body,
) -> Outcome {
    let (method, path) = (&incoming.method, incoming.path.as_str());
    let mut logged_body = None;
    let mut counted = true;
    let (operation, answer) = if !authorized(core, headers) {
        (
            "UNAUTHORIZED".to_string(),
            Answer::plain(401, "Invalid credentials."),
        )
    } else if let Some(what) = path.strip_prefix("/emulator/v1/") {
        counted = false;
        (
            format!("CONTROL_{}", what.to_ascii_uppercase()),
            control(core, method, what, body).await,
        )
    } else if path == "/oec/0.9/myaccount" && *method == Method::GET {
        ("GET_MY_ACCOUNT".to_string(), my_account(core).await)
    } else if let Some(rest) = path.strip_prefix("/oec/0.9/") {
        old_api(core, method, rest, &incoming.query, body, &mut logged_body).await
    } else {
        api(core, incoming, body, &mut logged_body).await
    };
    Outcome {
        operation,
        answer,
        logged_body,
        counted,
    }
}

/// Answers `GET /oec/0.9/myaccount` after drawing a fault (of which only a 503 applies).
async fn my_account(core: &Core) -> Answer {
    if draw_fault(core, false).await == Fault::Http503 {
        Answer::plain(503, "Service Unavailable")
    } else {
        Answer {
            status: 200,
            code: "OK".into(),
            body: myaccount(core),
            content_type: "application/xml; charset=utf-8",
            reset: false,
        }
    }
}

/// Traces an answered request and writes its line to the request log, query secrets redacted.
fn log_request(
    core: &Core,
    incoming: Incoming,
    operation: String,
    answer: &Answer,
    ms: f64,
    logged_body: Option<serde_json::Value>,
) {
    let Incoming {
        method,
        path,
        query,
        ..
    } = incoming;
    tracing::debug!(%method, %path, %operation, code = %answer.code, status = answer.status, ms, "request");
    core.log.write(LogLine {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        method: method.to_string(),
        path: if query.is_empty() {
            path
        } else {
            format!("{path}?{}", redact_query(&query))
        },
        operation,
        response_code: answer.code.clone(),
        status: answer.status,
        ms: (ms * 1000.0).round() / 1000.0,
        body: logged_body,
    });
}

/// The HTTP response of an answer: a Basic challenge with a 401, a body that fails for a reset.
fn into_response(answer: Answer) -> Response {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_REQUEST))
        .header(header::CONTENT_TYPE, answer.content_type);
    if answer.status == 401 {
        b = b.header(header::WWW_AUTHENTICATE, "Basic realm=\"CloudControl\"");
    }
    let body = if answer.reset {
        let s = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("fault: connection reset"))
        });
        Body::from_stream(s)
    } else {
        Body::from(answer.body)
    };
    b.body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Draws the fault injected into a request (a change when `post`), after sleeping its delay.
async fn draw_fault(core: &Core, post: bool) -> Fault {
    let (fault, delay) = core.faults.draw(post);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    fault
}

/// The body of a change (`post`), read and kept for the request log as `loggable_body` makes it;
/// empty for a read.
async fn change_body(
    post: bool,
    body: Body,
    content_type: &str,
    logged_body: &mut Option<serde_json::Value>,
) -> Result<Bytes, ApiError> {
    if !post {
        return Ok(Bytes::new());
    }
    let bytes = read_body(body).await?;
    *logged_body = loggable_body(content_type, &bytes);
    Ok(bytes)
}

/// Turns a successful answer into a connection reset when that is the fault drawn.
fn with_reset(fault: Fault, mut answer: Answer) -> Answer {
    if fault == Fault::Reset && answer.status == 200 {
        answer.reset = true;
        answer.code = "CONNECTION_RESET".into();
    }
    answer
}

/// An MCP 1.0 request (`/oec/0.9/{orgId}/server/{id}...`, see `responses::oec`): same
/// authentication, fault injection, statistics and request log as the 2.x API.
async fn old_api(
    core: &Arc<Core>,
    method: &Method,
    rest: &str,
    query: &str,
    body: Body,
    logged_body: &mut Option<serde_json::Value>,
) -> (String, Answer) {
    let segs: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let post = *method == Method::POST;
    let op = match segs.as_slice() {
        [_, "server", tail @ ..] if !tail.is_empty() => oec::operation(post, tail, query),
        _ => "UNKNOWN",
    };
    let xml = |status: u16, code: &str, body: String| Answer {
        status,
        code: code.to_string(),
        body,
        content_type: "application/xml; charset=utf-8",
        reset: false,
    };
    if segs.first() != Some(&core.read().org_id.as_str()) {
        return (op.into(), Answer::plain(403, "Organization is not yours."));
    }
    if op == "UNKNOWN" || (*method != Method::GET && !post) {
        return (op.into(), Answer::plain(404, "No such MCP 1.0 operation."));
    }
    let fault = draw_fault(core, post).await;
    match fault {
        Fault::Http503 => return (op.into(), Answer::plain(503, "Service Unavailable")),
        Fault::Busy | Fault::Unexpected => {
            let detail = "The server is busy (injected fault); try again later.";
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<ns6:Status xmlns:ns6=\"http://oec.api.opsource.net/schemas/general\"><ns6:operation>{op}</ns6:operation><ns6:result>ERROR</ns6:result><ns6:resultDetail>{detail}</ns6:resultDetail><ns6:resultCode>REASON_392</ns6:resultCode></ns6:Status>"
            );
            return (op.into(), xml(400, "REASON_392", body));
        }
        Fault::None | Fault::Reset => {}
    }
    let bytes = match change_body(post, body, "", logged_body).await {
        Ok(b) => b,
        Err(e) => return (op.into(), Answer::plain(400, &e.message)),
    };
    let answer = match oec::serve(core, op, &segs[2..], &bytes).await {
        Some(a) => xml(a.status, &a.code, a.body),
        None => Answer::plain(404, "No such MCP 1.0 operation."),
    };
    (op.into(), with_reset(fault, answer))
}

fn redact_query(q: &str) -> String {
    q.split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if is_secret_key(k) => format!("{k}=<redacted>"),
            _ => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A 2.x request's path, parsed and checked: `/caas/2.{minor}/{orgId}/{area}/{op}[/{id}]`.
struct Route<'a> {
    /// `{area}/{op}`.
    area_op: String,
    /// The resource id, when the path names one.
    id: Option<&'a str>,
    /// Whether the request is a change (POST).
    post: bool,
    /// The operation name, as statistics and envelopes give it.
    operation: String,
    minor: u32,
}

/// The operation name and error answer of a 2.x request refused with `e`.
fn refusal(fmt: Format, operation: &str, e: &ApiError) -> (String, Answer) {
    (operation.to_string(), Answer::error(fmt, operation, e))
}

/// Parses and checks the path of a 2.x request: its shape, API version, organization and
/// operation; else the refusal.
fn route<'a>(core: &Core, incoming: &'a Incoming) -> Result<Route<'a>, (String, Answer)> {
    let (method, path, fmt) = (&incoming.method, incoming.path.as_str(), incoming.fmt);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    // caas / 2.N / org / area / op [/ id]
    if segs.len() < 5 || segs.len() > 6 || segs[0] != "caas" {
        let e =
            ApiError::new(Code::ResourceNotFound, format!("No such path: {path}")).with_status(404);
        return Err(refusal(fmt, "UNKNOWN", &e));
    }
    let area_op = format!("{}/{}", segs[3], segs[4]);
    let id = segs.get(5).copied().filter(|s| !s.is_empty());
    let post = *method == Method::POST;
    let operation = if post {
        operation_name(segs[4])
    } else {
        get_name(&area_op, id.is_some()).to_string()
    };
    let minor = segs[1]
        .strip_prefix("2.")
        .and_then(|m| m.parse::<u32>().ok())
        .filter(|m| MINORS.contains(m));
    let Some(minor) = minor else {
        let e = ApiError::invalid(
            "version",
            format!("API version '{}' is not supported (2.2 to 2.13)", segs[1]),
        );
        return Err(refusal(fmt, &operation, &e));
    };
    if segs[2] != core.read().org_id {
        let e = ApiError::new(
            Code::AuthorizationFailure,
            format!("Organization {} is not yours.", segs[2]),
        );
        return Err(refusal(fmt, &operation, &e));
    }
    let known = if post {
        id.is_none() && is_known_post(&area_op)
    } else {
        *method == Method::GET
    };
    if !known {
        let e = ApiError::new(
            Code::ResourceNotFound,
            format!("No such operation: {method} {area_op}"),
        )
        .with_status(404);
        return Err(refusal(fmt, &operation, &e));
    }
    Ok(Route {
        area_op,
        id,
        post,
        operation,
        minor,
    })
}

/// Draws the fault injected into a 2.x request; the answer instead of serving it for a 503, a
/// busy or an unexpected error.
async fn api_fault(core: &Core, post: bool, fmt: Format, operation: &str) -> Result<Fault, Answer> {
    match draw_fault(core, post).await {
        Fault::Http503 => Err(Answer::plain(503, "Service Unavailable")),
        Fault::Busy => {
            let e = ApiError::busy("The resource is busy (injected fault); try again later.");
            Err(Answer::error(fmt, operation, &e))
        }
        Fault::Unexpected => {
            let e = ApiError::unexpected("An unexpected error occurred (injected fault).");
            Err(Answer::error(fmt, operation, &e))
        }
        fault @ (Fault::None | Fault::Reset) => Ok(fault),
    }
}

/// Serves a routed 2.x request: OK or IN_PROGRESS with the rendered body, else the error.
async fn serve(ctx: &Ctx<'_>, route: &Route<'_>) -> Answer {
    match dispatch(ctx, &route.area_op, route.id, route.post).await {
        Ok(body) => {
            let code = if ctx.in_progress.load(std::sync::atomic::Ordering::Relaxed) {
                "IN_PROGRESS"
            } else {
                "OK"
            };
            Answer::api(ctx.fmt, 200, code, body)
        }
        Err(e) => Answer::error(ctx.fmt, ctx.operation, &e),
    }
}

/// A 2.x request (`/caas/2.{minor}/{orgId}/...`): routed, a fault drawn, the body of a change
/// read and logged, then served.
async fn api(
    core: &Arc<Core>,
    incoming: &Incoming,
    body: Body,
    logged_body: &mut Option<serde_json::Value>,
) -> (String, Answer) {
    let fmt = incoming.fmt;
    let route = match route(core, incoming) {
        Ok(route) => route,
        Err(refused) => return refused,
    };
    let fault = match api_fault(core, route.post, fmt, &route.operation).await {
        Ok(fault) => fault,
        Err(answer) => return (route.operation, answer),
    };
    let content_type = incoming.content_type.as_str();
    let bytes = match change_body(route.post, body, content_type, logged_body).await {
        Ok(b) => b,
        Err(e) => return refusal(fmt, &route.operation, &e),
    };
    let q = responses::parse_query(&incoming.query);
    let ctx = Ctx {
        core,
        fmt,
        minor: route.minor,
        query: &q,
        content_type,
        body: &bytes,
        operation: &route.operation,
        in_progress: Default::default(),
    };
    let answer = serve(&ctx, &route).await;
    (route.operation, with_reset(fault, answer))
}

/// The body of a change as logged: parsed (XML or JSON), secrets redacted; never the raw bytes.
pub fn loggable_body(content_type: &str, body: &[u8]) -> Option<serde_json::Value> {
    if body.is_empty() {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let t = text.trim_start();
    let v = if content_type.contains("json") || t.starts_with('{') {
        serde_json::from_str::<serde_json::Value>(t).ok()
    } else {
        body::xml_to_value(t).ok().map(|(_, v)| v)
    };
    match v {
        Some(mut v) => {
            redact(&mut v);
            Some(v)
        }
        None => Some(serde_json::Value::String(format!(
            "<{} bytes, unparseable>",
            body.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_in_both_forms() {
        let xml = br#"<deployServer><name>a</name><administratorPassword>S3cr3t!!</administratorPassword></deployServer>"#;
        let v = loggable_body("application/xml", xml).unwrap();
        assert!(!v.to_string().contains("S3cr3t"));
        assert_eq!(v["administratorPassword"], "<redacted>");
        let v = loggable_body(
            "application/json",
            br#"{"x":{"clientSecret":"abc"},"name":"n"}"#,
        )
        .unwrap();
        assert!(!v.to_string().contains("abc"));
        let v = loggable_body("", b"<broken S3cr3t").unwrap();
        assert!(!v.to_string().contains("S3cr3t"));
    }
}
