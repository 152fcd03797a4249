//! Names of the host-visible objects a backend makes (network namespaces, cgroups), unique per state dir.
//!
//! Every name starts with a short prefix derived from a hash of the state dir, so that several backends
//! (parallel tests, several emulators) never collide, and a restarted backend finds what a crashed
//! earlier run with the same state dir left behind.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The name prefix of everything a backend with this state dir makes, like `pl3fa9c1`.
pub fn prefix_for(state_dir: &Path) -> String {
    let digest = Sha256::digest(state_dir.as_os_str().as_encoded_bytes());
    format!("pl{}", &hex::encode(digest)[..6])
}

/// Network namespace of the `n`th domain.
pub fn domain_netns(prefix: &str, n: u32) -> String {
    format!("{prefix}-d{n}")
}

/// Network namespace of the `n`th server.
pub fn server_netns(prefix: &str, n: u32) -> String {
    format!("{prefix}-n{n}")
}

/// The bridge of the `n`th VLAN (inside its domain namespace; at most 15 characters).
pub fn bridge(n: u32) -> String {
    format!("br{n}")
}

/// The MAC address of the `n`th VLAN's bridge: locally administered (`02:70:6c:…`, "pl"), set
/// explicitly so that the bridge keeps it. A bridge that picked its own address would take the
/// lowest of its ports' and change it when that port leaves (a node deleted), and every other node
/// on the VLAN would then send to its gateway's old address until its ARP entry went stale: about
/// 30 s without a reply through the NAT.
pub fn bridge_mac(n: u32) -> String {
    let [_, a, b, c] = n.to_be_bytes();
    format!("02:70:6c:{a:02x}:{b:02x}:{c:02x}")
}

/// The domain-side veth of the `n`th server (inside its domain namespace).
pub fn veth(n: u32) -> String {
    format!("v{n}")
}

/// A valid hostname for a server name: letters, digits, `-` and `.` kept, anything else becomes `-`,
/// at most 63 characters, never empty.
pub fn hostname_for(server_name: &str) -> String {
    let h: String = server_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let h = h.trim_matches(['-', '.']);
    if h.is_empty() {
        "node".to_string()
    } else {
        h.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_macs_are_local_unicast_and_distinct() {
        assert_eq!(bridge_mac(0), "02:70:6c:00:00:00");
        assert_eq!(bridge_mac(0x01_02_03), "02:70:6c:01:02:03");
        assert_ne!(bridge_mac(7), bridge_mac(8));
    }

    #[test]
    fn hostnames_are_sanitised() {
        assert_eq!(hostname_for("redis-01"), "redis-01");
        assert_eq!(hostname_for("Web Server 1"), "Web-Server-1");
        assert_eq!(hostname_for("  "), "node");
        assert_eq!(hostname_for(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn prefix_is_stable_short_and_distinct() {
        let a = prefix_for(Path::new("/tmp/a"));
        assert_eq!(a, prefix_for(Path::new("/tmp/a")));
        assert_ne!(a, prefix_for(Path::new("/tmp/b")));
        assert_eq!(a.len(), 8);
        assert!(domain_netns(&a, 1).starts_with(&a));
    }

    #[test]
    fn interface_names_fit_ifnamsiz() {
        assert!(bridge(u32::MAX).len() <= 15);
        assert!(veth(u32::MAX).len() <= 15);
    }
}
