//! The plumbery token dialect (`{{ node.private }}`, `{{ master.secret }}`, `{{ rsa_public.key }}`,
//! `{{ EU6::queen.ipv6 }}` ...): what a token means ([`classify`]) and its expansion ([`expand_str`],
//! [`expand_value`]) against a [`TokenContext`] that knows the facts of the moment.
//!
//! `{{ parameter.X }}` is handled earlier, on the raw text (see `params`). Everything else is resolved
//! here, inside string scalars of the YAML tree, so values are never re-parsed as YAML.

mod context;
mod dialect;

pub use context::{BalancerFacts, FactsContext, NodeFacts, SecretSource, local_public_key};
pub(crate) use dialect::UNKNOWN_HINT;
pub use dialect::{
    CredentialFact, Digest, LocationFact, NodeFact, NodeSel, SharedFact, TokenContext, TokenError,
    TokenKind, classify, expand_str, expand_value, render_user_data, tokens_in,
};
