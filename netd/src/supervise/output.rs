//! A supervised process's stdout and stderr, one log line per output line,
//! with the namespace and process name. A reader thread per pipe: it blocks
//! in read(2), costs nothing while the process is quiet, and ends at EOF
//! when the process (and any child holding the pipe) is gone.

use std::io::Read;
use std::sync::Arc;

/// Longer lines are cut here; the rest up to the newline is dropped, so
/// one chatty process cannot fill the journal with megabyte lines.
pub const MAX_LINE: usize = 4096;

/// Splits a byte stream into lines of at most `MAX_LINE` bytes.
#[derive(Debug, Default)]
pub struct Lines {
    buf: Vec<u8>,
    /// Inside a line that was already cut: skip to its newline.
    skipping: bool,
}

impl Lines {
    /// Feeds `data`; calls `emit` for each complete (or cut) line, without
    /// its newline or a trailing CR.
    pub fn push(&mut self, mut data: &[u8], mut emit: impl FnMut(&[u8])) {
        while !data.is_empty() {
            let newline = data.iter().position(|&b| b == b'\n');
            let (part, rest, ends) = match newline {
                Some(i) => (&data[..i], &data[i + 1..], true),
                None => (data, &data[data.len()..], false),
            };
            data = rest;
            if !self.skipping {
                let room = MAX_LINE - self.buf.len();
                self.buf.extend_from_slice(&part[..part.len().min(room)]);
                if part.len() >= room && !ends {
                    emit_line(&mut self.buf, &mut emit);
                    self.skipping = true;
                } else if ends {
                    emit_line(&mut self.buf, &mut emit);
                }
            }
            if ends {
                self.skipping = false;
            }
        }
    }

    /// The last line when the stream ends without a newline.
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.buf.is_empty() {
            emit_line(&mut self.buf, &mut emit);
        }
    }
}

fn emit_line(buf: &mut Vec<u8>, emit: &mut impl FnMut(&[u8])) {
    let line = buf.strip_suffix(b"\r").unwrap_or(buf);
    emit(line);
    buf.clear();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Logs every line read from `pipe` until EOF, on a thread of its own.
pub fn forward(pipe: impl Read + Send + 'static, stream: Stream, ns: &str, process: &str) {
    let who: Arc<(String, String)> = Arc::new((ns.to_owned(), process.to_owned()));
    let spawned = std::thread::Builder::new()
        .name(format!("out-{process}"))
        .stack_size(64 * 1024)
        .spawn(move || read_lines(pipe, stream, &who));
    if let Err(e) = spawned {
        tracing::warn!(namespace = ns, process, error = %e, "cannot read the process's output");
    }
}

fn read_lines(mut pipe: impl Read, stream: Stream, who: &(String, String)) {
    let (namespace, process) = (who.0.as_str(), who.1.as_str());
    let log = |line: &[u8]| {
        let line = String::from_utf8_lossy(line);
        match stream {
            Stream::Stdout => tracing::info!(namespace, process, "{line}"),
            Stream::Stderr => tracing::warn!(namespace, process, "{line}"),
        }
    };
    let mut lines = Lines::default();
    let mut buf = [0u8; 8192];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => lines.push(&buf[..n], log),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    lines.finish(log);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        let mut lines = Lines::default();
        for c in chunks {
            lines.push(c, |l| out.push(String::from_utf8_lossy(l).into_owned()));
        }
        lines.finish(|l| out.push(String::from_utf8_lossy(l).into_owned()));
        out
    }

    #[test]
    fn lines_are_joined_across_reads_and_split_within_one() {
        assert_eq!(
            split(&[b"hel", b"lo\nwor", b"ld\r\n\nlast"]),
            ["hello", "world", "", "last"]
        );
    }

    #[test]
    fn long_lines_are_cut_at_4_kib_and_the_rest_dropped() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let out = split(&[&long[..5000], &long[5000..], b"\nnext\n"]);
        assert_eq!(
            out.len(),
            2,
            "{:?}",
            out.iter().map(String::len).collect::<Vec<_>>()
        );
        assert_eq!(out[0].len(), MAX_LINE);
        assert_eq!(out[1], "next");
        // Exactly MAX_LINE bytes and a newline: one line, nothing dropped.
        let exact = [vec![b'y'; MAX_LINE], b"\nz".to_vec()].concat();
        let out = split(&[&exact]);
        assert_eq!((out[0].len(), out[1].as_str()), (MAX_LINE, "z"));
    }
}
