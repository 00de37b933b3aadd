//! `report.html`: one self-contained page per run, sweep or plan (the shared [`Page`]
//! builder; each command's page is in its own module: `run::html`, `sweep::html`,
//! `plan::html`).
//!
//! The page needs nothing but itself: the charts are embedded as base64 PNG data URIs, the
//! style sheet is inline, the fonts are the reader's own (no web fonts), and there is no
//! script. It is laid out for a 1280-pixel-wide window: images scale down to the column,
//! long lines of code wrap, and tables use the terminal table's columns (which fit 120
//! terminal columns). Like every other output it is a pure function of its input, so it is
//! byte-identical from run to run.

/// The page's file name.
pub const FILE: &str = "report.html";

/// The style sheet: system fonts, a 1200-pixel column, tabular figures.
const STYLE: &str = "\
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1d2330;font:15px/1.5 system-ui,-apple-system,\"Segoe UI\",\"Noto Sans\",\
\"DejaVu Sans\",sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 8px;padding-bottom:4px;border-bottom:1px solid #dde1e8}
p{margin:6px 0}
.sub{color:#4a5568;margin-bottom:16px}
ul{margin:6px 0;padding-left:22px}
li{margin:3px 0}
li.i1{margin-left:20px;list-style:circle}
li.i2{margin-left:40px;list-style:circle}
li.i3{margin-left:60px;list-style:circle}
.warnings li{color:#8a1c1c}
code,pre{font:13px/1.45 ui-monospace,\"DejaVu Sans Mono\",\"Noto Sans Mono\",Menlo,monospace}
pre{background:#f1f3f6;border:1px solid #dde1e8;border-radius:4px;padding:8px 10px;margin:6px 0;\
white-space:pre-wrap;overflow-wrap:anywhere}
table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums;margin:8px 0;max-width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #e5e8ee;vertical-align:top}
th{text-align:left;background:#f1f3f6;font-weight:600}
td.n{text-align:right;white-space:nowrap}
td.bad{color:#b42318;font-weight:600}
td.best{font-weight:700}
figure{margin:16px 0}
figure img{display:block;max-width:100%;height:auto;border:1px solid #e5e8ee}
figcaption{font-size:13px;color:#4a5568;margin-top:4px}
details summary{cursor:pointer;color:#2b4c7e}
.facts td:first-child{color:#4a5568;white-space:nowrap}
";

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Its text.
    pub text: String,
    /// How it is shown.
    pub kind: CellKind,
}

/// How a cell is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Text, left-aligned.
    Text,
    /// A figure, right-aligned.
    Number,
    /// The best figure of its column, right-aligned and bold.
    Best,
    /// Something wrong (an UNSTABLE row's label, an SLO not met), in red.
    Bad,
}

impl Cell {
    /// A text cell.
    pub fn text(text: impl Into<String>) -> Cell {
        Cell { text: text.into(), kind: CellKind::Text }
    }

    /// A figure.
    pub fn number(text: impl Into<String>) -> Cell {
        Cell { text: text.into(), kind: CellKind::Number }
    }

    /// A cell shown as `kind`.
    pub fn of(text: impl Into<String>, kind: CellKind) -> Cell {
        Cell { text: text.into(), kind }
    }
}

/// An HTML page being written, section by section.
#[derive(Debug)]
pub struct Page {
    body: String,
    title: String,
}

impl Page {
    /// A page titled `title`, with `subtitle` under its heading.
    pub fn new(title: &str, subtitle: &str) -> Page {
        let mut body = format!("<h1>{}</h1>\n", escape(title));
        if !subtitle.is_empty() {
            body.push_str(&format!("<p class=\"sub\">{}</p>\n", escape(subtitle)));
        }
        Page { body, title: title.to_string() }
    }

    /// A section heading.
    pub fn section(&mut self, title: &str) {
        self.body.push_str(&format!("<h2>{}</h2>\n", escape(title)));
    }

    /// A paragraph of text.
    pub fn paragraph(&mut self, text: &str) {
        self.body.push_str(&format!("<p>{}</p>\n", escape(text)));
    }

    /// A bulleted list (nothing when `items` is empty); `warnings` shows them in red. An
    /// item's leading spaces (the terminal's indentation of a note under the one above)
    /// indent it one level per two spaces.
    pub fn list(&mut self, items: &[String], warnings: bool) {
        if items.is_empty() {
            return;
        }
        self.body.push_str(if warnings { "<ul class=\"warnings\">\n" } else { "<ul>\n" });
        for i in items {
            let text = i.trim_start_matches(' ');
            let level = (i.len() - text.len()).div_ceil(2).min(3);
            let class = if level > 0 { format!(" class=\"i{level}\"") } else { String::new() };
            self.body.push_str(&format!("<li{class}>{}</li>\n", escape(text)));
        }
        self.body.push_str("</ul>\n");
    }

    /// A two-column table of facts (name, value).
    pub fn facts(&mut self, facts: &[(&str, String)]) {
        self.body.push_str("<table class=\"facts\">\n");
        for (k, v) in facts {
            self.body.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>\n", escape(k), escape(v)));
        }
        self.body.push_str("</table>\n");
    }

    /// A table with a header row.
    pub fn table(&mut self, header: &[String], rows: &[Vec<Cell>]) {
        self.body.push_str("<table>\n<tr>");
        for h in header {
            self.body.push_str(&format!("<th>{}</th>", escape(h)));
        }
        self.body.push_str("</tr>\n");
        for row in rows {
            self.body.push_str("<tr>");
            for c in row {
                let class = match c.kind {
                    CellKind::Text => "",
                    CellKind::Number => " class=\"n\"",
                    CellKind::Best => " class=\"n best\"",
                    CellKind::Bad => " class=\"bad\"",
                };
                self.body.push_str(&format!("<td{class}>{}</td>", escape(&c.text)));
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</table>\n");
    }

    /// A block of code or preformatted text (long lines wrap).
    pub fn code(&mut self, text: &str) {
        self.body.push_str(&format!("<pre><code>{}</code></pre>\n", escape(text.trim_end())));
    }

    /// A block of preformatted text shown when its `summary` is clicked.
    pub fn details(&mut self, summary: &str, text: &str) {
        self.body.push_str(&format!(
            "<details><summary>{}</summary>\n<pre><code>{}</code></pre></details>\n",
            escape(summary),
            escape(text.trim_end())
        ));
    }

    /// A chart: the PNG `png` embedded as a data URI, captioned with its file `name`.
    pub fn figure(&mut self, name: &str, png: &[u8]) {
        self.body.push_str(&format!(
            "<figure><img alt=\"{name}\" src=\"data:image/png;base64,{}\"><figcaption>{name}</figcaption></figure>\n",
            base64(png),
            name = escape(name)
        ));
    }

    /// The finished document.
    pub fn finish(self) -> Vec<u8> {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
             content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n\
             <body>\n<main>\n{}</main>\n</body>\n</html>\n",
            escape(&self.title),
            self.body
        )
        .into_bytes()
    }
}

/// `text` with HTML's special characters escaped (safe in text and in quoted attributes).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `bytes` in standard base64 with padding (RFC 4648 §4), as data URIs take it.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A shell word: `word` as is when it needs no quoting, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ',' | ':' | '=' | '+'));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_test_vectors() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn text_is_escaped_everywhere() {
        assert_eq!(escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
        let mut page = Page::new("<t>", "s&");
        page.table(&["<h>".into()], &[vec![Cell::text("<c>")]]);
        page.list(&["<w>".into()], true);
        page.code("<x>");
        let html = String::from_utf8(page.finish()).unwrap();
        let body = html.split("</style>").nth(1).unwrap();
        assert!(!body.contains("<t>") && !body.contains("<h>") && !body.contains("<c>") && !body.contains("<w>"));
        assert!(!body.contains("<x>") && body.contains("&lt;x&gt;"));
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("scenarios/web.toml"), "scenarios/web.toml");
        assert_eq!(shell_word("p99<=100ms"), "'p99<=100ms'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
