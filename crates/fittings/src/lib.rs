//! The plan language: parameter pre-pass, multi-document YAML, defaults and node classes, name ranges,
//! the plumbery token dialect and validation with file:line:column.

pub mod error;
pub mod fields;
pub mod load;
pub mod model;
pub mod names;
pub mod params;
pub mod scan;
mod select;
pub mod source;
pub mod tokens;
pub mod yaml;

pub use error::{LoadError, Warning};
pub use load::{load, load_text};
pub use model::*;
pub use params::{Parameters, add_cli_parameter};
pub use source::{PlanSource, PlanText};
