//! Fitting text into the room a chart has for it, measured with the chart font
//! ([`canvas::text_size`]): wrapped at natural break points, or set a little smaller, but
//! never cut. A label that ends in "…" hides which strategy it is.

use super::canvas;

/// The pieces of `text` between break opportunities: after a space, after a "," that is not
/// a thousands separator (a digit on both sides: "2,281" stays whole), and before "(" (so `weighted-least-connections(variant="ipvs")` breaks before its parameters).
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let brk = match c {
            '(' => i > start && bytes[i - 1] != b' ',
            _ => false,
        };
        if brk {
            out.push(&text[start..i]);
            start = i;
        }
        let separator =
            c == ',' && i > 0 && bytes[i - 1].is_ascii_digit() && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if c == ' ' || (c == ',' && !separator) {
            let end = i + c.len_utf8();
            out.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Width of `text` at `px`, px.
pub fn width(text: &str, px: f64) -> u32 {
    canvas::text_size(text, px).0
}

/// `text` in lines no wider than `max_px` at `px`: broken greedily at break opportunities,
/// and inside a word only when one is wider than the whole line. Nothing is dropped.
pub fn wrap(text: &str, max_px: u32, px: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for piece in pieces(text) {
        let candidate = format!("{line}{piece}");
        if line.is_empty() || width(candidate.trim_end(), px) <= max_px {
            line = candidate;
        } else {
            lines.push(line.trim_end().to_string());
            line = piece.trim_start().to_string();
        }
        // A piece wider than a line on its own: break it between characters.
        while width(line.trim_end(), px) > max_px && line.chars().count() > 1 {
            let chars: Vec<char> = line.chars().collect();
            let mut n = chars.len() - 1;
            while n > 1 && width(&chars[..n].iter().collect::<String>(), px) > max_px {
                n -= 1;
            }
            lines.push(chars[..n].iter().collect());
            line = chars[n..].iter().collect();
        }
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// Text fitted into a box: its lines and the size they are set at.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The lines, top to bottom.
    pub lines: Vec<String>,
    /// Font size, px.
    pub px: f64,
}

impl Block {
    /// Height of the block with lines `leading` times the font size apart, px.
    pub fn height(&self, leading: f64) -> i32 {
        (self.lines.len() as f64 * self.px * leading).ceil() as i32
    }

    /// Width of the widest line, px.
    pub fn width(&self) -> u32 {
        self.lines.iter().map(|l| width(l, self.px)).max().unwrap_or(0)
    }
}

/// `text` fitted into `max_px` wide and at most `max_lines` lines: on one line at `px` or
/// up to two pixels smaller (never below `min_px`), else wrapped onto more lines at `px`,
/// else at smaller sizes down to `min_px`; at `min_px` it takes as many lines as it needs.
pub fn block(text: &str, max_px: u32, max_lines: usize, px: f64, min_px: f64) -> Block {
    let sizes = || {
        let mut s = px;
        std::iter::from_fn(move || {
            let out = (s >= min_px).then_some(s);
            s -= 1.0;
            out
        })
    };
    for lines in 1..=max_lines.max(1) {
        let slack = if lines == 1 { 2.0 } else { px - min_px };
        for size in sizes().take_while(|&s| s >= px - slack) {
            let wrapped = wrap(text, max_px, size);
            if wrapped.len() <= lines {
                return Block { lines: wrapped, px: size };
            }
        }
    }
    Block { lines: wrap(text, max_px, min_px), px: min_px }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_breaks_a_number_at_its_thousands_separator() {
        assert_eq!(pieces("p99: 2,281 ms"), ["p99: ", "2,281 ", "ms"]);
        assert_eq!(pieces("a,b"), ["a,", "b"]);
    }

    #[test]
    fn wraps_at_break_points_and_keeps_everything() {
        assert_eq!(pieces("a b(c=1, d=2)"), ["a ", "b", "(c=1,", " ", "d=2)"]);
        let label = "weighted-least-connections(variant=\"ipvs\")  p99 141 ms";
        let lines = wrap(label, width("weighted-least-connections", 16.0) + 2, 16.0);
        assert_eq!(lines, ["weighted-least-connections", "(variant=\"ipvs\")  p99 141 ms"]);
        // A word wider than the line is broken between characters, nothing lost.
        let lines = wrap("abcdefghijklmnopqrstuvwxyz", width("abcdefgh", 16.0), 16.0);
        assert!(lines.len() >= 3 && lines.concat() == "abcdefghijklmnopqrstuvwxyz", "{lines:?}");
        assert!(lines.iter().all(|l| width(l, 16.0) <= width("abcdefgh", 16.0)));
        assert_eq!(wrap("", 100, 16.0), [""]);
    }

    #[test]
    fn blocks_shrink_a_little_then_wrap() {
        let text = "least-connections · mean 1.06 · max 9";
        let w = width(text, 16.0);
        assert_eq!(block(text, w, 2, 16.0, 12.0), Block { lines: vec![text.into()], px: 16.0 });
        let b = block(text, w - 10, 2, 16.0, 12.0);
        assert_eq!((b.lines.len(), b.px), (1, 15.0));
        let b = block(text, w / 2 + 20, 2, 16.0, 12.0);
        assert_eq!(b.lines.len(), 2);
        assert!(b.width() <= w / 2 + 20);
    }
}
