//! The emulator's resources and their transitions, with no wire format: one folder per resource.
//!
//! All state lives in one `State`; every change goes through a `Tx`, which records the new versions
//! for the journal (see `store`), can undo itself, and collects the operations it started as plain
//! data (`Job`). The models know no scheduler and no latency: a model starts an operation by name
//! (`Tx::pending`; the transaction asks its `ops::Durations` how long it lasts) and `complete`
//! applies its outcome; the job runner (`jobs`) does the waiting.
//!
//! The modules depend one way only: `common` (states, kinds, jobs, checks) is a leaf; each
//! resource's `data` (its struct and pure methods) imports only `common`; `state` (`State`, `Tx`,
//! the journal records) imports the data; each resource's `rules` (the transitions taking a `Tx`, and
//! the queries over the whole state) import `state` and the data; `completion` dispatches a finished
//! job to the rules. A resource folder's `mod.rs` re-exports its data and rules as one module, and
//! this file only declares modules and re-exports: nothing inside `models` imports either.

pub mod address_list;
pub mod backup;
pub mod catalogue;
pub mod common;
pub mod completion;
pub mod firewall_rule;
pub mod nat_rule;
pub mod network_domain;
pub mod public_ip_block;
pub mod server;
pub mod state;
pub mod tag;
pub mod vip;
pub mod vlan;

pub use common::{Job, Kind, ResourceState, iso_time};
pub use completion::complete;
pub use state::{Record, State, Tx};
