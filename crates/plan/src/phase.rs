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

impl Phase {
    /// The phase's name in lines and reports (`deploy`, `build`, `stop and wipe`...).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Build { start: true } => "deploy",
            Phase::Build { start: false } => "build",
            Phase::Start => "start",
            Phase::Stop => "stop",
            Phase::Destroy {
                network: true,
                stop: true,
            } => "dispose",
            Phase::Destroy {
                network: true,
                stop: false,
            } => "destroy",
            Phase::Destroy {
                network: false,
                stop: true,
            } => "stop and wipe",
            Phase::Destroy {
                network: false,
                stop: false,
            } => "wipe",
        }
    }
}
