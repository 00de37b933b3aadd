//! The style of every table lbsim prints: comfy-table's condensed UTF-8 borders, no
//! wrapping, and terminal attributes (bold) only when `color`.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

/// An empty table in lbsim's style; `color` when stdout is a terminal.
pub fn new(color: bool) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
    if !color {
        table.force_no_tty();
    }
    table
}
