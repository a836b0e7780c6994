//! Health-checked anycast: probes run inside the service namespace, the
//! rise/fall state of each check, and the service's announce decision.

pub mod check;
pub mod health;
pub mod verdict;

pub use check::{InNamespace, Probe, probe};
pub use health::{Change, Direction, Health, LastProbe, Schedule, State};
pub use verdict::{Forced, ProcessState, ServiceHealth, Verdict};
