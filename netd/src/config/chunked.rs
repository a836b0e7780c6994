//! Large configs, read one group of `[namespace.NAME]` sections at a time.
//!
//! The TOML parser holds every token and a tree of the whole document at
//! once: for a thousand namespaces that is several times the model it
//! yields, and most of netd's peak memory. Sections are independent, so a
//! big file is cut before `[namespace.` headers and each piece is parsed on
//! its own, preceded by spaces in place of the text before it, so that
//! every span (and so every error position) stays that of the whole file.
//!
//! Anything unusual (a cut inside a multi-line string or array, a section
//! split across pieces, any error at all) makes the pieces disagree, and
//! the whole file is read again the ordinary way, which reports exactly
//! what is wrong.

use std::collections::btree_map::Entry;

use toml::de::DeTable;

use super::deserialize;
use super::report::Report;
use super::schema::File;

/// Files smaller than this are read whole.
const PIECE_BYTES: usize = 32 * 1024;

pub(super) fn read(text: &str, report: &mut Report<'_>) -> Option<File> {
    if text.len() > PIECE_BYTES
        && let Some(file) = read_in_pieces(text)
    {
        return Some(file);
    }
    deserialize::read(text, report)
}

/// Byte offsets where pieces start: line starts of `[namespace.` headers,
/// at least `PIECE_BYTES` apart.
fn cuts(text: &str) -> Vec<usize> {
    let mut cuts = vec![0];
    let mut last = 0;
    for (i, _) in text.match_indices("\n[namespace.") {
        let start = i + 1;
        if start - last >= PIECE_BYTES {
            cuts.push(start);
            last = start;
        }
    }
    cuts
}

fn read_in_pieces(text: &str) -> Option<File> {
    let cuts = cuts(text);
    let mut file = File::default();
    let mut padded = String::with_capacity(text.len());
    for (n, &start) in cuts.iter().enumerate() {
        let end = cuts.get(n + 1).copied().unwrap_or(text.len());
        padded.clear();
        padded.extend(std::iter::repeat_n(' ', start));
        padded.push_str(&text[start..end]);
        let piece = parse_quietly(&padded)?;
        merge(&mut file, piece)?;
    }
    Some(file)
}

fn parse_quietly(text: &str) -> Option<File> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return None;
    }
    serde::Deserialize::deserialize(toml::Deserializer::from(root)).ok()
}

/// Adds `piece` to `file`; None when both define the same thing, which
/// only the whole file's parse can judge.
fn merge(file: &mut File, piece: File) -> Option<()> {
    if piece.daemon.is_some() {
        if file.daemon.is_some() {
            return None;
        }
        file.daemon = piece.daemon;
    }
    for (k, v) in piece.bridge {
        match file.bridge.entry(k) {
            Entry::Vacant(e) => e.insert(v),
            Entry::Occupied(_) => return None,
        };
    }
    for (k, v) in piece.namespace {
        match file.namespace.entry(k) {
            Entry::Vacant(e) => e.insert(v),
            Entry::Occupied(_) => return None,
        };
    }
    for (k, v) in piece.anycast {
        match file.anycast.entry(k) {
            Entry::Vacant(e) => e.insert(v),
            Entry::Occupied(_) => return None,
        };
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(sections: usize, extra: &str) -> String {
        let mut s = String::from(
            "[daemon]\nstate_dir = \"/run/netd-test\"\n\n[bridge.br0]\naddresses = [\"10.88.0.1/16\"]\n",
        );
        for i in 0..sections {
            s.push_str(&format!(
                "\n[namespace.ns{i}]\ngateway = [\"10.88.0.1\"]\n\n[[namespace.ns{i}.interface]]\nname = \"eth0\"\nkind = \"veth\"\nbridge = \"br0\"\naddresses = [\"10.88.{}.{}/16\"]\n",
                i / 250,
                i % 250 + 2
            ));
        }
        s.push_str(extra);
        s
    }

    fn whole(text: &str) -> File {
        let mut report = Report::new("f", text);
        deserialize::read(text, &mut report).expect("valid")
    }

    #[test]
    fn pieces_give_the_same_file_with_the_same_spans() {
        let text = big(1000, "");
        assert!(cuts(&text).len() > 3);
        let pieces = read_in_pieces(&text).expect("read in pieces");
        assert_eq!(format!("{pieces:?}"), format!("{:?}", whole(&text)));
    }

    #[test]
    fn a_section_split_across_pieces_is_read_whole() {
        // ns0's interface list continues at the end of the file.
        let text = big(
            1000,
            "\n[[namespace.ns0.interface]]\nname = \"eth1\"\nkind = \"veth\"\n",
        );
        assert!(read_in_pieces(&text).is_none());
        let mut report = Report::new("f", &text);
        let file = read(&text, &mut report).expect("valid as a whole");
        let ns0 = file
            .namespace
            .iter()
            .find(|(k, _)| k.get_ref() == "ns0")
            .unwrap();
        assert_eq!(ns0.1.get_ref().interface.len(), 2);
    }

    #[test]
    fn a_cut_inside_a_multi_line_string_is_read_whole() {
        // The string holds sections ns100 to ns589, far more than a piece.
        let mut text = big(600, "");
        let at = text.find("\n[namespace.ns100]").unwrap();
        text.insert_str(at, "\n[namespace.note]\nsysctl = { \"x\" = \"\"\"\n");
        let end = text.find("\n[namespace.ns590]").unwrap();
        text.insert_str(end, "\"\"\" }\n");
        assert!(read_in_pieces(&text).is_none());
        let file = whole(&text);
        assert_eq!(file.namespace.len(), 600 - 490 + 1);
    }
}
