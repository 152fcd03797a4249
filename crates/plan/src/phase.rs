//! The phases a diff is computed for: build, start, stop, destroy.

/// What a phase does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Domains, VLANs, IP blocks, servers (started or not), monitoring, NAT, firewall rules.
    Build {
        /// Deploy servers started and start stopped ones.
        start: bool,
    },
    /// Start stopped servers.
    Start,
    /// Stop running servers (not `running: always`).
    Stop,
    /// Remove nodes (their rules too); with `network`, then IP blocks, VLANs and domains left empty;
    /// with `stop`, running servers are stopped first.
    Destroy {
        /// Also the network elements.
        network: bool,
        /// Stop running servers first (dispose).
        stop: bool,
    },
}
