//! The points of a chart that joins each strategy's values with a line (plan.png,
//! sweep_p99.png, sweep_mean.png): markers that never hide one another, and values beyond
//! the axis drawn as an arrow at its edge with the value written, never a marker or a
//! whisker pinned to the edge as if the value were there.
//!
//! Markers stay at their data's position (a server count is an integer: no dodge). Where
//! markers would mostly cover one another, one drawn earlier is drawn larger than every
//! later one over it, so each shows at least a rim ([`draw_apart`]).

use plotters::element::{PathElement, Polygon};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, RGBColor, WHITE};

use super::marks::{Marker, draw_marker};
use super::{Area, DrawResult, inspect, text};

/// A marker to draw.
#[derive(Debug, Clone)]
pub struct Point {
    /// Whose (the strategy's label).
    pub owner: String,
    /// Centre, pixels of the area drawn on.
    pub at: (i32, i32),
    /// Shape.
    pub marker: Marker,
    /// Colour.
    pub colour: RGBColor,
    /// Filled (else hollow: beyond capacity).
    pub filled: bool,
}

/// How much larger a marker is than each later one drawn over it, px.
const STEP: i32 = 2;

/// The radius of each of `points` drawn in order at `r` px: `r`, or 2 px more than the
/// largest later marker that would mostly cover it (centres closer than `r` px; one farther
/// off leaves a crescent at least `r` wide).
pub fn radii(points: &[Point], r: i32) -> Vec<i32> {
    let n = points.len();
    let mut out = vec![r; n];
    for i in (0..n).rev() {
        let (xi, yi) = points[i].at;
        for j in i + 1..n {
            let (xj, yj) = points[j].at;
            let d2 = (xi - xj).pow(2) + (yi - yj).pow(2);
            if d2 < r * r {
                out[i] = out[i].max(out[j] + STEP);
            }
        }
    }
    out
}

/// Draws `points` on `area` at `r` px (see [`radii`]), recording each for tests
/// ([`inspect::marker`]).
pub fn draw_apart(area: &Area<'_>, points: &[Point], r: i32) -> DrawResult {
    let (bx, by) = area.get_base_pixel();
    for (p, radius) in points.iter().zip(radii(points, r)) {
        draw_marker(area, p.at, p.marker, radius, p.colour, p.filled)?;
        inspect::marker(&p.owner, (p.at.0 + bx, p.at.1 + by), radius);
    }
    Ok(())
}

/// Height of one arrow's slot at an axis edge, px.
pub const SLOT_PX: i32 = 16;

/// A value above the axis: an arrow pointing up at `x` px, in slot `slot` below the axis'
/// top `top` px (several values at one x stack downward), hollow when `filled` is false,
/// with `label` (the value) right of it in `colour`.
pub fn draw_above(
    area: &Area<'_>,
    (x, top): (i32, i32),
    slot: usize,
    colour: RGBColor,
    filled: bool,
    label: &str,
) -> DrawResult {
    let y = top + 3 + slot as i32 * SLOT_PX;
    let tip = vec![(x, y), (x + 6, y + 11), (x - 6, y + 11)];
    let fill = if filled { colour } else { WHITE };
    area.draw(&Polygon::new(tip.clone(), fill.filled()))?;
    let mut outline = tip;
    outline.push((x, y));
    area.draw(&PathElement::new(outline, colour.stroke_width(2)))?;
    let style = text(12.0, &colour).pos(Pos::new(HPos::Left, VPos::Center));
    area.draw_text(label, &style, (x + 9, y + 6))?;
    Ok(())
}
