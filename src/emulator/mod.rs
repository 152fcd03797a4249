//! The CloudControl emulator: a real HTTP server speaking the CloudControl 2.x wire format, with an
//! asynchronous clock, the API's rules, fault injection and, optionally, real local nodes.

pub mod backend;
pub mod cli;
pub mod nodes;
