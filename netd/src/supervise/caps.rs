//! Capability names as the config writes them, and the masks the kernel
//! takes. Parsing is pure; applying them (in the child, before exec) is in
//! `spawn`.

use std::fmt;

use serde::{Serialize, Serializer};

/// Capability numbers from linux/capability.h, by name without `CAP_`.
/// The kernel may know fewer (older) or more (newer) than this table: an
/// unknown bit is dropped like any other cap that is not kept.
const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// One capability, by its kernel number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(u8);

impl Capability {
    /// `CAP_NET_ADMIN`, `cap_net_admin`, `NET_ADMIN` or `net_admin`; the
    /// error lists what was meant when the name is close to a known one.
    pub fn parse(text: &str) -> Result<Capability, String> {
        let upper = text.to_ascii_uppercase();
        let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
        if let Some(i) = NAMES.iter().position(|n| *n == bare) {
            return Ok(Capability(i as u8));
        }
        let near: Vec<String> = NAMES
            .iter()
            .filter(|n| !bare.is_empty() && (n.contains(bare) || bare.contains(*n)))
            .map(|n| format!("CAP_{n}"))
            .collect();
        let hint = if near.is_empty() {
            "see capabilities(7) for the names".to_owned()
        } else {
            format!("did you mean {}?", near.join(", "))
        };
        Err(format!(
            "`{}` is not a capability; write it as \"CAP_NET_ADMIN\" or \"net_admin\" ({hint})",
            crate::model::shown(text)
        ))
    }

    pub fn number(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CAP_{}", NAMES[usize::from(self.0)])
    }
}

impl Serialize for Capability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The capabilities as the 64-bit mask of /proc/PID/status (`CapEff`...).
pub fn mask(caps: &[Capability]) -> u64 {
    caps.iter().fold(0, |m, c| m | (1u64 << c.0))
}

/// The names in a mask; bits beyond the table show as numbers.
#[cfg(test)]
fn names(mask: u64) -> Vec<String> {
    (0..64)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| match NAMES.get(bit) {
            Some(n) => format!("CAP_{n}"),
            None => format!("cap {bit}"),
        })
        .collect()
}

/// The highest capability the running kernel knows; netd's table when
/// /proc does not say.
pub fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok())
        .filter(|&n| n < 64)
        .unwrap_or(NAMES.len() as u8 - 1)
}

/// capset(2) of this thread: effective, permitted and inheritable all
/// exactly `mask`. A syscall and nothing else, for the forked child.
pub fn set_all(mask: u64) -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let half = |shift: u32| {
        let m = (mask >> shift) as u32;
        Data {
            effective: m,
            permitted: m,
            inheritable: m,
        }
    };
    let data = [half(0), half(32)];
    // SAFETY: the header and the two data words are the kernel's v3 layout.
    let rc = unsafe { nix::libc::syscall(nix::libc::SYS_capset, &header, data.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_every_spelling() {
        for text in ["CAP_NET_ADMIN", "cap_net_admin", "NET_ADMIN", "net_admin"] {
            assert_eq!(Capability::parse(text), Ok(Capability(12)), "{text}");
        }
        assert_eq!(
            Capability::parse("checkpoint_restore").unwrap().to_string(),
            "CAP_CHECKPOINT_RESTORE"
        );
        assert_eq!(Capability::parse("CAP_CHOWN").unwrap().number(), 0);
    }

    #[test]
    fn unknown_names_are_refused_with_a_hint() {
        let e = Capability::parse("CAP_NET").unwrap_err();
        assert!(e.contains("did you mean CAP_NET_BIND_SERVICE"), "{e}");
        let e = Capability::parse("fly").unwrap_err();
        assert!(e.contains("capabilities(7)"), "{e}");
        assert!(Capability::parse("").is_err());
        assert!(Capability::parse("CAP_").is_err());
    }

    #[test]
    fn the_bird_set_is_the_mask_proc_shows() {
        let caps: Vec<Capability> = ["net_admin", "net_raw", "net_bind_service"]
            .iter()
            .map(|n| Capability::parse(n).unwrap())
            .collect();
        // CapEff of a BIRD with these three: 0000000000003400.
        assert_eq!(mask(&caps), 0x3400);
        assert_eq!(
            names(0x3400),
            ["CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW"]
        );
        assert_eq!(names(1 << 50), ["cap 50"]);
    }
}
