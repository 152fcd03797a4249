//! Network domains: deploy (asynchronous), edit, delete (asynchronous, refused while anything
//! depends on the domain); every new domain gets the CCDEFAULT.* firewall rules. The data in `data`,
//! the transitions in `rules`.

pub mod data;
pub mod rules;

pub use data::{DeployDomain, NetworkDomain};
pub use rules::{delete, deploy, edit};
