//! Public IPv4 blocks: two addresses each, always from 127.77.0.0/16 so that no address handed out
//! leads off this machine; add and remove are synchronous.
//!
//! Several emulators may run on one host (each with local nodes listening on its public addresses),
//! so each emulator searches the /16 from its own starting block, derived from a hash of its
//! organisation id (random per state dir, persisted): a restart keeps the existing blocks and goes
//! on from the same place, and two emulators' blocks do not meet unless one hands out thousands.
//! The caller may also pass addresses already listening on this host (`add_avoiding`).
//!
//! Here: the block's data, the starting slot and the addresses listening on this host; the add and
//! remove transitions are in `rules`.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::models::common::ResourceState;

/// Addresses per block.
pub const BLOCK_SIZE: u32 = 2;
/// Where public addresses come from.
pub const PUBLIC_BASE: Ipv4Addr = Ipv4Addr::new(127, 77, 0, 0);

/// A public IPv4 block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicIpBlock {
    /// Id.
    pub id: String,
    /// Network domain id.
    pub domain_id: String,
    /// Datacenter id.
    pub datacenter_id: String,
    /// First address.
    pub base_ip: Ipv4Addr,
    /// Number of addresses.
    pub size: u32,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
}

impl PublicIpBlock {
    /// The block's addresses.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        (0..self.size).map(|i| Ipv4Addr::from(u32::from(self.base_ip) + i))
    }
    /// Whether `ip` is in the block.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let (b, i) = (u32::from(self.base_ip), u32::from(ip));
        i >= b && i < b + self.size
    }
}

/// Number of block slots in 127.77.0.0/16 (slot 0, holding 127.77.0.0, is never used).
pub const SLOTS: u32 = 65536 / BLOCK_SIZE;

/// The first slot this emulator tries: a hash of its organisation id, in `1..SLOTS`.
pub fn start_slot(org_id: &str) -> u32 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(org_id.as_bytes());
    1 + u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % (SLOTS - 1)
}

/// Addresses of 127.77.0.0/16 on which some process of this host (network namespace) listens for
/// TCP, read from `/proc/net/tcp` at most every half second (the file lists every socket of the
/// host: reading it for each of 500 block additions took 8% of a 1,000-node deploy); empty when
/// that file cannot be read.
pub fn listening_on_host() -> HashSet<Ipv4Addr> {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static LAST: Mutex<Option<(Instant, HashSet<Ipv4Addr>)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, seen)) = last.as_ref()
        && at.elapsed() < Duration::from_millis(500)
    {
        return seen.clone();
    }
    let seen = read_listening();
    *last = Some((Instant::now(), seen.clone()));
    seen
}

fn read_listening() -> HashSet<Ipv4Addr> {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let local = f.nth(1)?;
            let state = f.nth(1)?;
            let hex = local.split(':').next()?;
            let v = u32::from_str_radix(hex, 16).ok()?;
            (state == "0A").then(|| Ipv4Addr::from(v.to_ne_bytes()))
        })
        .filter(|a| a.octets()[..2] == PUBLIC_BASE.octets()[..2])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_slot_is_stable_in_range_and_spread() {
        let a = start_slot("org-a");
        assert_eq!(a, start_slot("org-a"));
        assert!((1..SLOTS).contains(&a));
        let starts: HashSet<u32> = (0..50).map(|i| start_slot(&format!("org-{i}"))).collect();
        assert!(starts.len() > 45, "starts collide: {starts:?}");
    }

    #[test]
    fn host_listeners_in_the_public_range_are_seen() {
        let l = std::net::TcpListener::bind("127.77.201.9:0").unwrap();
        let seen = read_listening();
        assert!(seen.contains(&Ipv4Addr::new(127, 77, 201, 9)), "{seen:?}");
        drop(l);
    }
}
