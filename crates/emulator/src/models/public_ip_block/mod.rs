//! Public IPv4 blocks: two addresses each, from 127.77.0.0/16; add and remove are synchronous. The
//! data (and the host's busy addresses) in `data`, the transitions in `rules`.

pub mod data;
pub mod rules;

pub use data::{PublicIpBlock, listening_on_host};
pub use rules::{add_avoiding, remove};
