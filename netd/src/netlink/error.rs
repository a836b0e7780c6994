//! Errors across the kernel boundary, typed: what was asked, of which
//! object, and the errno the kernel answered, so that a caller can choose
//! between retrying, re-reading the kernel (resync) and giving up, rather
//! than matching on message text.

use std::fmt;

use super::NlError;

/// What a user without the needed capabilities is told, instead of a bare
/// "Operation not permitted".
pub const NEEDS_ROOT: &str = "netd needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)";

const EPERM: i32 = 1;
const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const EINTR: i32 = 4;
const EAGAIN: i32 = 11;
const EACCES: i32 = 13;
const EBUSY: i32 = 16;
const EEXIST: i32 = 17;
const ENODEV: i32 = 19;
const EADDRNOTAVAIL: i32 = 99;
const ENOBUFS: i32 = 105;

/// The kind of request that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A new link with an ifindex netd picked (so that later requests can
    /// name it before the answer): another program may have taken it.
    CreateLinkAt,
    /// A new link with the index the kernel chooses.
    CreateLink,
    ChangeLink,
    DeleteLink,
    AddAddress,
    DeleteAddress,
    AddRoute,
    DeleteRoute,
    /// Reading links, addresses or routes.
    Read,
}

/// What a caller should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// The same change, differently or later, can succeed: an ifindex taken
    /// by someone else (let the kernel choose), a busy or interrupted call.
    Retry,
    /// The kernel changed under netd (an object vanished): read it again
    /// and plan from what is there.
    Resync,
    /// Retrying cannot help: missing privileges, a name owned by someone
    /// else, a request the kernel refuses.
    GiveUp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    pub op: Op,
    /// The object as a user names it: `link veth0 in namespace web`.
    pub object: String,
    /// None when no errno came back (the connection closed, or the
    /// namespace's socket could not be opened: then `detail` says why).
    pub errno: Option<i32>,
    pub detail: String,
}

impl KernelError {
    pub fn new(op: Op, object: impl Into<String>, errno: Option<i32>) -> Self {
        KernelError {
            op,
            object: object.into(),
            errno,
            detail: String::new(),
        }
    }

    pub fn from_nl(op: Op, object: impl Into<String>, e: &NlError) -> Self {
        match e {
            NlError::Kernel { errno, .. } if *errno != 0 => Self::new(op, object, Some(*errno)),
            // errno 0 carries a failure that never reached the kernel.
            NlError::Kernel { message, .. } => KernelError {
                detail: message.clone(),
                ..Self::new(op, object, None)
            },
            NlError::Closed => Self::new(op, object, None),
        }
    }

    pub fn recovery(&self) -> Recovery {
        match (self.op, self.errno) {
            (_, Some(EPERM | EACCES)) => Recovery::GiveUp,
            // The kernel answers EEXIST for a taken ifindex of this
            // namespace and EBUSY for one of the peer's namespace.
            (Op::CreateLinkAt, Some(EEXIST | EBUSY)) => Recovery::Retry,
            (_, Some(EAGAIN | EINTR | EBUSY | ENOBUFS)) => Recovery::Retry,
            (_, Some(ENOENT | ENODEV | ESRCH | EADDRNOTAVAIL)) => Recovery::Resync,
            (_, None) => Recovery::Resync,
            _ => Recovery::GiveUp,
        }
    }

    /// Why it failed, in words, without the operation: what a report puts
    /// after the change it failed.
    pub fn cause(&self) -> String {
        match self.errno {
            None if !self.detail.is_empty() => self.detail.clone(),
            None => "netlink connection closed".to_string(),
            Some(EPERM | EACCES) => {
                format!("{NEEDS_ROOT}; the kernel refused: {}", describe(self.errno))
            }
            Some(EEXIST) if matches!(self.op, Op::CreateLink | Op::CreateLinkAt) => format!(
                "a link with this name already exists, and netd did not create it: another \
                 program made it; rename or remove it ({})",
                describe(self.errno)
            ),
            Some(_) => describe(self.errno),
        }
    }
}

fn describe(errno: Option<i32>) -> String {
    match errno {
        Some(n) => format!("{} (errno {n})", nix::errno::Errno::from_raw(n).desc()),
        None => "no answer".to_string(),
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.op {
            Op::CreateLinkAt | Op::CreateLink => "cannot create",
            Op::ChangeLink => "cannot change",
            Op::DeleteLink | Op::DeleteAddress | Op::DeleteRoute => "cannot delete",
            Op::AddAddress | Op::AddRoute => "cannot add",
            Op::Read => "cannot read",
        };
        write!(f, "{verb} {}: {}", self.object, self.cause())
    }
}

impl std::error::Error for KernelError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(op: Op, errno: i32) -> KernelError {
        KernelError::new(op, "link eth0", Some(errno))
    }

    #[test]
    fn a_taken_index_is_retried_and_a_taken_name_is_not() {
        assert_eq!(at(Op::CreateLinkAt, EEXIST).recovery(), Recovery::Retry);
        assert_eq!(at(Op::CreateLinkAt, EBUSY).recovery(), Recovery::Retry);
        assert_eq!(at(Op::CreateLink, EEXIST).recovery(), Recovery::GiveUp);
        assert!(
            at(Op::CreateLink, EEXIST)
                .cause()
                .contains("netd did not create it")
        );
    }

    #[test]
    fn vanished_objects_resync() {
        assert_eq!(at(Op::DeleteLink, ENODEV).recovery(), Recovery::Resync);
        assert_eq!(at(Op::AddRoute, ENOENT).recovery(), Recovery::Resync);
        assert_eq!(
            KernelError::new(Op::Read, "links", None).recovery(),
            Recovery::Resync
        );
    }

    #[test]
    fn missing_privileges_give_up_with_the_root_message() {
        let e = at(Op::ChangeLink, EPERM);
        assert_eq!(e.recovery(), Recovery::GiveUp);
        assert_eq!(
            e.to_string(),
            format!(
                "cannot change link eth0: {NEEDS_ROOT}; the kernel refused: Operation not permitted (errno 1)"
            )
        );
        assert_eq!(at(Op::AddAddress, EACCES).recovery(), Recovery::GiveUp);
    }

    #[test]
    fn a_failure_before_the_kernel_keeps_its_message() {
        let e = NlError::Kernel {
            errno: 0,
            message: "cannot enter namespace web".into(),
        };
        let e = KernelError::from_nl(Op::AddRoute, "route", &e);
        assert_eq!(
            (e.errno, e.cause().as_str()),
            (None, "cannot enter namespace web")
        );
    }

    #[test]
    fn errno_is_kept_and_described() {
        let e = at(Op::AddRoute, 22);
        assert_eq!(e.errno, Some(22));
        assert_eq!(e.recovery(), Recovery::GiveUp);
        assert_eq!(e.cause(), "Invalid argument (errno 22)");
    }
}
