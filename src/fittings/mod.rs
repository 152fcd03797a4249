//! The plan language: parameter pre-pass, multi-document YAML, defaults and node classes, name ranges,
//! the plumbery token dialect and validation with file:line:column.

pub mod model;

pub use model::*;
