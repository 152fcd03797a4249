//! plumbery: a declarative cloud CLI for the Managed Cloud Platform (CloudControl API).
//!
//! Data flows one way: `fittings` (plan language) -> `engine` (observe, diff, execute through `cloud`)
//! -> `bootstrap` (SSH). The `emulator` module is an independent CloudControl server used for local runs
//! and tests. See `ARCHITECTURE.md` in the shared folder for the map.

pub mod bootstrap;
pub mod cli;
pub mod cloud;
pub mod emulator;
pub mod engine;
pub mod fittings;
pub mod secrets;
