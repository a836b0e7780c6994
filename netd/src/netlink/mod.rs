//! The kernel side of links, addresses and routes: pure request builders
//! (unit-tested), a pipelined sender, and dumps.

mod dump;
mod error;
mod exec;
mod request;

pub use dump::{DumpError, DumpSocket};
pub use error::{KernelError, NEEDS_ROOT, Op, Recovery};
pub use exec::{NlError, execute};
pub use request::{BridgePortFlags, LinkChange, Request, VethSpec};
