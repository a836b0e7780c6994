//! Collecting errors: positions as byte spans until the end, turned into
//! line and column once, against the text they came from.

use std::ops::Range;

use super::error::{ConfigError, ConfigErrors};

pub(super) type Span = Range<usize>;

/// Where a value sits: its dotted key (as shown to the user) and its bytes
/// in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Loc {
    pub key: String,
    pub span: Span,
}

/// A value and where it came from.
#[derive(Debug, Clone)]
pub(super) struct At<T> {
    pub value: T,
    pub loc: Loc,
}

impl Loc {
    pub fn new(key: String, span: Span) -> Loc {
        Loc { key, span }
    }

    /// `self.key` followed by `.name`, quoted when TOML would need quotes.
    pub fn field(&self, name: &str, span: Span) -> Loc {
        Loc::new(join_key(&self.key, name), span)
    }

    /// `self.key` followed by `[i]`.
    pub fn index(&self, i: usize, span: Span) -> Loc {
        Loc::new(format!("{}[{i}]", self.key), span)
    }

    /// Element `i` of the array `list` under `self`: `self.list[i]`.
    pub fn item(&self, list: &str, i: usize, span: Span) -> Loc {
        Loc::new(format!("{}[{i}]", join_key(&self.key, list)), span)
    }

    pub fn at<T>(&self, value: T) -> At<T> {
        At {
            value,
            loc: self.clone(),
        }
    }
}

/// Appends one key segment the way TOML writes it: bare when it can be,
/// quoted otherwise (`namespace."a.b"`), so the path can be pasted back.
pub(super) fn join_key(parent: &str, name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    // A very long key is cut like any echoed value; it cannot be pasted
    // back then, but it cannot drown the message either.
    let max = crate::model::MAX_SHOWN;
    let cut: String = name.chars().take(max).collect();
    let more = if name.chars().nth(max).is_some() {
        "…"
    } else {
        ""
    };
    let segment = if bare {
        format!("{cut}{more}")
    } else {
        format!("{cut:?}{more}")
    };
    if parent.is_empty() {
        segment
    } else {
        format!("{parent}.{segment}")
    }
}

pub(super) struct Report<'a> {
    file: &'a str,
    text: &'a str,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    errors: Vec<ConfigError>,
}

impl<'a> Report<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Report {
            file,
            text,
            line_starts,
            errors: Vec::new(),
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    pub fn error(&mut self, loc: &Loc, message: impl Into<String>) {
        self.error_at(loc.span.start, &loc.key, message);
    }

    pub fn error_at(&mut self, offset: usize, key: &str, message: impl Into<String>) {
        let (line, column) = self.position(offset);
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            line,
            column,
            key: crate::model::shown_line(key),
            // Messages quote values from the file; none may forge a line.
            message: crate::model::shown_line(&message.into()),
        });
    }

    /// Errors of another file this one refers to (a policy file): they keep
    /// their own file, line and key.
    pub fn extend(&mut self, errors: ConfigErrors) {
        self.errors.extend(errors.0);
    }

    /// 1-based line of a location, for messages that point at a second spot
    /// ("already used at line 12").
    pub fn line_of(&self, loc: &Loc) -> usize {
        self.position(loc.span.start).0
    }

    /// 1-based line and character column of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = match self.text.get(start..offset) {
            Some(s) => s.chars().count(),
            // Not on a char boundary (never from toml's spans): count bytes.
            None => offset - start,
        };
        (line, column + 1)
    }

    /// Sorted by position so that output is stable and reads top to bottom;
    /// the sort is stable, so errors at one spot keep the order of checks.
    /// Errors of other files come after this file's.
    pub fn finish(mut self) -> Result<(), ConfigErrors> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let own = self.file;
        self.errors
            .sort_by_key(|e| (e.file != own, e.line, e.column));
        self.errors.dedup();
        Err(ConfigErrors(self.errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let r = Report::new("f", "ab\n\u{e9}x = 1\n");
        assert_eq!(r.position(0), (1, 1));
        assert_eq!(r.position(3), (2, 1));
        // `é` is two bytes, one column.
        assert_eq!(r.position(5), (2, 2));
        assert_eq!(r.position(100), (3, 1));
    }

    #[test]
    fn keys_are_quoted_only_when_needed() {
        assert_eq!(join_key("", "namespace"), "namespace");
        assert_eq!(join_key("namespace", "web-1"), "namespace.web-1");
        assert_eq!(join_key("namespace", "a.b"), r#"namespace."a.b""#);
        let long = join_key("namespace", &"n".repeat(100));
        assert_eq!(long, format!("namespace.{}…", "n".repeat(64)));
    }
}
