//! Number formatting shared by the exporters (fixed precision: stable, diffable output), and
//! the wrapping of terminal lines.

/// Width, in characters, the terminal tables and their notes fit.
pub const TABLE_WIDTH: usize = 120;

/// Seconds as milliseconds with 4 decimals (0.1 µs resolution); empty for NaN.
pub fn ms(secs: f64) -> String {
    if secs.is_finite() { format!("{:.4}", secs * 1e3) } else { String::new() }
}

/// A number with `digits` decimals; empty for NaN.
pub fn fixed(x: f64, digits: usize) -> String {
    if x.is_finite() { format!("{x:.digits$}") } else { String::new() }
}

/// An optional confidence half-width, in ms; empty when absent.
pub fn ci_ms(ci: Option<f64>) -> String {
    ci.map(ms).unwrap_or_default()
}

/// The width of `text` in characters: its longest line.
pub fn width(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// `label: text` (a warning or a note) wrapped to the terminal table's width, the lines
/// after the first indented under the text.
pub fn labelled(label: &str, text: &str) -> String {
    hanging(&format!("{label}: "), text, label.chars().count() + 2)
}

/// A line of `text` as the terminal shows it: wrapped to the table's width, its leading
/// spaces kept and its continuation lines indented two more.
pub fn terminal_line(text: &str) -> String {
    let body = text.trim_start_matches(' ');
    let lead = text.len() - body.len();
    hanging(&" ".repeat(lead), body, lead + 2)
}

/// `text` wrapped to the terminal table's width (see [`wrap`]).
pub fn to_width(text: &str) -> String {
    wrap(text, TABLE_WIDTH)
}

/// `first` then `text`, wrapped to the terminal table's width, the lines after the first
/// indented by `indent` spaces (`first` is expected to be `indent` characters wide).
pub fn hanging(first: &str, text: &str, indent: usize) -> String {
    let body = wrap(text, TABLE_WIDTH - indent);
    let mut out = String::new();
    for (i, line) in body.lines().enumerate() {
        if i == 0 {
            out.push_str(first);
        } else {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `text` wrapped at spaces to lines of at most `width` characters (a longer word stays
/// whole on its own line), each line ending with a newline.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}
