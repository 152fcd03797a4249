//! Cloud backup of servers (MCP 1.0 API, synchronous): stored with the server. The data in
//! `data`, the transitions in `rules`.

pub mod data;
pub mod rules;

pub use data::Backup;
pub use rules::*;
