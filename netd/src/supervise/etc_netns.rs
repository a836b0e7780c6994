//! The files of `/etc/netns/NAME/` in place of the host's, and a `/sys`
//! that shows the namespace's devices: what `ip netns exec` arranges (see
//! iproute2's `netns_switch` and `bind_etc`), for netd's processes and
//! `netd exec`. Everything that allocates is done in `MountPlan::new`;
//! `MountPlan::enter` only makes syscalls, so that it can run in a forked
//! child of a threaded netd.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::libc;

pub const ETC_NETNS: &str = "/etc/netns";

/// The mounts that give one namespace's view, made in a new mount
/// namespace of the calling process.
#[derive(Debug)]
pub struct MountPlan {
    /// The namespace name, as the sysfs mount's source (as ip does).
    sysfs_source: CString,
    binds: Vec<Bind>,
}

#[derive(Debug, PartialEq, Eq)]
struct Bind {
    from: CString,
    to: CString,
    /// Written to stderr, followed by the errno, if the bind fails.
    warning: Vec<u8>,
}

/// A step of [`MountPlan::enter`] that failed; the errno is in `io::Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountStep {
    Unshare,
    MakeSlave,
    Sysfs,
}

impl std::fmt::Display for MountStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MountStep::Unshare => "unshare a mount namespace",
            MountStep::MakeSlave => "make / a slave mount",
            MountStep::Sysfs => "mount a sysfs of the namespace on /sys",
        })
    }
}

/// `/etc/netns/NAME/ENTRY` is bound over `/etc/ENTRY`, for each entry, in
/// name order. Only names of one component come from a directory
/// listing, so nothing can point outside /etc.
pub fn bind_targets(etc_netns: &Path, ns: &str, entries: &[&OsStr]) -> Vec<(PathBuf, PathBuf)> {
    let etc = etc_netns.parent().unwrap_or(Path::new("/etc"));
    let mut names: Vec<&OsStr> = entries
        .iter()
        .copied()
        .filter(|n| !n.is_empty() && *n != "." && *n != ".." && !n.as_bytes().contains(&b'/'))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (etc_netns.join(ns).join(n), etc.join(n)))
        .collect()
}

impl MountPlan {
    /// Reads `/etc/netns/NAME/`; a missing directory means no binds.
    pub fn new(ns: &str) -> io::Result<MountPlan> {
        Self::with_etc_netns(Path::new(ETC_NETNS), ns)
    }

    pub fn with_etc_netns(etc_netns: &Path, ns: &str) -> io::Result<MountPlan> {
        let entries = match std::fs::read_dir(etc_netns.join(ns)) {
            Ok(dir) => dir
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<Vec<_>>>()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let names: Vec<&OsStr> = entries.iter().map(|e| e.as_os_str()).collect();
        let binds = bind_targets(etc_netns, ns, &names)
            .into_iter()
            .map(|(from, to)| Bind {
                warning: format!(
                    "netd: cannot bind {} over {}: errno ",
                    from.display(),
                    to.display()
                )
                .into_bytes(),
                from: c_path(&from),
                to: c_path(&to),
            })
            .collect();
        Ok(MountPlan {
            sysfs_source: CString::new(ns).unwrap_or_default(),
            binds,
        })
    }

    /// The files this plan binds, for logs and tests.
    pub fn targets(&self) -> Vec<(String, String)> {
        let s = |c: &CString| c.to_string_lossy().into_owned();
        self.binds.iter().map(|b| (s(&b.from), s(&b.to))).collect()
    }

    /// Enters a new mount namespace that receives the host's later mounts
    /// but sends none back, remounts /sys, and makes the binds. A bind that
    /// fails is written to stderr and skipped, as `ip netns exec` does.
    /// Only syscalls: safe between fork and exec.
    pub fn enter(&self) -> Result<(), (MountStep, io::Error)> {
        let fail = |step| Err((step, io::Error::last_os_error()));
        // SAFETY: plain syscalls on NUL-terminated strings owned by self.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return fail(MountStep::Unshare);
            }
            let none = c"none".as_ptr();
            let root = c"/".as_ptr();
            let flags = libc::MS_SLAVE | libc::MS_REC;
            if libc::mount(c"".as_ptr(), root, none, flags, std::ptr::null()) != 0 {
                return fail(MountStep::MakeSlave);
            }
            let sys = c"/sys".as_ptr();
            let mut sysfs_flags: libc::c_ulong = 0;
            if libc::umount2(sys, libc::MNT_DETACH) != 0 {
                // Not unmountable: mount over it, read-only if it was
                // (a read-only sysfs cannot be shadowed by a writable one).
                let mut st: libc::statvfs = std::mem::zeroed();
                if libc::statvfs(sys, &mut st) == 0 && st.f_flag & libc::ST_RDONLY != 0 {
                    sysfs_flags = libc::MS_RDONLY;
                }
            }
            let source = self.sysfs_source.as_ptr();
            let sysfs = c"sysfs".as_ptr();
            if libc::mount(source, sys, sysfs, sysfs_flags, std::ptr::null()) != 0 {
                return fail(MountStep::Sysfs);
            }
            for b in &self.binds {
                let flags = libc::MS_BIND;
                if libc::mount(
                    b.from.as_ptr(),
                    b.to.as_ptr(),
                    none,
                    flags,
                    std::ptr::null(),
                ) != 0
                {
                    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
                    write_stderr(&b.warning);
                    write_number(errno);
                    write_stderr(b"\n");
                }
            }
        }
        Ok(())
    }
}

fn c_path(p: &Path) -> CString {
    // A path from a directory listing has no NUL byte.
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}

/// write(2) without allocating.
fn write_stderr(bytes: &[u8]) {
    // SAFETY: writes from a valid buffer; the result does not matter.
    unsafe {
        libc::write(2, bytes.as_ptr().cast(), bytes.len());
    }
}

fn write_number(n: i32) {
    let mut buf = [0u8; 12];
    write_stderr(digits(n, &mut buf));
}

/// The decimal digits of `n` (at least 0), in `buf`.
fn digits(n: i32, buf: &mut [u8; 12]) -> &[u8] {
    let mut n = n.max(0);
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_entry_of_the_namespace_dir_covers_the_same_name_in_etc() {
        let entries: Vec<&OsStr> = ["resolv.conf", "hosts", ".", "..", "a/b", ""]
            .iter()
            .map(OsStr::new)
            .collect();
        let got = bind_targets(Path::new("/etc/netns"), "web", &entries);
        let want = [
            ("/etc/netns/web/hosts", "/etc/hosts"),
            ("/etc/netns/web/resolv.conf", "/etc/resolv.conf"),
        ];
        let want: Vec<(PathBuf, PathBuf)> = want
            .iter()
            .map(|(a, b)| (PathBuf::from(a), PathBuf::from(b)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_plan_lists_the_directory_and_a_missing_one_binds_nothing() {
        let dir = std::env::temp_dir().join(format!("netd-etc-netns-{}", std::process::id()));
        let ns = dir.join("netns").join("web");
        std::fs::create_dir_all(ns.join("ssl")).unwrap();
        std::fs::write(ns.join("resolv.conf"), "nameserver 192.0.2.53\n").unwrap();
        let plan = MountPlan::with_etc_netns(&dir.join("netns"), "web").unwrap();
        let root = dir.display();
        assert_eq!(
            plan.targets(),
            [
                (
                    format!("{root}/netns/web/resolv.conf"),
                    format!("{root}/resolv.conf")
                ),
                (format!("{root}/netns/web/ssl"), format!("{root}/ssl")),
            ]
        );
        let none = MountPlan::with_etc_netns(&dir.join("netns"), "db").unwrap();
        assert!(none.targets().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errno_digits_are_written_without_allocating() {
        for n in [0, 7, 13, 125, i32::MAX] {
            let mut buf = [0u8; 12];
            assert_eq!(digits(n, &mut buf), n.to_string().as_bytes());
        }
        assert_eq!(digits(-5, &mut [0u8; 12]), b"0");
    }
}
