//! Shared look of the charts: the strategy colours, fonts and number formats.
//!
//! # Colours
//!
//! A strategy's colour depends on its label, never on its position in the scenario's list,
//! so the same strategy has the same colour in every chart of every run:
//!
//! 1. Every name in the strategy registry has a fixed colour: the slot among the first ten
//!    (most distinct) palette colours its name hashes to (FNV-1a, stable across platforms
//!    and versions), or, if an earlier registry name already holds that slot, the next free
//!    one (registry order; past ten names, the other ten colours). A plain `round-robin` or
//!    `p2c` therefore always has the same colour, and adding a strategy to the end of the
//!    registry changes no existing one's.
//! 2. Any other label (a strategy with parameters, such as `p2c(choices=3)`) hashes to a
//!    slot too; if that slot is a registry name's colour or already taken in this run, it
//!    takes the next slot that is neither (labels handled in sorted order, so the result
//!    does not depend on the list's order). Its colour is stable unless two such labels in
//!    one run hash to the same slot.
//! 3. Two labels of one run never share a colour while the palette lasts: were two registry
//!    names to share a slot (more than [`PALETTE`]'s 30 names), the later one in registry
//!    order takes the next free one. With more strategies in one run than colours, colours
//!    repeat; labels in the legends and panel titles still tell them apart.
//! 4. Two colours of one run are never alike (issue 26: least-connections, least-work-left
//!    and peak-ewma were three purples; grpc-k8s drew two greens). The labels are placed
//!    one by one, registry names in registry order and then the others sorted; each keeps
//!    the colour of rules 1–3 unless it lies within [`MIN_DISTANCE`] (CIE76 ΔE in CIELAB)
//!    of a colour already placed, and then takes the next palette colour that is that far
//!    from all of them (or, in a run too crowded for that, the one farthest from its
//!    nearest). A strategy therefore keeps its colour in every run where nothing alike sits
//!    beside it, and the placing still does not depend on the list's order.

use std::collections::HashSet;
use std::sync::{Once, OnceLock};

use plotters::style::{FontStyle, RGBColor, register_font};

use crate::strategy::registry::REGISTRY;
use crate::workload::seeds::hash_str;

/// Thirty colours that stay visible as lines and bars on white: the Tableau 10 first (the
/// most distinct), then ten darker or more saturated tones, then ten muted ones.
pub const PALETTE: [RGBColor; 30] = [
    RGBColor(31, 119, 180),  // blue
    RGBColor(255, 127, 14),  // orange
    RGBColor(44, 160, 44),   // green
    RGBColor(214, 39, 40),   // red
    RGBColor(148, 103, 189), // purple
    RGBColor(140, 86, 75),   // brown
    RGBColor(227, 119, 194), // pink
    RGBColor(23, 190, 207),  // cyan
    RGBColor(188, 189, 34),  // olive yellow
    RGBColor(0, 0, 117),     // navy
    RGBColor(128, 0, 0),     // maroon
    RGBColor(0, 121, 107),   // teal
    RGBColor(230, 171, 2),   // gold
    RGBColor(74, 20, 140),   // deep purple
    RGBColor(194, 24, 91),   // raspberry
    RGBColor(27, 94, 32),    // dark green
    RGBColor(177, 89, 40),   // rust
    RGBColor(82, 82, 82),    // dark grey
    RGBColor(127, 188, 65),  // yellow green
    RGBColor(128, 128, 0),   // olive
    RGBColor(57, 59, 121),   // indigo
    RGBColor(82, 84, 163),   // slate blue
    RGBColor(99, 121, 57),   // moss
    RGBColor(140, 162, 82),  // sage
    RGBColor(140, 109, 49),  // bronze
    RGBColor(189, 158, 57),  // mustard
    RGBColor(132, 60, 57),   // brick
    RGBColor(173, 73, 74),   // dusty red
    RGBColor(123, 65, 115),  // plum
    RGBColor(165, 81, 148),  // orchid
];

/// Text and axes.
pub const INK: RGBColor = RGBColor(33, 33, 33);
/// Secondary text (subtitles, notes).
pub const MUTED: RGBColor = RGBColor(100, 100, 100);
/// Reference lines (means, ideals, percentile guides).
pub const GUIDE: RGBColor = RGBColor(90, 90, 90);
/// Light fills (warm-up shading, panel backgrounds).
pub const SHADE: RGBColor = RGBColor(236, 236, 236);
/// Warnings in a chart's header.
pub const ALERT: RGBColor = RGBColor(190, 20, 20);
/// Background of fault windows (a server down or slowed) in time charts.
pub const FAULT_SHADE: RGBColor = RGBColor(252, 222, 214);

/// The font family every chart uses (registered from the embedded Noto Sans).
pub const FONT: &str = "sans-serif";
/// Chart title size, px.
pub const TITLE_PX: f64 = 30.0;
/// Subtitle size, px.
pub const SUBTITLE_PX: f64 = 17.0;
/// Axis description size, px.
pub const AXIS_PX: f64 = 18.0;
/// Tick label size, px.
pub const TICK_PX: f64 = 15.0;
/// Legend and panel-title size, px.
pub const LEGEND_PX: f64 = 16.0;

/// Registers the embedded font (Noto Sans Regular, Apache-2.0, from the `ttf-noto-sans`
/// crate) as plotters' "sans-serif", once per process. No system font or fontconfig is
/// ever consulted.
pub fn ensure_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if register_font(FONT, FontStyle::Normal, ttf_noto_sans::REGULAR).is_err() {
            // The font is compiled in; it parses unless the crate itself is broken.
            unreachable!("the embedded Noto Sans font does not parse");
        }
    });
}

fn preferred_slot(label: &str) -> usize {
    (hash_str(label) % PALETTE.len() as u64) as usize
}

/// The first palette slots, the most distinct colours, go to registry names first.
const PRIMARY: usize = 10;

/// The fixed palette slot of every registry name (rule 1).
fn registry_slots() -> &'static [(&'static str, usize)] {
    static SLOTS: OnceLock<Vec<(&'static str, usize)>> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let mut taken = [false; PALETTE.len()];
        let mut out = Vec::new();
        for s in REGISTRY {
            let h = hash_str(s.name) as usize;
            // The primary tier while it has room, then the rest of the palette.
            let (lo, hi) = if taken[..PRIMARY].iter().all(|&t| t) { (PRIMARY, PALETTE.len()) } else { (0, PRIMARY) };
            let width = hi - lo;
            let slot = (0..width)
                .map(|d| lo + (h % width + d) % width)
                .find(|&slot| !taken[slot])
                .unwrap_or_else(|| preferred_slot(s.name));
            taken[slot] = true;
            out.push((s.name, slot));
        }
        out
    })
}

/// Palette slots for the labels of one run, aligned with `labels` (see the module doc).
pub fn slots(labels: &[&str]) -> Vec<usize> {
    spread(labels, &stable_slots(labels))
}

/// Rules 1–3: each label's own slot, before rule 4 moves the ones too alike.
fn stable_slots(labels: &[&str]) -> Vec<usize> {
    let fixed = registry_slots();
    let reserved: HashSet<usize> = fixed.iter().map(|f| f.1).collect();
    let mut out: Vec<Option<usize>> = labels.iter().map(|l| fixed.iter().find(|f| f.0 == *l).map(|f| f.1)).collect();
    let mut used: HashSet<usize> = out.iter().flatten().copied().collect();
    let mut others: Vec<usize> = (0..labels.len()).filter(|&i| out[i].is_none()).collect();
    others.sort_by(|&a, &b| labels[a].cmp(labels[b]));
    for i in others {
        let start = preferred_slot(labels[i]);
        let free = |avoid_reserved: bool| {
            (0..PALETTE.len())
                .map(|d| (start + d) % PALETTE.len())
                .find(|s| !(used.contains(s) || (avoid_reserved && reserved.contains(s))))
        };
        let slot = free(true).or_else(|| free(false)).unwrap_or(start);
        used.insert(slot);
        out[i] = Some(slot);
    }
    out.into_iter().map(|s| s.expect("every label assigned")).collect()
}

/// The smallest CIE76 colour difference (ΔE in CIELAB) between two strategies of one run
/// (rule 4 of the module doc). About 2 is the smallest difference an eye sees side by side;
/// 40 keeps thin lines and small markers of two strategies apart at a glance (a green and
/// a dark green lie 36 apart, a purple and a deep purple 34).
pub const MIN_DISTANCE: f64 = 40.0;

/// A colour in CIELAB (D65 white), from sRGB.
fn lab(c: RGBColor) -> [f64; 3] {
    let linear = |u: u8| {
        let u = f64::from(u) / 255.0;
        if u > 0.040_45 { ((u + 0.055) / 1.055).powf(2.4) } else { u / 12.92 }
    };
    let (r, g, b) = (linear(c.0), linear(c.1), linear(c.2));
    let x = (0.412_4 * r + 0.357_6 * g + 0.180_5 * b) / 0.950_47;
    let y = 0.212_6 * r + 0.715_2 * g + 0.072_2 * b;
    let z = (0.019_3 * r + 0.119_2 * g + 0.950_5 * b) / 1.088_83;
    let f = |t: f64| if t > 0.008_856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    [116.0 * f(y) - 16.0, 500.0 * (f(x) - f(y)), 200.0 * (f(y) - f(z))]
}

/// The CIE76 colour difference ΔE between two colours.
pub fn distance(a: RGBColor, b: RGBColor) -> f64 {
    let (a, b) = (lab(a), lab(b));
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Rule 4: moves a label whose colour is too close to one placed before it (placing order:
/// registry names in registry order, then the other labels sorted).
fn spread(labels: &[&str], preferred: &[usize]) -> Vec<usize> {
    let rank = |l: &str| REGISTRY.iter().position(|s| s.name == l).unwrap_or(REGISTRY.len());
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| rank(labels[a]).cmp(&rank(labels[b])).then(labels[a].cmp(labels[b])));
    let mut out: Vec<Option<usize>> = vec![None; labels.len()];
    for i in order {
        let placed: Vec<usize> = out.iter().flatten().copied().collect();
        let nearest =
            |slot: usize| placed.iter().map(|&p| distance(PALETTE[slot], PALETTE[p])).fold(f64::INFINITY, f64::min);
        let start = preferred[i];
        let free: Vec<usize> =
            (0..PALETTE.len()).map(|d| (start + d) % PALETTE.len()).filter(|s| !placed.contains(s)).collect();
        let slot = if free.is_empty() {
            start // More labels than colours: rule 3's repeat.
        } else if let Some(&far) = free.iter().find(|&&s| nearest(s) >= MIN_DISTANCE) {
            far
        } else {
            // The farthest from its nearest; the first such in palette order from `start`.
            free.iter().copied().fold(free[0], |best, s| if nearest(s) > nearest(best) { s } else { best })
        };
        out[i] = Some(slot);
    }
    out.into_iter().map(|s| s.expect("every label placed")).collect()
}

/// Colours for the labels of one run, aligned with `labels`.
pub fn colours<S: AsRef<str>>(labels: &[S]) -> Vec<RGBColor> {
    let labels: Vec<&str> = labels.iter().map(AsRef::as_ref).collect();
    slots(&labels).into_iter().map(|s| PALETTE[s]).collect()
}

/// A value rounded to 3 significant digits, in its shortest decimal form ("62", "0.5",
/// "13.2", "1250").
pub fn short(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let digits = 2 - v.abs().log10().floor() as i32;
    if digits <= 0 {
        let scale = 10f64.powi(-digits);
        return format!("{:.0}", (v / scale).round() * scale);
    }
    let text = format!("{v:.*}", digits as usize);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// An integer with thousands separators: 1,000,000.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with a k/M suffix for axis ticks: 950, 12k, 1.5M.
pub fn count(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", short(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", short(v / 1e3))
    } else {
        format!("{v:.0}")
    }
}

/// A figure printed on a chart: 3 significant digits below 1,000, trailing zeros kept
/// ("0.500", "13.2", "62.0", "1.00": a zero the value has is a digit the reader needs),
/// whole numbers with thousands separators from 1,000 on ("1,656", "611,496"), so a chart
/// never prints "611000" for a table's 611495.969 nor "62" for 61.964.
pub fn figure(v: f64) -> String {
    figure_at(v, 0)
}

/// [`figure`] with at least `decimals` decimals below 1,000: a figure the table prints with
/// more digits than 3 significant ones (max/mean of ρ `1.005`) keeps the table's digits.
pub fn figure_at(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        "–".to_string()
    } else if v.abs() >= 999.5 {
        let sign = if v < 0.0 { "−" } else { "" };
        format!("{sign}{}", thousands(v.abs().round() as u64))
    } else if v == 0.0 {
        format!("{:.*}", decimals, 0.0)
    } else {
        // Decimals for 3 significant digits, after rounding (9.996 → "10.0").
        let sig = |x: f64| (2 - x.abs().log10().floor() as i32).max(0) as usize;
        let mut d = sig(v);
        let rounded: f64 = format!("{v:.d$}").parse().unwrap_or(v);
        if rounded != 0.0 {
            d = sig(rounded);
        }
        format!("{v:.*}", d.max(decimals))
    }
}

/// A tick label: the shortest form of 3 significant digits below 1,000 ("0.5", "62"),
/// separators to 10,000, then "10k", "250k", "1M", "1.5M".
pub fn tick(v: f64) -> String {
    if v.abs() >= 9999.5 {
        count(v)
    } else if v.abs() >= 999.5 {
        figure(v)
    } else {
        short(v)
    }
}

/// A load ρ for labels: 3 decimals, as the table prints it (0.900, 1.000: the digits that
/// tell a saturated server from one at its capacity).
pub fn rho(v: f64) -> String {
    format!("{v:.3}")
}

/// A number of milliseconds for labels: [`figure`] with "ms" appended.
pub fn ms_label(v_ms: f64) -> String {
    format!("{} ms", figure(v_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colour_of(label: &str, labels: &[&str]) -> RGBColor {
        let i = labels.iter().position(|l| *l == label).unwrap();
        colours(labels)[i]
    }

    #[test]
    fn a_strategy_keeps_its_colour_whatever_the_list() {
        let names: Vec<&str> = REGISTRY.iter().map(|s| s.name).collect();
        // Rule 1: alone, every registry name has its fixed slot; the slots are distinct.
        let alone: Vec<RGBColor> = names.iter().map(|n| colours(&[n])[0]).collect();
        let fixed: Vec<RGBColor> = registry_slots().iter().map(|f| PALETTE[f.1]).collect();
        assert_eq!(alone, fixed);
        let distinct: HashSet<_> = alone.iter().map(|c| (c.0, c.1, c.2)).collect();
        assert_eq!(distinct.len(), names.len().min(PALETTE.len()));
        // The placing does not depend on the list's order.
        let all = colours(&names);
        let mut reversed = names.clone();
        reversed.reverse();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(colour_of(name, &reversed), all[i], "{name} reversed");
        }
        // A parameterised label: the same colour in any order.
        let a = colour_of("p2c(choices=3)", &["p2c", "p2c(choices=3)", "random"]);
        assert_eq!(a, colour_of("p2c(choices=3)", &["random", "p2c(choices=3)", "p2c"]));
        let alone = colour_of("p2c(choices=3)", &["p2c(choices=3)"]);
        assert!(!fixed.contains(&alone), "variants avoid the registry's colours");
        // The common names keep their colour beside each other.
        let common = ["round-robin", "random", "least-connections", "p2c"];
        for name in common {
            assert_eq!(colour_of(name, &common), colour_of(name, &[name]), "{name}");
        }
    }

    #[test]
    fn colours_of_one_run_are_never_alike() {
        let min_distance = |labels: &[&str]| {
            let c = colours(labels);
            let mut min = f64::INFINITY;
            for i in 0..c.len() {
                for j in i + 1..c.len() {
                    min = min.min(distance(c[i], c[j]));
                }
            }
            min
        };
        // Issue 26's cases: three purples, two greens.
        assert!(min_distance(&["least-connections", "least-work-left", "peak-ewma"]) >= MIN_DISTANCE);
        let grpc = ["random(variant=\"iptables\")", "round-robin", "least-connections(variant=\"ipvs\")"];
        assert!(min_distance(&grpc) >= MIN_DISTANCE);
        // Every pair and triple of registry names, with and without a variant beside them.
        let names: Vec<&str> = REGISTRY.iter().map(|s| s.name).collect();
        for (i, a) in names.iter().enumerate() {
            for (j, b) in names.iter().enumerate().skip(i + 1) {
                assert!(min_distance(&[a, b, "p2c(choices=3)"]) >= MIN_DISTANCE, "{a}, {b}");
                for c in &names[j + 1..] {
                    assert!(min_distance(&[a, b, c]) >= MIN_DISTANCE, "{a}, {b}, {c}");
                }
            }
        }
        // The palette's own reference points for MIN_DISTANCE's doc.
        assert!((distance(PALETTE[2], PALETTE[15]) - 36.2).abs() < 0.1, "green / dark green");
        assert!(distance(RGBColor(0, 0, 0), RGBColor(255, 255, 255)) > 99.9);
    }

    #[test]
    fn twenty_labels_get_twenty_colours() {
        let labels: Vec<String> = (2..22).map(|c| format!("p2c(choices={c})")).collect();
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let distinct: HashSet<usize> = slots(&refs).into_iter().collect();
        assert_eq!(distinct.len(), 20);
        // A run of every registry name and some variants: all distinct.
        let mut all: Vec<String> = REGISTRY.iter().map(|s| s.name.to_string()).collect();
        all.extend((3..6).map(|c| format!("p2c(choices={c})")));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let distinct: HashSet<usize> = slots(&refs).into_iter().collect();
        assert_eq!(distinct.len(), refs.len().min(PALETTE.len()));
        // Beyond the palette, colours repeat but every label still gets one.
        let many: Vec<String> = (0..45).map(|i| format!("s{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(slots(&refs).len(), 45);
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short(62.0), "62");
        assert_eq!(short(61.96), "62");
        assert_eq!(short(13.238), "13.2");
        assert_eq!(short(0.5), "0.5");
        assert_eq!(short(1250.0), "1250");
        assert_eq!(short(1000.0), "1000");
        assert_eq!(short(0.001234), "0.00123");
        assert_eq!(count(98_000.0), "98k");
        assert_eq!(count(1_500_000.0), "1.5M");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(figure(611_495.969), "611,496");
        assert_eq!(figure(175.7239), "176");
        // Trailing zeros are digits (issue 26, defect 6): 61.964 is not "62", 1.000 not "1".
        assert_eq!(figure(61.964), "62.0");
        assert_eq!(figure(1.0), "1.00");
        assert_eq!(figure(0.5), "0.500");
        assert_eq!(figure(9.996), "10.0");
        assert_eq!(figure(99.96), "100");
        assert_eq!(figure(0.0), "0");
        assert_eq!(figure_at(0.0, 1), "0.0");
        assert_eq!(figure_at(1.0049, 3), "1.005");
        assert_eq!(figure_at(61.964, 2), "61.96");
        assert_eq!(figure_at(0.00605, 1), "0.00605");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(2500.0), "2,500");
        assert_eq!(figure(999.6), "1,000");
        assert_eq!(figure(0.01234), "0.0123");
        assert_eq!(figure(f64::NAN), "–");
    }
}
