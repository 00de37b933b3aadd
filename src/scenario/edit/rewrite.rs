//! Writing a value into the scenario's `toml_edit` document at a resolved key path, keeping
//! the comments and layout around it.

use toml_edit::{InlineTable, Item, TableLike, Value};

use super::path::Step;

/// Sets the value at `steps` below `table`, keeping the old value's comments. A strategy
/// written as a bare name becomes an inline table when a parameter is set.
pub(super) fn set_in_table(table: &mut dyn TableLike, steps: &[Step], v: Value) {
    let Step::Key(k) = &steps[0] else { unreachable!("paths step from a table by key") };
    if steps.len() == 1 {
        match table.get_mut(k).and_then(Item::as_value_mut) {
            Some(old) => replace(old, v),
            None => {
                table.insert(k, Item::Value(v));
            }
        }
        return;
    }
    if table.get(k).is_none() && matches!(steps[1], Step::Key(_)) {
        // An optional section the file leaves out (`[balancers]`): create it.
        let mut t = toml_edit::Table::new();
        t.set_implicit(false);
        table.insert(k, Item::Table(t));
    }
    let item = table.get_mut(k).expect("resolved path");
    match (&steps[1], item) {
        (Step::Index(i), Item::ArrayOfTables(a)) => set_in_table(a.get_mut(*i).expect("resolved"), &steps[2..], v),
        (Step::Index(i), Item::Value(Value::Array(a))) => {
            set_in_value(a.get_mut(*i).expect("resolved"), &steps[2..], v)
        }
        (Step::Key(_), item) => set_in_table(item.as_table_like_mut().expect("resolved"), &steps[1..], v),
        _ => unreachable!("resolved path"),
    }
}

fn set_in_value(target: &mut Value, steps: &[Step], v: Value) {
    if steps.is_empty() {
        replace(target, v);
        return;
    }
    if let Value::String(s) = target {
        let mut t = InlineTable::new();
        t.insert("name", Value::from(s.value().as_str()));
        let decor = s.decor().clone();
        *target = Value::InlineTable(t);
        *target.decor_mut() = decor;
    }
    match target {
        Value::InlineTable(t) => set_in_table(t, steps, v),
        _ => unreachable!("resolved path"),
    }
}

fn replace(old: &mut Value, mut v: Value) {
    *v.decor_mut() = old.decor().clone();
    *old = v;
}
