//! Chart plumbing shared by every PNG lbsim draws (run, sweep and plan charts).
//!
//! Every chart is drawn by plotters into an RGB buffer in memory ([`render_png`]) and
//! encoded with the `png` crate; the only font is Noto Sans, compiled into the binary
//! ([`style::ensure_fonts`]), so charts render the same on a machine without any system font
//! or fontconfig. Text is laid out by [`canvas::Canvas`]; each strategy's colour comes from
//! [`style::colours`], the same in every chart. Here too: legends, small-multiple grids,
//! axis bounds and tick labels ([`axis`]).
//!
//! Pure functions of their input: the same results give byte-identical PNGs.

pub mod axis;
pub mod canvas;
pub mod fit;
pub mod inspect;
pub mod marks;
pub mod points;
pub mod style;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{Error, Result};
use canvas::Canvas;
use style::{FONT, INK, LEGEND_PX, MUTED};

/// Width of the run charts, px.
pub const WIDTH: u32 = 1280;
/// Height of the run charts, px.
pub const HEIGHT: u32 = 800;

/// A drawing area on the in-memory bitmap.
pub type Area<'a> = DrawingArea<Canvas<'a>, Shift>;

/// What drawing code returns (plotters' errors, boxed).
pub type DrawResult<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Draws a `width` × `height` chart with `draw` onto a white canvas and returns it as PNG
/// bytes.
pub fn render_png(width: u32, height: u32, draw: impl FnOnce(&Area<'_>) -> DrawResult) -> Result<Vec<u8>> {
    style::ensure_fonts();
    inspect::size(width, height);
    let mut rgb = vec![255u8; width as usize * height as usize * 3];
    {
        let root = Canvas::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    encode_png(&rgb, width, height)
}

fn draw_error(e: impl std::fmt::Display) -> Error {
    Error::Other(format!("chart drawing failed: {e}"))
}

/// Encodes an RGB8 buffer as PNG (fast compression: charts are mostly flat colour).
pub fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let err = |e: png::EncodingError| Error::Other(format!("PNG encoding failed: {e}"));
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header().map_err(err)?;
    writer.write_image_data(rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// Text style in the chart font.
pub fn text(px: f64, colour: &RGBColor) -> TextStyle<'static> {
    (FONT, px).into_font().color(colour)
}

/// How a legend entry's swatch is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Swatch {
    /// A short thick line.
    Line,
    /// A filled square.
    Block,
    /// A dashed grey line (reference lines).
    Dashed,
    /// A translucent band with a line through it.
    Band,
    /// A strategy's line in its style, with its marker in the middle.
    Mark(marks::Mark),
    /// A hollow marker alone.
    Hollow(marks::Marker),
}

impl Swatch {
    /// Width of the swatch, px.
    fn width(self) -> i32 {
        match self {
            Swatch::Mark(_) => 38,
            _ => SWATCH_W,
        }
    }
}

/// One legend line.
#[derive(Debug, Clone)]
pub struct LegendEntry {
    /// Text.
    pub label: String,
    /// Swatch colour.
    pub colour: RGBColor,
    /// Swatch shape.
    pub swatch: Swatch,
}

impl LegendEntry {
    /// An entry.
    pub fn new(label: impl Into<String>, colour: RGBColor, swatch: Swatch) -> Self {
        LegendEntry { label: label.into(), colour, swatch }
    }
}

/// Largest legend width, px; longer labels wrap onto more lines.
pub const LEGEND_MAX_WIDTH: u32 = 330;
const SWATCH_W: i32 = 26;
/// Left padding of a legend column, px.
const LEGEND_X0: i32 = 12;
/// Space between a swatch and its text, px.
const SWATCH_GAP: i32 = 8;
/// Vertical space between two legend entries, px.
const ENTRY_GAP: i32 = 6;

/// Shortens `label` with "…" until it fits in `max_px` at the legend size. A last resort:
/// prefer [`fit::block`], which wraps instead.
pub fn fit(area: &Area<'_>, label: &str, max_px: u32, px: f64) -> DrawResult<String> {
    let style = text(px, &INK);
    if area.estimate_text_size(label, &style)?.0 <= max_px {
        return Ok(label.to_string());
    }
    let chars: Vec<char> = label.chars().collect();
    for n in (1..chars.len()).rev() {
        let s: String = chars[..n].iter().collect::<String>() + "…";
        if area.estimate_text_size(&s, &style)?.0 <= max_px {
            return Ok(s);
        }
    }
    Ok("…".to_string())
}

/// The first of `candidates` (longest first) that fits in `max_px` at `px`, else the last
/// one shortened with "…".
pub fn first_fit(area: &Area<'_>, candidates: &[String], max_px: u32, px: f64) -> DrawResult<String> {
    for c in candidates {
        if canvas::text_size(c, px).0 <= max_px {
            return Ok(c.clone());
        }
    }
    fit(area, candidates.last().map_or("", |c| c.as_str()), max_px, px)
}

/// Reserves a strip on the left of `area` for one y-axis title shared by every panel of a
/// small-multiples chart, draws it (rotated, centred) and returns the rest.
pub fn shared_y_title<'a>(area: &Area<'a>, title: &str) -> DrawResult<Area<'a>> {
    let (strip, rest) = area.split_horizontally(30);
    let (_, h) = strip.dim_in_pixel();
    strip.draw_text(
        title,
        &text(style::AXIS_PX, &INK).transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Top)),
        (2, h as i32 / 2),
    )?;
    Ok(rest)
}

/// A legend laid out for a column: its size, title and entries wrapped to fit.
#[derive(Debug, Clone)]
struct LegendLayout {
    px: f64,
    width: u32,
    title: Vec<String>,
    entries: Vec<Vec<String>>,
}

impl LegendLayout {
    fn line_h(&self) -> i32 {
        (self.px * 1.3).round() as i32
    }

    fn height(&self) -> i32 {
        let line = self.line_h();
        let title = if self.title.is_empty() { 0 } else { self.title.len() as i32 * line + ENTRY_GAP };
        8 + title + self.entries.iter().map(|e| e.len() as i32 * line + ENTRY_GAP).sum::<i32>()
    }
}

/// Lays out a legend at most `max_w` wide and `max_h` tall: as narrow as its longest line
/// needs, labels wrapped beyond that, and the font made smaller (down to 12 px) while it is
/// too tall.
fn legend_layout(title: &str, entries: &[LegendEntry], max_w: u32, max_h: i32) -> LegendLayout {
    let mut px = LEGEND_PX;
    loop {
        let need = |e: &LegendEntry| fit::width(&e.label, px) as i32 + LEGEND_X0 + e.swatch.width() + SWATCH_GAP + 6;
        let natural = entries.iter().map(need).max().unwrap_or(0).max(fit::width(title, px) as i32 + LEGEND_X0 + 6);
        let width = (natural.max(0) as u32).min(max_w);
        let title_lines =
            if title.is_empty() { Vec::new() } else { fit::wrap(title, width - LEGEND_X0 as u32 - 6, px) };
        let wrapped = entries
            .iter()
            .map(|e| {
                let room = width as i32 - LEGEND_X0 - e.swatch.width() - SWATCH_GAP - 6;
                fit::wrap(&e.label, room.max(20) as u32, px)
            })
            .collect();
        let layout = LegendLayout { px, width, title: title_lines, entries: wrapped };
        if layout.height() <= max_h || px <= 12.0 {
            return layout;
        }
        px -= 1.0;
    }
}

/// The width a legend needs (title and entries), at most [`LEGEND_MAX_WIDTH`].
pub fn legend_width(area: &Area<'_>, title: &str, entries: &[LegendEntry]) -> DrawResult<u32> {
    Ok(legend_layout(title, entries, LEGEND_MAX_WIDTH, area.dim_in_pixel().1 as i32).width)
}

/// Splits `area` into a plot (left) and a legend column (right) wide enough for `entries`.
pub fn with_legend<'a>(area: &Area<'a>, title: &str, entries: &[LegendEntry]) -> DrawResult<(Area<'a>, Area<'a>)> {
    let layout = legend_layout(title, entries, LEGEND_MAX_WIDTH, area.dim_in_pixel().1 as i32);
    let (plot, legend) = area.split_horizontally(area.dim_in_pixel().0 - layout.width);
    draw_layout(&legend, &layout, entries)?;
    Ok((plot, legend))
}

/// Draws a legend column: a title, then one swatch and label per entry, from the top;
/// labels wrap to the column's width.
pub fn draw_legend(area: &Area<'_>, title: &str, entries: &[LegendEntry]) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let layout = legend_layout(title, entries, w, h as i32);
    draw_layout(area, &layout, entries)
}

fn draw_layout(area: &Area<'_>, layout: &LegendLayout, entries: &[LegendEntry]) -> DrawResult {
    let line = layout.line_h();
    let mut y = 8;
    for t in &layout.title {
        area.draw_text(t, &text(layout.px, &MUTED), (LEGEND_X0, y))?;
        y += line;
    }
    if !layout.title.is_empty() {
        y += ENTRY_GAP;
    }
    for (e, lines) in entries.iter().zip(&layout.entries) {
        let mid = y + line / 2;
        draw_swatch(&area.margin(0, 0, LEGEND_X0 as u32, 0), e, mid)?;
        let x = LEGEND_X0 + e.swatch.width() + SWATCH_GAP;
        for (k, l) in lines.iter().enumerate() {
            let style = text(layout.px, &INK).pos(Pos::new(HPos::Left, VPos::Center));
            area.draw_text(l, &style, (x, mid + k as i32 * line))?;
        }
        y += lines.len() as i32 * line + ENTRY_GAP;
    }
    Ok(())
}

/// Draws a key (entries side by side, onto more rows when they do not fit the width) at the
/// top of `area` and returns the area below it.
pub fn key_row<'a>(area: &Area<'a>, entries: &[LegendEntry]) -> DrawResult<Area<'a>> {
    let (width, _) = area.dim_in_pixel();
    let row_h = 26;
    let (mut x, mut y) = (0, 12);
    for e in entries {
        let room = width as i32 - e.swatch.width() - SWATCH_GAP;
        let block = fit::block(&e.label, room.max(40) as u32, 2, LEGEND_PX, 13.0);
        let w = block.width() as i32 + e.swatch.width() + SWATCH_GAP + 32;
        if x > 0 && x + w - 32 > width as i32 {
            x = 0;
            y += row_h;
        }
        let sub = area.margin(0, 0, x as u32, 0);
        draw_swatch(&sub, e, y)?;
        let line = (block.px * 1.3).round() as i32;
        for (k, l) in block.lines.iter().enumerate() {
            let style = text(block.px, &INK).pos(Pos::new(HPos::Left, VPos::Center));
            sub.draw_text(l, &style, (e.swatch.width() + SWATCH_GAP, y + k as i32 * line))?;
        }
        y += (block.lines.len() as i32 - 1) * line;
        x += w;
    }
    Ok(area.margin((y + 18) as u32, 0, 0, 0))
}

/// Draws `e`'s swatch at x = 0 (width [`Swatch::width`]), centred on `mid`.
fn draw_swatch(area: &Area<'_>, e: &LegendEntry, mid: i32) -> DrawResult {
    let (x0, c) = (0, e.colour);
    match e.swatch {
        Swatch::Line => {
            area.draw(&PathElement::new(vec![(x0, mid), (x0 + SWATCH_W - 4, mid)], c.stroke_width(3)))?;
        }
        Swatch::Block => {
            area.draw(&Rectangle::new([(x0 + 4, mid - 7), (x0 + 18, mid + 7)], c.filled()))?;
        }
        Swatch::Dashed => {
            for k in 0..3 {
                let a = x0 + k * 9;
                area.draw(&PathElement::new(vec![(a, mid), (a + 5, mid)], c.stroke_width(2)))?;
            }
        }
        Swatch::Band => {
            area.draw(&Rectangle::new([(x0, mid - 7), (x0 + SWATCH_W - 4, mid + 7)], c.mix(0.25).filled()))?;
            area.draw(&PathElement::new(vec![(x0, mid), (x0 + SWATCH_W - 4, mid)], c.stroke_width(2)))?;
        }
        Swatch::Mark(m) => {
            let w = e.swatch.width() - 2;
            marks::draw_line(area, &[(x0, mid), (x0 + w, mid)], c, 3, m.dash)?;
            marks::draw_marker(area, (x0 + w / 2, mid), m.marker, 5, c, true)?;
        }
        Swatch::Hollow(marker) => {
            marks::draw_marker(area, (x0 + SWATCH_W / 2, mid), marker, 5, c, false)?;
        }
    }
    Ok(())
}

/// Small multiples: one panel per strategy on a [`grid`], with the text sizes every such
/// chart uses (smaller beyond two rows).
#[derive(Debug, Clone, Copy)]
pub struct Multiples {
    /// Rows of panels.
    pub rows: usize,
    /// Columns of panels.
    pub cols: usize,
}

impl Multiples {
    /// The grid of `n` panels.
    pub fn of(n: usize) -> Multiples {
        let (rows, cols) = grid(n);
        Multiples { rows, cols }
    }

    /// Whether the panels are small (more than two rows).
    pub fn small(&self) -> bool {
        self.rows > 2
    }

    /// Tick label size, px.
    pub fn tick_px(&self) -> f64 {
        if self.small() { style::TICK_PX - 2.0 } else { style::TICK_PX }
    }

    /// Axis title size, px.
    pub fn axis_px(&self) -> f64 {
        if self.small() { style::AXIS_PX - 3.0 } else { style::AXIS_PX }
    }

    /// Whether panel `i` is in the bottom row (the one that carries the x-axis title).
    pub fn last_row(&self, i: usize) -> bool {
        i / self.cols == self.rows - 1
    }

    /// Whether panel `i` is in the first column (the one that carries the y-axis title).
    pub fn first_col(&self, i: usize) -> bool {
        i.is_multiple_of(self.cols)
    }
}

/// Draws `title` centred at the bottom of the top `height` px of `panel` (lines 1.25 × its
/// size apart, 4 px above the plot) in `colour`, and returns the area below.
pub fn titled<'a>(panel: &Area<'a>, title: &fit::Block, height: i32, colour: &RGBColor) -> DrawResult<Area<'a>> {
    let (pw, _) = panel.dim_in_pixel();
    let top = height - 4 - title.height(1.25);
    for (k, line) in title.lines.iter().enumerate() {
        let style = text(title.px, colour).pos(Pos::new(HPos::Center, VPos::Top));
        panel.draw_text(line, &style, (pw as i32 / 2, top + k as i32 * (title.px * 1.25).round() as i32))?;
    }
    Ok(panel.margin(height as u32, 0, 0, 0))
}

/// Rows × columns for `n` small multiples on a landscape canvas.
pub fn grid(n: usize) -> (usize, usize) {
    match n {
        0 | 1 => (1, 1),
        2 => (1, 2),
        3 => (1, 3),
        4 => (2, 2),
        5 | 6 => (2, 3),
        7 | 8 => (2, 4),
        9 => (3, 3),
        10..=12 => (3, 4),
        13..=15 => (3, 5),
        16..=20 => (4, 5),
        _ => {
            let cols = (n as f64 * 1.6).sqrt().ceil() as usize;
            (n.div_ceil(cols), cols)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_hold_every_panel() {
        for n in 1..200 {
            let (r, c) = grid(n);
            assert!(r * c >= n, "{n}: {r}×{c}");
            assert!(c >= r, "landscape: {n}: {r}×{c}");
        }
    }
}
