//! The kernel side of links, addresses and routes: pure request builders
//! (unit-tested), a pipelined sender, and dumps.

mod dump;
mod exec;
mod request;

pub use dump::{DumpError, DumpSocket};
pub use exec::{NlError, execute};
pub use request::{BridgePortFlags, LinkChange, Request, VethSpec};
