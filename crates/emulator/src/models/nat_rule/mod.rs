//! NAT rules: a public address of the domain's blocks leading to a private address in one of its
//! VLANs; create and delete are synchronous. The data in `data`, the transitions in `rules`.

pub mod data;
pub mod rules;

pub use data::NatRule;
pub use rules::{create, delete, public_of};
