//! The CloudControl emulator: a real HTTP server speaking the CloudControl 2.x wire format, with the
//! API's rules, asynchronous operations that last as long as a latency profile says, fault
//! injection, a journal that survives `kill -9`, and, optionally, real local nodes behind a backend
//! trait (the `nodes` crate implements it).
//!
//! Main types: [`EmulatorConfig`] (how to run one), [`Emulator::start`] → [`RunningEmulator`] (own
//! thread and runtime) or [`run`] (on the caller's runtime), [`Stats`] (the typed
//! `GET /emulator/v1/stats` document), [`FaultSpec`], [`Profile`], and the [`backend::NodeBackend`]
//! trait; [`http::Client`] is a small blocking client for probes and tests.
//!
//! Inside, moto-style, each module has one job and imports point one way:
//! - `models/`: state and transitions, one file per resource (no wire format, no scheduler: a
//!   model starts an operation by name through `Tx::pending` and completes it in `complete`);
//! - `responses/`: the wire format, one file per resource; `routes`: the routes and the request
//!   pipeline; `errors`: the API's error codes;
//! - `ops` (leaf): operations as plain data; `latency`: the profile that says how long they last;
//!   `jobs`: the job runner that waits for them and makes the backend calls;
//! - `core`: the shared state, transactions and the journal (`store`); `control`: the
//!   `/emulator/v1/` endpoints; `stats` and `request_log` apart; `faults`; `tls`;
//! - `config`, `server` (`run`), `running` (`RunningEmulator`).
//!
//! Library use (tests, other engineers):
//! ```no_run
//! use emulator::{Emulator, EmulatorConfig};
//! let dir = tempfile::tempdir().unwrap();
//! let mut cfg = EmulatorConfig::new(dir.path());   // listens on 127.0.0.1:0, user/password plumbery
//! cfg.time_scale = 0.001;                          // a 240 s deploy takes 0.24 s
//! let emu = Emulator::start(cfg).unwrap();
//! let base = emu.api_base(4);                      // http://127.0.0.1:PORT/caas/2.4/ORGID
//! let stats = emu.stats();                         // the GET /emulator/v1/stats document, typed
//! assert_eq!(stats.resources.server, 0);
//! emu.shutdown();
//! # let _ = base;
//! ```

pub mod backend;
pub mod http;

mod config;
mod control;
mod core;
mod errors;
mod faults;
mod fragments;
mod jobs;
mod latency;
mod models;
mod ops;
mod request_log;
mod responses;
mod routes;
mod running;
mod server;
mod stats;
mod store;
mod tls;

pub use config::{EmulatorConfig, MakeBackend, Nodes};
pub use faults::{FaultSpec, FaultSpecError};
pub use latency::{Profile, ProfileError};
pub use running::{Emulator, RunningEmulator};
pub use server::{EmulatorError, Ready, Stop, run};
pub use stats::{RequestCounts, ResourceCounts, ServerStats, ServiceCounts, Stats};
pub use store::StoreError;
