//! Shared chart plumbing: the embedded font, the strategy palette, PNG encoding.
//!
//! Charts are drawn with plotters into an RGB buffer and encoded with the `png` crate. The
//! font (Noto Sans, from `ttf-noto-sans`) is compiled in and registered once as
//! "sans-serif", so rendering needs no system fonts and is byte-identical everywhere. The
//! drawing backend and strategy colours are those of the run charts ([`super::charts`]):
//! text laid out by [`Canvas`], colours derived from strategy labels.

use plotters::prelude::*;

pub use super::charts::Area;
use super::charts::canvas::Canvas;

use crate::{Error, Result};

/// The colour of each of `labels`' strategies: derived from the label, the same as in the
/// charts of `lbsim run` (see [`super::charts::style`]), never from the list position.
pub fn colours<S: AsRef<str>>(labels: &[S]) -> Vec<RGBColor> {
    let refs: Vec<&str> = labels.iter().map(AsRef::as_ref).collect();
    super::charts::style::colours(&refs)
}

/// The chart font family.
pub const FONT: &str = "sans-serif";

/// Registers the embedded font (once per process).
pub fn register_fonts() {
    super::charts::style::ensure_fonts();
}

/// Errors of a drawing function.
pub type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Draws a `width` × `height` chart with `draw` and returns it as PNG bytes.
pub fn render_png(width: u32, height: u32, draw: impl FnOnce(&Area<'_>) -> DrawResult) -> Result<Vec<u8>> {
    register_fonts();
    let err = |e: &dyn std::fmt::Display| Error::Other(format!("cannot draw chart: {e}"));
    let mut buf = vec![0u8; width as usize * height as usize * 3];
    {
        let root = Canvas::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        draw(&root).map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header().map_err(|e| err(&e))?;
        w.write_image_data(&buf).map_err(|e| err(&e))?;
    }
    Ok(out)
}

/// A readable axis label for a number: no trailing zeros, thousands without decimals.
pub fn tick(x: f64) -> String {
    if x.abs() >= 1000.0 || x == x.round() {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A "nice" upper bound for an axis: the first of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k
/// at or above `x`.
pub fn nice_ceil(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&v| v >= x * (1.0 - 1e-12))
        .unwrap_or(10.0 * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_png() {
        let png = render_png(200, 100, |root| {
            root.draw(&Text::new("lbsim", (10, 10), (FONT, 20)))?;
            Ok(())
        })
        .unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(nice_ceil(0.37), 0.4);
        assert_eq!(nice_ceil(542.0), 600.0);
        assert_eq!(tick(2.50), "2.5");
        assert_eq!(tick(1500.0), "1500");
    }
}
