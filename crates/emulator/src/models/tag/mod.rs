//! Tags: tag keys and the tags applied to assets (synchronous). The data in `data`, the
//! transitions in `rules`.

pub mod data;
pub mod rules;

pub use data::{Tag, TagKey};
pub use rules::*;
