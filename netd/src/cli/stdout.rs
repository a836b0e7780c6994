//! Output that survives a reader that goes away: `netd status | head -1`
//! closes the pipe early, and std's `println!` would panic on the EPIPE
//! (Rust ignores SIGPIPE, and netd keeps it ignored so that a closed pipe
//! can never kill an apply half-way). Once stdout is gone, the rest of the
//! output is dropped and the command finishes its work quietly.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

fn write_line(out: &mut dyn Write, closed: &AtomicBool, args: fmt::Arguments<'_>) {
    write_text(out, closed, format_args!("{args}\n"));
}

fn write_text(out: &mut dyn Write, closed: &AtomicBool, args: fmt::Arguments<'_>) {
    if closed.load(Ordering::Relaxed) {
        return;
    }
    let written = out.write_fmt(args);
    if let Err(e) = written {
        // Whatever the error (EPIPE, a full disk behind a redirect), more
        // output cannot fix it, and a panic would abort the work.
        closed.store(true, Ordering::Relaxed);
        if e.kind() != ErrorKind::BrokenPipe {
            tracing::debug!(error = %e, "output stopped");
        }
    }
}

/// One line on stdout; see the module doc.
pub fn line(args: fmt::Arguments<'_>) {
    write_line(&mut std::io::stdout().lock(), &STDOUT_CLOSED, args);
}

/// Text on stdout, without a line break of its own.
pub fn text(args: fmt::Arguments<'_>) {
    write_text(&mut std::io::stdout().lock(), &STDOUT_CLOSED, args);
}

/// One line on stderr, with the same care.
pub fn error_line(args: fmt::Arguments<'_>) {
    write_line(&mut std::io::stderr().lock(), &STDERR_CLOSED, args);
}

/// Whether stdout went away during this run.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that has gone away.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_stops_output_without_a_panic() {
        let closed = AtomicBool::new(false);
        write_line(&mut Closed, &closed, format_args!("first"));
        assert!(closed.load(Ordering::Relaxed));
        write_line(&mut Closed, &closed, format_args!("second"));
    }

    #[test]
    fn lines_end_in_a_newline() {
        let mut buf = Vec::new();
        write_line(&mut buf, &AtomicBool::new(false), format_args!("a {}", 1));
        assert_eq!(buf, b"a 1\n");
    }
}
