//! Text to `schema::File` or `schema::PolicyFile`. TOML syntax errors are
//! all reported (the toml parser recovers); a schema error (unknown key,
//! wrong type) stops serde, so only the first one is.
//!
//! `toml::de::Error` exposes a message and a byte span but not the key path
//! it collected, so the path is recovered by finding the span in the parsed
//! document tree.

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::report::{Report, Span, join_key};

pub(super) fn read<T: DeserializeOwned>(text: &str, report: &mut Report<'_>) -> Option<T> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in &syntax {
            report_toml_error(report, &root, e);
        }
        return None;
    }
    match T::deserialize(toml::Deserializer::from(root)) {
        Ok(file) => Some(file),
        Err(e) => {
            // Parsed again only to locate the error: keeping a copy of the
            // document for the error case would double the memory every
            // successful load needs.
            let (tree, _) = DeTable::parse_recoverable(text);
            report_toml_error(report, &tree, &e);
            None
        }
    }
}

fn report_toml_error(report: &mut Report<'_>, root: &Spanned<DeTable<'_>>, e: &toml::de::Error) {
    let span = e.span().unwrap_or(0..0);
    let mut found = Found {
        text: report.text(),
        span: span.clone(),
        innermost: None,
        header: None,
    };
    found.table(root.get_ref(), "", 1);
    let quoted = report.text().get(span.clone()).unwrap_or_default();
    let header = found.header.map(|(_, key)| key).unwrap_or_default();
    let key = match found.innermost {
        // The top-level table is the only one without a span of its own.
        _ if span.is_empty() && e.message().starts_with("missing field") => String::new(),
        Some((_, key)) => key,
        // A duplicate key is not in the tree: name it under the table that
        // the last header before it opened.
        None if e.message().starts_with("duplicate key") => {
            join_key(&header, quoted.trim_matches(['"', '\'']))
        }
        None => header,
    };
    report.error_at(span.start, &key, explain(e.message(), quoted));
}

/// Looks for the key an error offset belongs to. Every node is visited: a
/// table opened by a `[header]` has the header as its span, which does not
/// contain the table's own keys, so spans cannot prune the search.
struct Found<'t> {
    text: &'t str,
    span: Span,
    /// The key whose key or value span is the error's span or, failing
    /// that, the deepest one containing its start; ranked by (exact, depth).
    innermost: Option<((bool, usize), String)>,
    /// The table of the last `[header]` or `[[header]]` before the offset,
    /// with the header's start.
    header: Option<(usize, String)>,
}

impl Found<'_> {
    fn table(&mut self, table: &DeTable<'_>, path: &str, depth: usize) {
        for (k, v) in table.iter() {
            let key = join_key(path, k.get_ref());
            self.node(&key, &[k.span(), v.span()], v.get_ref(), depth);
            self.value(v, &key, depth + 1);
        }
    }

    fn value(&mut self, v: &Spanned<DeValue<'_>>, path: &str, depth: usize) {
        match v.get_ref() {
            DeValue::Table(t) => self.table(t, path, depth),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let key = format!("{path}[{i}]");
                    self.node(&key, &[item.span()], item.get_ref(), depth);
                    self.value(item, &key, depth + 1);
                }
            }
            _ => {}
        }
    }

    fn node(&mut self, key: &str, spans: &[Span], value: &DeValue<'_>, depth: usize) {
        let offset = self.span.start;
        let exact = spans.contains(&self.span);
        let rank = (exact, depth);
        if (exact || spans.iter().any(|s| s.contains(&offset)))
            && self.innermost.as_ref().is_none_or(|(r, _)| rank > *r)
        {
            self.innermost = Some((rank, key.to_owned()));
        }
        let own = spans.last().expect("a node has a span");
        let is_header = value.is_table()
            && self
                .text
                .get(own.clone())
                .is_some_and(|t| t.starts_with('['));
        if is_header
            && own.start <= offset
            && self.header.as_ref().is_none_or(|(s, _)| own.start > *s)
        {
            self.header = Some((own.start, key.to_owned()));
        }
    }
}

/// serde speaks of fields, maps and sequences; a TOML user writes keys,
/// tables and arrays.
fn explain(message: &str, quoted: &str) -> String {
    let message = message.trim_end();
    if message.starts_with("duplicate key") {
        return format!(
            "duplicate key `{quoted}`; a key may appear once per table: merge the two or remove one"
        );
    }
    let mut out = message
        .replace("unknown field", "unknown key")
        .replace("`, expected", "`; expected")
        .replace("missing field", "missing required key")
        .replace("expected i64", "expected an integer")
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table");
    if out.ends_with("map, expected an array") {
        out.push_str(": write each entry under a `[[double-bracket]]` header");
    }
    out
}
