//! The drawing backend of every chart: plotters' in-memory bitmap, with text laid out by
//! `ab_glyph` directly.
//!
//! plotters 0.3.7's own ab_glyph text path drops each glyph's left side bearing and rounds
//! every advance down, so "108" prints as "1 08" and words look letter-spaced. [`Canvas`]
//! forwards every drawing call to [`BitMapBackend`] except text, which it lays out at
//! sub-pixel positions (advances and kerning in `f32`, each glyph drawn at its true bounds)
//! with the embedded Noto Sans. Anchors and the 90° rotations plotters uses for vertical
//! axis titles behave as in plotters.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind, FontTransform,
};

/// The chart font.
fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(ttf_noto_sans::REGULAR).expect("the embedded Noto Sans parses"))
}

/// A glyph placed on the line: its id and pen position (x from the line start, baseline y).
struct Placed {
    id: ab_glyph::GlyphId,
    x: f32,
}

/// Lays out `text` at `size` px: glyph positions, total advance, ascent and descent.
fn layout(text: &str, size: f32) -> (Vec<Placed>, f32, f32, f32) {
    let f = font().as_scaled(PxScale::from(size));
    let mut x = 0f32;
    let mut prev = None;
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            x += f.kern(p, id);
        }
        out.push(Placed { id, x });
        x += f.h_advance(id);
        prev = Some(id);
    }
    (out, x, f.ascent(), f.descent())
}

/// Width and height (ascent − descent) of `text` at `size` px.
pub fn text_size(text: &str, size: f64) -> (u32, u32) {
    let (_, w, a, d) = layout(text, size as f32);
    (w.ceil() as u32, (a - d).ceil() as u32)
}

/// plotters' bitmap backend with correct text.
pub struct Canvas<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> Canvas<'a> {
    /// A canvas over an RGB8 buffer of `size` pixels.
    pub fn with_buffer(buf: &'a mut [u8], size: (u32, u32)) -> Self {
        Canvas { inner: BitMapBackend::with_buffer(buf, size) }
    }
}

impl std::fmt::Debug for Canvas<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canvas").field("size", &self.inner.get_size()).finish_non_exhaustive()
    }
}

type Err<'a> = DrawingErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>;

impl<'a> DrawingBackend for Canvas<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Err<'a>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Err<'a>> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Err<'a>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> Result<(), Err<'a>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Err<'a>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), Err<'a>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), Err<'a>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), Err<'a>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Result<(), Err<'a>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<T: BackendTextStyle>(&self, text: &str, style: &T) -> Result<(u32, u32), Err<'a>> {
        Ok(text_size(text, style.size()))
    }

    fn draw_text<T: BackendTextStyle>(&mut self, text: &str, style: &T, pos: BackendCoord) -> Result<(), Err<'a>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let size = style.size() as f32;
        let (glyphs, width, ascent, descent) = layout(text, size);
        let height = ascent - descent;
        // Offset of the text box's top-left corner from the anchor, before rotation.
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Right => -width,
            HPos::Center => -width / 2.0,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let trans: FontTransform = style.transform();
        let (ax, ay) = trans.transform(dx.floor() as i32, dy.floor() as i32);
        let (bx, by) = trans.transform((dx + width).ceil() as i32, (dy + height).ceil() as i32);
        super::inspect::text(
            text,
            f64::from(size),
            (pos.0 + ax.min(bx), pos.1 + ay.min(by), pos.0 + ax.max(bx), pos.1 + ay.max(by)),
        );
        let scaled = font().as_scaled(PxScale::from(size));
        let (w, h) = self.get_size();
        let mut failed = None;
        for g in glyphs {
            let glyph = g.id.with_scale_and_position(PxScale::from(size), point(dx + g.x, dy + ascent));
            let Some(outline) = scaled.outline_glyph(glyph) else { continue };
            let b = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                if failed.is_some() || coverage <= 0.0 {
                    return;
                }
                let (rx, ry) = trans.transform(b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                let (x, y) = (pos.0 + rx, pos.1 + ry);
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    let c = BackendColor { alpha: color.alpha * f64::from(coverage.min(1.0)), rgb: color.rgb };
                    if let Err(e) = self.inner.draw_pixel((x, y), c) {
                        failed = Some(e);
                    }
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(())
    }
}
