//! VLANs: deploy (asynchronous), edit, delete (asynchronous), private address allocation and
//! reserved private addresses. The data in `data`, the transitions in `rules`.

pub mod data;
pub mod rules;

pub use data::{DeployVlan, Gateway, Vlan};
pub use rules::{delete, deploy, edit, expand, reserve, unreserve};
