//! Processes that `netd run` supervises inside namespaces.
//!
//! The decisions are kept pure (`machine`, `backoff`): what to do with a
//! process when it starts, exits, is asked to stop, or when a timer fires.
//! The clock is passed in and the results are [`Action`]s for the caller to
//! carry out (spawn, signal, kill, wake me at), so every restart and
//! backoff rule is tested without a process or a sleep. `runner` carries
//! them out through `os` (spawn, signals, waitpid); `spawn` starts a child
//! in a namespace with `etc_netns`'s mounts and `caps`'s capabilities;
//! `output` logs what it prints.
//!
//! How `netd run` drives a [`Supervisor`], all from one task and never while
//! kernel work runs (`reap` takes any child's exit, a helper's too): call
//! [`become_subreaper`] once at start; `set_processes` after the first
//! converge and after each reload; `reap` on SIGCHLD; `tick` when
//! `next_wake` is due (sleep until it, or forever when it is None);
//! `stop_all` on SIGTERM/SIGINT; `status` for `daemon.processes` of
//! `netd status --json`.

mod adopt;
mod backoff;
mod caps;
mod etc_netns;
mod ids;
mod machine;
mod os;
mod output;
mod pidfd;
mod runner;
#[cfg(test)]
mod runner_tests;
mod spawn;
#[cfg(test)]
mod tests;

pub use adopt::{load_running, records as process_records, save as save_process_records};
pub use backoff::{Backoff, RestartPolicy};
pub use caps::Capability;
pub use etc_netns::MountPlan;
pub use machine::{Action, Exit, Phase, Process, ProcessSpec};
pub use pidfd::exit_watch;
pub use runner::{Key, ProcessStatus, Supervisor, become_subreaper, launch};
pub use spawn::{SpawnError, open_pin};
