//! IP address lists and port lists of a network domain (synchronous). The data in `data`, the
//! transitions in `rules`.

pub mod data;
pub mod rules;

pub use data::{AddressList, Entries, IpEntry, PortEntry};
pub use rules::*;
