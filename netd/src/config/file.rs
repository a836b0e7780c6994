//! Reading a config or policy file without trusting what the path names: a
//! FIFO or a device would block or never end, and a huge file would be read
//! whole into memory, so only regular files up to [`MAX_CONFIG_BYTES`] are
//! read.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Far above any real config (a thousand namespaces take about 200 KiB).
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// The file's text, or why it cannot be a config file. The file is opened
/// non-blocking (a FIFO without a writer would otherwise hang the open) and
/// checked with fstat on that very descriptor, so what is checked is what
/// is read.
pub(super) fn read_capped(path: &Path) -> Result<String, String> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else {
            "not a plain file"
        };
        return Err(format!(
            "it is {what}; a config file must be a regular file"
        ));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_big(meta.len()));
    }
    read_at_most(file)
}

/// Reads to the end, but never more than the cap, even if the file grows
/// while it is read.
fn read_at_most(file: File) -> Result<String, String> {
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn too_big(len: u64) -> String {
    format!(
        "it is {len} bytes; config files are at most {} MiB",
        MAX_CONFIG_BYTES / (1024 * 1024)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("netd-file-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    #[test]
    fn a_regular_file_is_read() {
        let path = temp("ok");
        std::fs::write(&path, "[bridge.br0]\n").unwrap();
        assert_eq!(read_capped(&path).unwrap(), "[bridge.br0]\n");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_file_over_the_cap_is_refused() {
        let path = temp("big");
        let file = File::create(&path).unwrap();
        file.set_len(MAX_CONFIG_BYTES + 1).unwrap();
        let err = read_capped(&path).unwrap_err();
        assert!(err.contains("at most 4 MiB"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let path = temp("fifo");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = read_capped(&path).unwrap_err();
        assert!(err.contains("a FIFO"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn devices_and_directories_are_refused() {
        assert!(
            read_capped(Path::new("/dev/zero"))
                .unwrap_err()
                .contains("a device")
        );
        assert!(
            read_capped(Path::new("/"))
                .unwrap_err()
                .contains("a directory")
        );
    }

    #[test]
    fn binary_files_are_named_as_such() {
        let path = temp("bin");
        std::fs::write(&path, b"a\xffb").unwrap();
        assert!(read_capped(&path).unwrap_err().contains("not UTF-8"));
        std::fs::remove_file(&path).unwrap();
    }
}
