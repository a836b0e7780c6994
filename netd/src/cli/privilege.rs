//! netd changes namespaces (CAP_SYS_ADMIN: setns, mount) and links
//! (CAP_NET_ADMIN). Without both, every command would fail on its first
//! kernel call with a bare EPERM; this says what is wrong before that.

/// The message for a user without them, also used for EPERM answers.
pub use crate::netlink::NEEDS_ROOT;

const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;

/// The effective capability mask from `/proc/self/status` text.
fn effective_caps(status: &str) -> Option<u64> {
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

fn has_both(caps: u64) -> bool {
    caps & (1 << CAP_NET_ADMIN) != 0 && caps & (1 << CAP_SYS_ADMIN) != 0
}

/// Err with [`NEEDS_ROOT`] when this process lacks either capability. An
/// unreadable `/proc` proves nothing: the kernel will answer then.
pub fn require_root() -> Result<(), String> {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Ok(());
    };
    match effective_caps(&status) {
        Some(caps) if !has_both(caps) => Err(NEEDS_ROOT.to_string()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_capabilities_are_needed() {
        let root = "Name:\tnetd\nCapInh:\t0\nCapEff:\t000001ffffffffff\n";
        assert_eq!(effective_caps(root), Some(0x1ff_ffff_ffff));
        assert!(has_both(0x1ff_ffff_ffff));
        assert!(!has_both(1 << CAP_NET_ADMIN));
        assert!(!has_both(1 << CAP_SYS_ADMIN));
        assert!(!has_both(0));
        assert_eq!(effective_caps("CapEff:\tzz\n"), None);
    }
}
