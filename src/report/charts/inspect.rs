//! What a chart drew, for tests that pin the rules rather than pixels.
//!
//! While [`capture`] runs a render on the current thread, every text the [`Canvas`] draws is
//! recorded with its box on the image, and chart code records each value axis it builds
//! ([`axis`]) and each figure it prints ([`figure`]). A test can then check that no text
//! leaves the image, collides with another or was shortened, that an axis over values
//! spanning decades is logarithmic, and that a printed figure is the CSV's. Outside
//! [`capture`] recording costs one thread-local check per text.
//!
//! [`Canvas`]: super::canvas::Canvas

use std::cell::RefCell;

/// A text drawn on the image.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBox {
    /// The text.
    pub text: String,
    /// Font size, px.
    pub px: f64,
    /// Left, top, right and bottom edges of its box (after anchoring and rotation), px.
    pub bounds: (i32, i32, i32, i32),
}

impl TextBox {
    /// Whether two boxes share any pixel.
    pub fn overlaps(&self, other: &TextBox) -> bool {
        let (a, b) = (self.bounds, other.bounds);
        a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
    }
}

/// A value axis as built.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisRecord {
    /// Which chart and panel, and which axis ("percentiles p99 x").
    pub name: String,
    /// The axis' lower and upper end, in data units.
    pub range: (f64, f64),
    /// Whether it is logarithmic.
    pub log: bool,
    /// The smallest and largest positive value it shows (NaN when none).
    pub data: (f64, f64),
}

/// A number printed on a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The strategy (or other row) it belongs to.
    pub owner: String,
    /// What it is, as named in the CSV files ("p99", "mean_in_system", "servers").
    pub what: String,
    /// The value, in the CSV's unit.
    pub value: f64,
    /// The text drawn for it.
    pub text: String,
}

/// Everything recorded during one [`capture`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drawn {
    /// Image size, px.
    pub size: (u32, u32),
    /// Every text drawn, in order.
    pub texts: Vec<TextBox>,
    /// Every value axis built.
    pub axes: Vec<AxisRecord>,
    /// Every figure printed.
    pub figures: Vec<Figure>,
    /// Values drawn without text (a bar's or a tick's height, an interval's point), as
    /// [`Figure`]s whose `text` is empty.
    pub levels: Vec<Figure>,
    /// Markers of a chart that must not hide one another: (owner, centre px, radius px), in
    /// drawing order.
    pub markers: Vec<(String, (i32, i32), i32)>,
}

thread_local! {
    static RECORD: RefCell<Option<Drawn>> = const { RefCell::new(None) };
}

/// Runs `render` (which draws one chart on this thread) and returns its result with what
/// it drew.
pub fn capture<T>(render: impl FnOnce() -> T) -> (T, Drawn) {
    RECORD.with(|r| *r.borrow_mut() = Some(Drawn::default()));
    let out = render();
    let drawn = RECORD.with(|r| r.borrow_mut().take()).unwrap_or_default();
    (out, drawn)
}

fn with(f: impl FnOnce(&mut Drawn)) {
    RECORD.with(|r| {
        if let Some(d) = r.borrow_mut().as_mut() {
            f(d);
        }
    });
}

/// Records the image size (by the renderer).
pub(super) fn size(w: u32, h: u32) {
    with(|d| d.size = (w, h));
}

/// Records a text drawn (by the canvas).
pub(super) fn text(text: &str, px: f64, bounds: (i32, i32, i32, i32)) {
    with(|d| d.texts.push(TextBox { text: text.to_string(), px, bounds }));
}

/// Records a value axis: its `name`, `range`, whether `log`, and the `values` it shows.
pub fn axis(name: impl Into<String>, range: (f64, f64), log: bool, values: impl IntoIterator<Item = f64>) {
    with(|d| {
        let data = values
            .into_iter()
            .filter(|v| v.is_finite() && *v > 0.0)
            .fold((f64::NAN, f64::NAN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        d.axes.push(AxisRecord { name: name.into(), range, log, data });
    });
}

/// Records a printed figure: `what` of `owner`, `value` in the CSV's unit, printed as `text`.
pub fn figure(owner: &str, what: &str, value: f64, text: &str) {
    with(|d| {
        d.figures.push(Figure { owner: owner.to_string(), what: what.to_string(), value, text: text.to_string() })
    });
}

/// Records a value drawn without text: `what` of `owner` drawn at `value` (in the CSV's unit).
pub fn level(owner: &str, what: &str, value: f64) {
    with(|d| d.levels.push(Figure { owner: owner.to_string(), what: what.to_string(), value, text: String::new() }));
}

/// Records a marker drawn: `owner`'s, centred at `at` (image pixels), `radius` px.
pub fn marker(owner: &str, at: (i32, i32), radius: i32) {
    with(|d| d.markers.push((owner.to_string(), at, radius)));
}
