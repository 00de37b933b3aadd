//! Maps dotted key paths (`servers[1].speed`) to places in the scenario text, and back.

use std::ops::Range;

use toml_edit::{Document, Item, Value};

/// Every key of a TOML document with where its key and its value stand.
#[derive(Debug, Default)]
pub struct Locator {
    entries: Vec<Entry>,
    line_starts: Vec<usize>,
}

#[derive(Debug)]
struct Entry {
    path: String,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
}

impl Locator {
    /// Indexes `text`; an unparsable text gives an empty index (the parse error is reported
    /// elsewhere). Integers beyond TOML's 64-bit range, which serde reads into a `u64` but
    /// `toml_edit` refuses, are blanked out first (same length), so that one of them does not
    /// leave every other key unlocated.
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let mut loc = Locator { entries: Vec::new(), line_starts };
        if let Some(doc) = parse_lenient(text) {
            loc.walk_table(doc.as_table(), "");
        }
        loc
    }

    fn push(&mut self, path: String, key: Option<Range<usize>>, value: Option<Range<usize>>) {
        self.entries.push(Entry { path, key, value });
    }

    fn walk_table(&mut self, table: &toml_edit::Table, prefix: &str) {
        for (k, item) in table.iter() {
            let path = join(prefix, k);
            let key_span = table.key(k).and_then(|k| k.span());
            self.walk_item(item, path, key_span);
        }
    }

    fn walk_item(&mut self, item: &Item, path: String, key_span: Option<Range<usize>>) {
        match item {
            Item::None => {}
            Item::Value(v) => self.walk_value(v, path, key_span),
            Item::Table(t) => {
                self.push(path.clone(), key_span, t.span());
                self.walk_table(t, &path);
            }
            Item::ArrayOfTables(a) => {
                self.push(path.clone(), key_span, a.span());
                for (i, t) in a.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    self.push(p.clone(), t.span(), t.span());
                    self.walk_table(t, &p);
                }
            }
        }
    }

    fn walk_value(&mut self, v: &Value, path: String, key_span: Option<Range<usize>>) {
        self.push(path.clone(), key_span, v.span());
        match v {
            Value::Array(a) => {
                for (i, e) in a.iter().enumerate() {
                    self.walk_value(e, format!("{path}[{i}]"), e.span());
                }
            }
            Value::InlineTable(t) => {
                for (k, e) in t.iter() {
                    let key_span = t.key(k).and_then(|k| k.span());
                    self.walk_value(e, join(&path, k), key_span);
                }
            }
            _ => {}
        }
    }

    /// 1-based (line, column) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        (line, offset - self.line_starts[line - 1] + 1)
    }

    /// Where the key `path` stands (its key if it has one, else its value).
    /// Falls back to the nearest existing parent (a missing key is reported at its table);
    /// `None` for a top-level key that is not there (see [`Locator::top_level`]).
    pub fn find(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(e) = self.entries.iter().find(|e| e.path == p) {
                let span = e.key.clone().or_else(|| e.value.clone())?;
                return Some(self.line_col(span.start));
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// Where the top-level keys start (where a missing one belongs): the first one's place,
    /// or the start of the text.
    pub fn top_level(&self) -> (usize, usize) {
        let top = self.entries.iter().filter(|e| !e.path.contains(['.', '[']));
        top.filter_map(|e| e.key.as_ref().map(|k| k.start)).min().map_or((1, 1), |start| self.line_col(start))
    }

    /// The innermost key whose key or value contains the byte `offset`.
    pub fn path_at(&self, offset: usize) -> Option<&str> {
        let contains =
            |r: &Option<Range<usize>>| r.as_ref().is_some_and(|r| r.start <= offset && offset < r.end.max(r.start + 1));
        self.entries
            .iter()
            .filter(|e| contains(&e.key) || contains(&e.value))
            .max_by_key(|e| e.path.len())
            .map(|e| e.path.as_str())
    }
}

/// `text` parsed by `toml_edit`, each integer it finds out of range replaced by `0` padded
/// with spaces to the same length (so every other span is unchanged); `None` when the text
/// has another syntax error, or more than [`MAX_BLANKED`] such integers.
fn parse_lenient(text: &str) -> Option<Document<String>> {
    let mut text = std::borrow::Cow::Borrowed(text);
    for _ in 0..=MAX_BLANKED {
        let e = match Document::parse(text.to_string()) {
            Ok(doc) => return Some(doc),
            Err(e) => e,
        };
        let span = e.span()?;
        let token = text.get(span.clone())?;
        let digits = token.trim_start_matches(['+', '-']);
        if !e.message().contains("integer")
            || digits.is_empty()
            || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return None;
        }
        let blank = format!("0{}", " ".repeat(token.len() - 1));
        text.to_mut().replace_range(span, &blank);
    }
    None
}

/// The most out-of-range integers [`Locator::new`] blanks out before giving up (each costs
/// a parse of the whole text).
const MAX_BLANKED: usize = 16;

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "seed = 1\n[arrivals]\nrate = 5.0\n\n[[servers]]\nname = \"a\"\n\n[[servers]]\nname = \"b\"\nspeed = 2.0\nstrategies = [\"x\", { name = \"p2c\", choices = 3 }]\n";

    #[test]
    fn finds_keys() {
        let l = Locator::new(TEXT);
        assert_eq!(l.find("seed"), Some((1, 1)));
        assert_eq!(l.find("arrivals.rate"), Some((3, 1)));
        assert_eq!(l.find("servers[1].speed"), Some((10, 1)));
        assert_eq!(l.find("servers[1].strategies[1].choices").map(|x| x.0), Some(11));
        // missing key → its parent table; a missing top-level key → the first top-level key
        assert_eq!(l.find("arrivals.process").map(|x| x.0), Some(2));
        assert_eq!(l.find("requests"), None);
        assert_eq!(l.top_level(), (1, 1));
        assert_eq!(Locator::new("# c\n\nname = \"x\"\n").top_level(), (3, 1));
    }

    #[test]
    fn an_integer_beyond_64_bits_does_not_unlocate_the_rest() {
        let text = "seed = 18446744073709551615\n[arrivals]\nrate = -1.0\n";
        assert_eq!(Locator::new(text).find("arrivals.rate"), Some((3, 1)));
    }

    #[test]
    fn path_at_offset() {
        let l = Locator::new(TEXT);
        let off = TEXT.find("5.0").unwrap();
        assert_eq!(l.path_at(off), Some("arrivals.rate"));
    }
}
