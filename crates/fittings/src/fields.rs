//! Parsers for the small text values of a plan: cpu, disks, glue lines, firewall ports, subnets, name
//! ranges. Each returns a message that says what is wrong and what a good value looks like.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::model::{
    Cpu, CpuSpeed, Disk, DiskSpeed, FirewallPort, GatewayAddressing, Glue, GlueAddress, NetworkRef,
    Protocol,
};

/// `"N [cores] [standard|highperformance]"` with N in 1..=32 and cores 1 or 2 (`cores 2` also accepted).
pub fn parse_cpu(text: &str) -> Result<Cpu, String> {
    let bad = || {
        format!(
            "cpu '{text}' is not valid: write 'N [1|2] [standard|highperformance]', N from 1 to 32"
        )
    };
    let mut words = text.split_whitespace().peekable();
    let count: u32 = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
    if !(1..=32).contains(&count) {
        return Err(format!("cpu count {count} is out of range: use 1 to 32"));
    }
    let mut cpu = Cpu {
        count,
        cores_per_socket: 1,
        speed: CpuSpeed::Standard,
    };
    if words.peek() == Some(&"cores") {
        words.next();
    }
    for word in words {
        match word.to_ascii_lowercase().as_str() {
            "1" => cpu.cores_per_socket = 1,
            "2" => cpu.cores_per_socket = 2,
            "standard" => cpu.speed = CpuSpeed::Standard,
            "highperformance" => cpu.speed = CpuSpeed::HighPerformance,
            _ => return Err(bad()),
        }
    }
    Ok(cpu)
}

/// `"<scsiId 0-9> <sizeGB 10..1000> [standard|highperformance|economy]"`.
pub fn parse_disk(text: &str) -> Result<Disk, String> {
    let bad = || {
        format!(
            "disk '{text}' is not valid: write 'ID SIZE [standard|highperformance|economy]', ID 0 to 9, SIZE 10 to 1000 GB"
        )
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < 2 || words.len() > 3 {
        return Err(bad());
    }
    let scsi_id: u8 = words[0].parse().map_err(|_| bad())?;
    let size_gb: u32 = words[1].parse().map_err(|_| bad())?;
    if scsi_id > 9 || !(10..=1000).contains(&size_gb) {
        return Err(bad());
    }
    let speed = match words.get(2).map(|w| w.to_ascii_lowercase()) {
        None => DiskSpeed::Standard,
        Some(w) if w == "standard" => DiskSpeed::Standard,
        Some(w) if w == "highperformance" => DiskSpeed::HighPerformance,
        Some(w) if w == "economy" => DiskSpeed::Economy,
        Some(_) => return Err(bad()),
    };
    Ok(Disk {
        scsi_id,
        size_gb,
        speed,
    })
}

/// One port token of `internet ...`: `22`, `:22`, `tcp:80`, `udp:137..138`, `icmp`, `any`, `ip`.
pub fn parse_firewall_port(token: &str) -> Result<FirewallPort, String> {
    let bad = || {
        format!("port '{token}' is not valid: write 22, 80..81, tcp:80, udp:137..138, icmp or any")
    };
    let lower = token.to_ascii_lowercase();
    let (proto, range) = match lower.split_once(':') {
        Some(("", r)) => (Protocol::Tcp, r.to_string()),
        Some((p, r)) => (protocol(p).ok_or_else(bad)?, r.to_string()),
        None => match protocol(&lower) {
            Some(p) => (p, "any".to_string()),
            None if lower == "any" => (Protocol::Tcp, "any".to_string()),
            None => (Protocol::Tcp, lower.clone()),
        },
    };
    if range == "any" {
        return Ok(FirewallPort {
            protocol: proto,
            begin: None,
            end: None,
        });
    }
    let port = |s: &str| s.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad);
    match range.split_once("..") {
        Some((b, e)) => {
            let (begin, end) = (port(b)?, port(e)?);
            if begin >= end {
                return Err(format!(
                    "port range '{token}' is empty: the first port must be lower than the last"
                ));
            }
            Ok(FirewallPort {
                protocol: proto,
                begin: Some(begin),
                end: Some(end),
            })
        }
        None => Ok(FirewallPort {
            protocol: proto,
            begin: Some(port(&range)?),
            end: None,
        }),
    }
}

fn protocol(name: &str) -> Option<Protocol> {
    Some(match name {
        "ip" => Protocol::Ip,
        "icmp" => Protocol::Icmp,
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => return None,
    })
}

/// A `glue:` line, given the blueprint's VLAN name and subnet (to complete `.11` suffixes).
pub fn parse_glue(line: &str, own_network: &str, subnet: &Ipv4Net) -> Result<Glue, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else {
        return Err(
            "an empty glue line: write 'internet 22', 'primary .11' or 'NETWORK [ADDRESS]'".into(),
        );
    };
    if first.eq_ignore_ascii_case("internet") {
        let ports = words[1..]
            .iter()
            .map(|w| parse_firewall_port(w))
            .collect::<Result<Vec<_>, _>>()?;
        let ports = if ports.is_empty() {
            vec![FirewallPort {
                protocol: Protocol::Tcp,
                begin: None,
                end: None,
            }]
        } else {
            ports
        };
        return Ok(Glue::Internet { ports });
    }
    if words.len() > 2 {
        return Err(format!(
            "glue '{line}' has too many words: write 'NETWORK [ADDRESS]' or 'internet PORT...'"
        ));
    }
    let network = NetworkRef::parse(first)
        .ok_or_else(|| format!("glue '{line}': '{first}' is not a network name"))?;
    let address = match words.get(1) {
        None => None,
        Some(a) => Some(parse_glue_address(a).ok_or_else(|| {
            format!("glue '{line}': '{a}' is not an IPv4 address or a '.suffix' such as .11")
        })?),
    };
    let own = network.location.is_none()
        && (first.eq_ignore_ascii_case("primary") || *first == own_network);
    if own {
        let Some(address) = address else {
            return Err(format!(
                "glue '{line}' needs an address for the primary network, for example 'primary .11'"
            ));
        };
        let full = complete_address(&address, subnet).ok_or_else(|| {
            format!("glue '{line}': the address is not inside the subnet {subnet}")
        })?;
        return Ok(Glue::Primary { address: full });
    }
    Ok(Glue::Extra { network, address })
}

fn parse_glue_address(text: &str) -> Option<GlueAddress> {
    if let Some(rest) = text.strip_prefix('.') {
        let ok = !rest.is_empty()
            && rest.split('.').all(|p| p.parse::<u8>().is_ok())
            && rest.split('.').count() <= 3;
        return ok.then(|| GlueAddress::Suffix(text.to_string()));
    }
    text.parse::<Ipv4Addr>().ok().map(GlueAddress::Full)
}

/// Completes a `.11` suffix with the first octets of `subnet`; a full address must lie inside it.
pub fn complete_address(address: &GlueAddress, subnet: &Ipv4Net) -> Option<Ipv4Addr> {
    let full = match address {
        GlueAddress::Full(a) => *a,
        GlueAddress::Suffix(s) => {
            let tail: Vec<u8> = s[1..].split('.').filter_map(|p| p.parse().ok()).collect();
            let mut octets = subnet.network().octets();
            let start = 4 - tail.len();
            octets[start..].copy_from_slice(&tail);
            Ipv4Addr::from(octets)
        }
    };
    subnet.contains(&full).then_some(full)
}

/// `a.b.c.d`, `a.b.c.d/NN` or `a.b.c.d/NN low|high` (default /24, low).
pub fn parse_subnet(text: &str) -> Result<(Ipv4Net, GatewayAddressing), String> {
    let bad = || {
        format!("subnet '{text}' is not valid: write a.b.c.d, a.b.c.d/NN or a.b.c.d/NN low|high")
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let addressing = match words.get(1).map(|w| w.to_ascii_lowercase()) {
        None => GatewayAddressing::Low,
        Some(w) if w == "low" => GatewayAddressing::Low,
        Some(w) if w == "high" => GatewayAddressing::High,
        Some(_) => return Err(bad()),
    };
    if words.is_empty() || words.len() > 2 {
        return Err(bad());
    }
    let (addr, prefix) = match words[0].split_once('/') {
        Some((a, p)) => (a, p.parse::<u8>().map_err(|_| bad())?),
        None => (words[0], 24),
    };
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let (low, high) = match addressing {
        GatewayAddressing::Low => (16, 28),
        GatewayAddressing::High => (16, 24),
    };
    if !(low..=high).contains(&prefix) {
        return Err(format!(
            "subnet '{text}': the prefix size must be from /{low} to /{high}"
        ));
    }
    let net = Ipv4Net::new(addr, prefix).map_err(|_| bad())?;
    if net.network() != addr {
        return Err(format!(
            "subnet '{text}' is not a network base address: did you mean {}?",
            net.trunc()
        ));
    }
    Ok((net, addressing))
}

/// Expands a node label: `redis0[2..4]` gives redis02, redis03, redis04 (no zero padding, one range,
/// a suffix allowed). A label without a range gives itself.
pub fn expand_range(label: &str) -> Result<Vec<String>, String> {
    let (Some(open), Some(close)) = (label.find('['), label.rfind(']')) else {
        return Ok(vec![label.to_string()]);
    };
    let (prefix, inner, suffix) = (&label[..open], &label[open + 1..close], &label[close + 1..]);
    let bad = || {
        format!(
            "node range '{label}' is not valid: write name[FIRST..LAST], for example redis0[2..4]"
        )
    };
    let (a, b) = inner.split_once("..").ok_or_else(bad)?;
    let (a, b): (u32, u32) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a > b {
        return Err(format!(
            "node range '{label}' is empty: the first number must not be above the last"
        ));
    }
    if b - a >= 10_000 {
        return Err(format!(
            "node range '{label}' is too large: at most 10000 nodes"
        ));
    }
    Ok((a..=b).map(|i| format!("{prefix}{i}{suffix}")).collect())
}

/// Longest name the API takes for a network domain, a VLAN or a server.
pub const MAX_NAME_CHARS: usize = 75;

/// Longest firewall rule name the API takes.
pub const MAX_RULE_NAME_CHARS: usize = 60;

/// Checks a name the API will be given (`what` says which, such as "domain name"): 1 to 75 printable
/// characters, as CloudControl requires. The message names the limit and the length found.
pub fn check_api_name(what: &str, name: &str) -> Result<(), String> {
    let count = name.chars().count();
    if name.trim().is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if count > MAX_NAME_CHARS {
        return Err(format!(
            "the {what} '{}...' has {count} characters; the API takes at most {MAX_NAME_CHARS}",
            name.chars().take(20).collect::<String>()
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the {what} '{}' holds the control character {:?}; the API refuses it",
            name.escape_debug(),
            c
        ));
    }
    Ok(())
}

/// Whether a node name is a valid host name (`^[0-9a-zA-Z]([0-9a-zA-Z-]{0,61}[0-9a-zA-Z])?$`).
pub fn is_valid_node_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_forms() {
        assert_eq!(parse_cpu("2").unwrap().count, 2);
        let c = parse_cpu("4 2 highperformance").unwrap();
        assert_eq!(
            (c.count, c.cores_per_socket, c.speed),
            (4, 2, CpuSpeed::HighPerformance)
        );
        assert_eq!(parse_cpu("4 cores 2").unwrap().cores_per_socket, 2);
        assert!(parse_cpu("33").is_err());
        assert!(parse_cpu("two").is_err());
    }

    #[test]
    fn disks() {
        assert_eq!(parse_disk("1 50 standard").unwrap().size_gb, 50);
        assert_eq!(parse_disk("2 100").unwrap().speed, DiskSpeed::Standard);
        assert!(parse_disk("1 5 standard").is_err());
        assert!(parse_disk("10 50").is_err());
    }

    #[test]
    fn ports() {
        let p = parse_firewall_port("udp:137..138").unwrap();
        assert_eq!(
            (p.protocol, p.begin, p.end),
            (Protocol::Udp, Some(137), Some(138))
        );
        assert_eq!(parse_firewall_port(":22").unwrap().begin, Some(22));
        assert_eq!(
            parse_firewall_port("icmp").unwrap().protocol,
            Protocol::Icmp
        );
        assert!(parse_firewall_port("99999").is_err());
        assert!(parse_firewall_port("smtp").is_err());
    }

    #[test]
    fn glue_lines() {
        let net: Ipv4Net = "10.0.0.0/24".parse().unwrap();
        assert_eq!(
            parse_glue("internet 22", "n", &net).unwrap().to_string(),
            "internet 22"
        );
        assert_eq!(
            parse_glue("internet", "n", &net).unwrap().to_string(),
            "internet tcp:any"
        );
        assert_eq!(
            parse_glue("primary .11", "n", &net).unwrap(),
            Glue::Primary {
                address: "10.0.0.11".parse().unwrap()
            }
        );
        assert_eq!(
            parse_glue("n .12", "n", &net).unwrap(),
            Glue::Primary {
                address: "10.0.0.12".parse().unwrap()
            }
        );
        assert!(matches!(
            parse_glue("gigafox.control", "n", &net).unwrap(),
            Glue::Extra { address: None, .. }
        ));
        assert!(parse_glue("primary", "n", &net).is_err());
        assert!(parse_glue("primary 10.9.0.1", "n", &net).is_err());
    }

    #[test]
    fn subnets() {
        let (n, a) = parse_subnet("10.0.0.0").unwrap();
        assert_eq!(
            (n.to_string(), a),
            ("10.0.0.0/24".to_string(), GatewayAddressing::Low)
        );
        assert_eq!(
            parse_subnet("10.1.0.0/16 high").unwrap().1,
            GatewayAddressing::High
        );
        assert!(parse_subnet("10.1.0.0/26 high").is_err());
        assert!(parse_subnet("10.0.0.5/24").is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(
            expand_range("redis0[2..4]").unwrap(),
            ["redis02", "redis03", "redis04"]
        );
        assert_eq!(
            expand_range("node[01..03]").unwrap(),
            ["node1", "node2", "node3"]
        );
        assert_eq!(
            expand_range("web[8..10]_eu").unwrap(),
            ["web8", "web9", "web10"].map(|s| format!("{s}_eu"))
        );
        assert!(expand_range("x[3..1]").is_err());
        assert!(
            is_valid_node_name("redis-01")
                && !is_valid_node_name("-x")
                && !is_valid_node_name("a_b")
        );
    }

    #[test]
    fn api_names() {
        assert!(check_api_name("domain name", "RedisFox").is_ok());
        assert!(check_api_name("domain name", &"x".repeat(75)).is_ok());
        let err = check_api_name("domain name", &"x".repeat(76)).unwrap_err();
        assert!(err.contains("76 characters"), "{err}");
        assert!(check_api_name("node name", "a\tb").is_err());
        assert!(check_api_name("node name", " ").is_err());
    }
}
