//! The supervisor's decisions, kept pure: what to do with a process when it
//! starts, exits, is asked to stop, or when a timer fires. The clock is
//! passed in and the results are [`Action`]s for the caller to carry out
//! (spawn, signal, kill, wake me at), so every restart and backoff rule is
//! tested without a process or a sleep.

mod backoff;
mod caps;
mod machine;
#[cfg(test)]
mod tests;

pub use backoff::{Backoff, RestartPolicy};
pub use caps::Capability;
pub use machine::{Action, Exit, Phase, Process, ProcessSpec};
