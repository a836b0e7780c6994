//! Health-checked anycast: probes run inside the service namespace, the
//! rise/fall state of each check and the service's announce decision, and
//! the run time that announces and withdraws through the announce routes a
//! routing sidecar imports.

pub mod announcer;
pub mod check;
pub mod forced;
pub mod health;
pub mod render;
pub mod routes;
pub mod runtime;
pub mod service;
pub mod status;
pub mod verdict;

pub use check::{InNamespace, Probe, probe};
pub use health::{Change, Direction, Health, LastProbe, Schedule, State};
pub use runtime::AnycastRuntime;
pub use service::Board;
pub use verdict::{Forced, ProcessState, ServiceHealth, Verdict};
