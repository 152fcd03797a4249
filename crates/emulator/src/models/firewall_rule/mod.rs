//! Firewall rules: the CCDEFAULT.* rules every domain starts with, client rules created, edited
//! (enabled) and deleted, kept in evaluation order per domain. The data in `data`, the transitions
//! in `rules`.

pub mod data;
pub mod rules;

pub use data::{CreateRule, FirewallRule, Placement, Scope};
pub use rules::{create, delete, edit, ordered, specs};
