//! The plan language: parameter pre-pass, multi-document YAML, defaults and node classes, name ranges,
//! the plumbery token dialect and validation with file:line:column. Pure: no network, no async, no
//! file writes; a plan given as a URL is fetched by the caller ([`PlanSource::read_with`]), and what
//! tokens need from outside (secrets, URL answers, credentials) comes through
//! [`tokens::SecretSource`].
//!
//! Provides:
//! - [`load`] / [`load_text`]: text to a [`Plan`] (its [`Location`]s, [`Blueprint`]s, [`Node`]s, …)
//!   plus [`Warning`]s, or a [`LoadError`] placed at file:line:column; [`Parameters`] fill
//!   `{{ parameter.X }}` ([`add_cli_parameter`] reads `-p name=value`).
//! - [`PlanSource`] / [`PlanText`]: where a plan comes from and the key that names its state.
//! - [`tokens`]: the token dialect, its expansion and [`tokens::FactsContext`].
//! - the naming rules the cloud side shares: [`firewall_rule_name`], [`accept_rule_name`],
//!   [`with_plumbery_tag`], … and field helpers such as [`complete_address`].

mod error;
mod fields;
mod load;
mod model;
mod names;
mod params;
mod scan;
mod select;
mod source;
pub mod tokens;
mod yaml;

pub use error::{LoadError, Warning};
pub use fields::{
    MAX_NAME_CHARS, MAX_RULE_NAME_CHARS, complete_address, expand_range, parse_firewall_port,
};
pub use load::{MAX_PLAN_NODES, load, load_text};
pub use model::*;
pub use names::{
    accept_rule_name, listener_name, listener_rule_name, network_title, node_rule_names, pool_name,
    rule_belongs_to_node,
};
pub use params::{Parameters, add_cli_parameter};
pub use source::{MAX_PLAN_BYTES, PlanSource, PlanText};
