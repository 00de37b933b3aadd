//! The second channel: a line style and a marker shape per strategy, so that strategies of
//! one run stay distinguishable where their colours are close (hash and ring-hash, two
//! variants of one strategy) and for readers who do not see the difference.
//!
//! A strategy's colour is fixed by its name ([`super::style`]); its [`Mark`] is chosen per
//! run ([`marks`]): in the run's order, each strategy takes the first (dash, marker) pair
//! no earlier strategy has, and whose dash and marker both differ from those of every
//! earlier strategy of a similar colour (CIE76 ΔE below [`SIMILAR`]). Up to 24 strategies
//! therefore get 24 distinct pairs; beyond that pairs repeat and the labels tell them apart.

use plotters::element::{Circle, PathElement, Polygon};
use plotters::style::{Color, RGBColor, WHITE};

use super::{Area, DrawResult};

/// A line style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dash {
    /// Continuous.
    Solid,
    /// 12 px dashes, 7 px gaps.
    Dashed,
    /// 3 px dots, 5 px gaps.
    Dotted,
    /// A dash, a dot.
    DashDot,
}

/// A marker shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// ●
    Circle,
    /// ■
    Square,
    /// ▲
    Triangle,
    /// ◆
    Diamond,
    /// ▼
    InvertedTriangle,
    /// ✚ (a thick plus)
    Plus,
}

/// A strategy's line style and marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Line style.
    pub dash: Dash,
    /// Marker shape.
    pub marker: Marker,
}

const DASHES: [Dash; 4] = [Dash::Solid, Dash::Dashed, Dash::Dotted, Dash::DashDot];
const MARKERS: [Marker; 6] =
    [Marker::Circle, Marker::Square, Marker::Triangle, Marker::Diamond, Marker::InvertedTriangle, Marker::Plus];

/// Colours closer than this (CIE76 ΔE) count as similar.
pub const SIMILAR: f64 = 40.0;

/// The 24 (dash, marker) pairs in the order they are handed out: the first twelve pair
/// dash k mod 4 with marker k mod 6 (so neighbours differ in both), the next twelve the
/// pairs of the other parity.
fn pair(k: usize) -> Mark {
    let k = k % 24;
    let m = if k < 12 { k % 6 } else { (k + 1) % 6 };
    Mark { dash: DASHES[k % 4], marker: MARKERS[m] }
}

/// sRGB → CIE L*a*b* (D65).
fn lab(c: RGBColor) -> [f64; 3] {
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
    };
    let (r, g, b) = (lin(c.0), lin(c.1), lin(c.2));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| if t > 0.008856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// CIE76 colour difference.
pub fn delta_e(a: RGBColor, b: RGBColor) -> f64 {
    let (a, b) = (lab(a), lab(b));
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// The marks of one run's strategies, aligned with their `colours` (see the module doc).
pub fn marks(colours: &[RGBColor]) -> Vec<Mark> {
    let mut out: Vec<Mark> = Vec::with_capacity(colours.len());
    for (i, &c) in colours.iter().enumerate() {
        let similar: Vec<Mark> = (0..i).filter(|&j| delta_e(colours[j], c) < SIMILAR).map(|j| out[j]).collect();
        let used = |m: &Mark| out.contains(m);
        let apart = |m: &Mark| similar.iter().all(|s| s.dash != m.dash && s.marker != m.marker);
        let apart_some = |m: &Mark| similar.iter().all(|s| s.dash != m.dash || s.marker != m.marker);
        let chosen = (0..24)
            .map(pair)
            .find(|m| !used(m) && apart(m))
            .or_else(|| (0..24).map(pair).find(|m| !used(m) && apart_some(m)))
            .unwrap_or_else(|| pair(i));
        out.push(chosen);
    }
    out
}

/// The on/off lengths of a dash pattern, px (empty: solid).
fn pattern(dash: Dash) -> &'static [f64] {
    match dash {
        Dash::Solid => &[],
        Dash::Dashed => &[12.0, 7.0],
        Dash::Dotted => &[3.0, 5.0],
        Dash::DashDot => &[12.0, 5.0, 3.0, 5.0],
    }
}

/// The visible pieces of the polyline `points` (pixels) in `dash`'s pattern, which runs on
/// continuously along the line.
pub fn dash_pieces(points: &[(i32, i32)], dash: Dash) -> Vec<Vec<(i32, i32)>> {
    let pat = pattern(dash);
    if pat.is_empty() || points.len() < 2 {
        return vec![points.to_vec()];
    }
    let mut out = Vec::new();
    let mut k = 0; // index in the pattern (even: on)
    let mut left = pat[0];
    let mut piece = vec![points[0]];
    for w in points.windows(2) {
        let (a, b) = ((f64::from(w[0].0), f64::from(w[0].1)), (f64::from(w[1].0), f64::from(w[1].1)));
        let len = (b.0 - a.0).hypot(b.1 - a.1);
        let mut at = 0.0;
        while len - at > left {
            at += left;
            let t = at / len;
            let p = ((a.0 + (b.0 - a.0) * t).round() as i32, (a.1 + (b.1 - a.1) * t).round() as i32);
            if k % 2 == 0 {
                piece.push(p);
                out.push(std::mem::take(&mut piece));
            } else {
                piece = vec![p];
            }
            k = (k + 1) % pat.len();
            left = pat[k];
        }
        left -= len - at;
        if k % 2 == 0 {
            piece.push(w[1]);
        }
    }
    if k % 2 == 0 && piece.len() > 1 {
        out.push(piece);
    }
    out
}

/// Draws the polyline `points` (pixels of `area`) in `colour`, `width` px wide, dashed.
pub fn draw_line(area: &Area<'_>, points: &[(i32, i32)], colour: RGBColor, width: u32, dash: Dash) -> DrawResult {
    for piece in dash_pieces(points, dash) {
        area.draw(&PathElement::new(piece, colour.stroke_width(width)))?;
    }
    Ok(())
}

/// Draws `marker` centred on `at` (pixels of `area`), `r` px from centre to edge: filled in
/// `colour` with a white rim, or hollow (a `colour` outline on white).
pub fn draw_marker(
    area: &Area<'_>,
    at: (i32, i32),
    marker: Marker,
    r: i32,
    colour: RGBColor,
    filled: bool,
) -> DrawResult {
    let (x, y) = at;
    let outline = |pts: Vec<(i32, i32)>| -> DrawResult {
        let fill = if filled { colour } else { WHITE };
        area.draw(&Polygon::new(pts.clone(), fill.filled()))?;
        let mut closed = pts;
        closed.push(closed[0]);
        let rim = if filled { WHITE.stroke_width(1) } else { colour.stroke_width(2) };
        area.draw(&PathElement::new(closed, rim))?;
        Ok(())
    };
    let rf = f64::from(r);
    let tri = |dir: f64| {
        // Equilateral, same area as the circle roughly: circumradius 1.3 r.
        let c = 1.3 * rf;
        (0..3)
            .map(|k| {
                let a = std::f64::consts::FRAC_PI_2 * dir + k as f64 * 2.0 * std::f64::consts::PI / 3.0;
                ((f64::from(x) + c * a.cos()).round() as i32, (f64::from(y) - c * a.sin()).round() as i32)
            })
            .collect::<Vec<_>>()
    };
    match marker {
        Marker::Circle => {
            let fill = if filled { colour } else { WHITE };
            area.draw(&Circle::new(at, r, fill.filled()))?;
            let rim = if filled { WHITE.stroke_width(1) } else { colour.stroke_width(2) };
            area.draw(&Circle::new(at, r, rim))?;
        }
        Marker::Square => {
            let s = (0.9 * rf).round() as i32;
            outline(vec![(x - s, y - s), (x + s, y - s), (x + s, y + s), (x - s, y + s)])?;
        }
        Marker::Diamond => {
            let s = (1.25 * rf).round() as i32;
            outline(vec![(x, y - s), (x + s, y), (x, y + s), (x - s, y)])?;
        }
        Marker::Triangle => outline(tri(1.0))?,
        Marker::InvertedTriangle => outline(tri(-1.0))?,
        Marker::Plus => {
            let (s, t) = ((1.15 * rf).round() as i32, (0.4 * rf).round().max(1.0) as i32);
            outline(vec![
                (x - t, y - s),
                (x + t, y - s),
                (x + t, y - t),
                (x + s, y - t),
                (x + s, y + t),
                (x + t, y + t),
                (x + t, y + s),
                (x - t, y + s),
                (x - t, y + t),
                (x - s, y + t),
                (x - s, y - t),
                (x - t, y - t),
            ])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::style::colours;

    #[test]
    fn pairs_are_distinct() {
        let all: Vec<Mark> = (0..24).map(pair).collect();
        for (i, a) in all.iter().enumerate() {
            assert!(!all[..i].contains(a), "{i}: {a:?}");
        }
        for k in 0..11 {
            assert!(pair(k).dash != pair(k + 1).dash && pair(k).marker != pair(k + 1).marker);
        }
    }

    #[test]
    fn similar_colours_differ_in_both_dash_and_marker() {
        let labels = ["hash", "ring-hash", "bounded-load-hash", "bounded-load-hash(balance_factor=150)", "maglev"];
        let c = colours(&labels);
        let m = marks(&c);
        for i in 0..labels.len() {
            for j in 0..i {
                assert_ne!(m[i], m[j], "{} and {}", labels[i], labels[j]);
                if delta_e(c[i], c[j]) < SIMILAR {
                    assert!(m[i].dash != m[j].dash && m[i].marker != m[j].marker, "{} / {}", labels[i], labels[j]);
                }
            }
        }
        assert!(delta_e(RGBColor(0, 0, 0), RGBColor(255, 255, 255)) > 99.0);
    }

    #[test]
    fn dashes_follow_the_pattern_across_points() {
        let pieces = dash_pieces(&[(0, 0), (10, 0), (40, 0)], Dash::Dashed);
        // 12 on, 7 off, 12 on, 7 off: [0,12], [19,31], [38,40].
        assert_eq!(pieces, vec![vec![(0, 0), (10, 0), (12, 0)], vec![(19, 0), (31, 0)], vec![(38, 0), (40, 0)]]);
        assert_eq!(dash_pieces(&[(0, 0), (5, 5)], Dash::Solid), vec![vec![(0, 0), (5, 5)]]);
    }
}
