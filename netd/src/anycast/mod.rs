//! Health-checked anycast: checks run from inside the service namespace,
//! their rise/fall and the service's verdict, and the announcer that adds
//! and deletes the announce routes a routing sidecar imports.

pub mod announcer;
pub mod check;
pub mod forced;
pub mod health;
pub mod routes;
pub mod runtime;
pub mod service;
pub mod status;
pub mod verdict;

pub use runtime::AnycastRuntime;
pub use verdict::Forced;
