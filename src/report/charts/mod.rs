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

/// Largest legend width, px; longer labels are shortened with "…".
pub const LEGEND_MAX_WIDTH: u32 = 330;
const SWATCH_W: i32 = 26;
const ROW_H: i32 = 24;

/// Shortens `label` with "…" until it fits in `max_px` at the legend size.
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

/// The width a legend needs (title and entries), capped at [`LEGEND_MAX_WIDTH`].
pub fn legend_width(area: &Area<'_>, title: &str, entries: &[LegendEntry]) -> DrawResult<u32> {
    let style = text(LEGEND_PX, &INK);
    let mut w = area.estimate_text_size(title, &style)?.0;
    for e in entries {
        w = w.max(area.estimate_text_size(&e.label, &style)?.0 + SWATCH_W as u32 + 10);
    }
    Ok((w + 16).min(LEGEND_MAX_WIDTH))
}

/// Splits `area` into a plot (left) and a legend column (right) wide enough for `entries`.
pub fn with_legend<'a>(area: &Area<'a>, title: &str, entries: &[LegendEntry]) -> DrawResult<(Area<'a>, Area<'a>)> {
    let w = legend_width(area, title, entries)?;
    let (plot, legend) = area.split_horizontally(area.dim_in_pixel().0 - w);
    draw_legend(&legend, title, entries)?;
    Ok((plot, legend))
}

/// Draws a legend column: a title, then one swatch and label per entry, from the top.
pub fn draw_legend(area: &Area<'_>, title: &str, entries: &[LegendEntry]) -> DrawResult {
    let width = area.dim_in_pixel().0;
    let x0 = 12;
    let mut y = 8;
    if !title.is_empty() {
        area.draw_text(title, &text(LEGEND_PX, &MUTED), (x0, y))?;
        y += ROW_H + 2;
    }
    let max_label = width.saturating_sub(SWATCH_W as u32 + 22);
    for e in entries {
        let mid = y + ROW_H / 2 - 2;
        draw_swatch(&area.margin(0, 0, x0 as u32, 0), e, mid)?;
        let label = fit(area, &e.label, max_label, LEGEND_PX)?;
        area.draw_text(
            &label,
            &text(LEGEND_PX, &INK).pos(Pos::new(HPos::Left, VPos::Center)),
            (x0 + SWATCH_W + 6, mid),
        )?;
        y += ROW_H;
    }
    Ok(())
}

/// Draws a one-line key (entries side by side) at the top of `area` and returns the area
/// below it.
pub fn key_row<'a>(area: &Area<'a>, entries: &[LegendEntry]) -> DrawResult<Area<'a>> {
    let mut x = 0;
    for e in entries {
        let w = canvas::text_size(&e.label, LEGEND_PX).0 as i32 + SWATCH_W + 40;
        let sub = area.margin(0, 0, x as u32, 0);
        draw_swatch(&sub, e, 12)?;
        sub.draw_text(&e.label, &text(LEGEND_PX, &INK).pos(Pos::new(HPos::Left, VPos::Center)), (SWATCH_W + 6, 12))?;
        x += w;
    }
    Ok(area.margin(30, 0, 0, 0))
}

/// Draws `e`'s swatch at x = 0 (width [`SWATCH_W`]), centred on `mid`.
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
    }
    Ok(())
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
