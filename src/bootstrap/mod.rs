//! Bootstrap: turn running nodes into configured, hardened ones over SSH.
//!
//! The engine hands over plain inputs per node ([`NodeTarget`]) and the run's [`BootstrapOptions`];
//! [`prepare_nodes`] bootstraps all nodes in parallel and returns one [`NodeOutcome`] per node.
//! Pieces usable on their own: [`CloudConfig::parse`] and [`render_script`] (cloud-config to one
//! idempotent bash script), [`ssh`] (sessions with pinned host keys), [`redis`] (replication
//! checks).

pub mod cloud_config;
pub mod prepare;
pub mod render;
pub mod shell;

pub use cloud_config::{CloudConfig, CloudConfigError};
pub use prepare::{PrepareError, PrepareStep};
pub use render::{Hardening, RenderError, RenderOptions, Script, render_harden, render_script};
