//! Tests of resolving and setting keys in a scenario's text.

use super::rewrite::set_in_table;
use super::*;
use crate::scenario::ValueKind;

const TEXT: &str = r#"
seed = 7
requests = 1000
strategies = ["random", "p2c", { name = "p2c", choices = 3 }]
[arrivals]
process = "poisson"
rate = 900        # peak
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "web"
count = 4
[[servers]]
name = "db"
speed = 2.0
"#;

fn st() -> ScenarioText {
    ScenarioText::new(TEXT.to_string(), None).unwrap()
}

#[test]
fn key_space_and_max_connections_can_vary() {
    let text = format!("{TEXT}[keys]\ncount = 100\ndistribution = \"zipf\"\n");
    let s = ScenarioText::new(text, None).unwrap();
    let exp = s.resolve("keys.exponent").unwrap();
    assert_eq!(exp.kind, ValueKind::Float);
    let sc = s.with(&[(&exp, KeyValue::Float(1.3))]).unwrap();
    assert_eq!(sc.keys.unwrap().popularity, crate::workload::keys::KeyPopularity::Zipf { exponent: 1.3 });
    assert_eq!(s.resolve("servers.web.max_connections").unwrap().kind, ValueKind::Integer);
    let e = st().resolve("keys.count").unwrap_err();
    assert!(e.message.contains("no [keys] section"), "{}", e.message);
}

#[test]
fn resolves_and_sets_known_keys() {
    let s = st();
    let rate = s.resolve("arrivals.rate").unwrap();
    assert_eq!(rate.kind, ValueKind::Float); // written as an integer, but a rate is a number
    let count = s.resolve("servers.web.count").unwrap();
    assert_eq!(count.canonical, "servers[0].count");
    assert_eq!(s.resolve("servers[1].queue_capacity").unwrap().kind, ValueKind::Integer);
    let mean = s.resolve("service.mean").unwrap();
    assert_eq!(mean.kind, ValueKind::Duration);
    let sc = s
        .with(&[(&rate, KeyValue::Float(450.5)), (&count, KeyValue::Integer(6)), (&mean, KeyValue::Duration(0.0125))])
        .unwrap();
    assert_eq!(sc.arrival_rate(), 450.5);
    assert_eq!(sc.groups[0].count, 6);
    assert_eq!(sc.service.mean(), 0.0125);
    assert_eq!(sc.server_count(), 7);
}

#[test]
fn strategy_parameters_by_index_and_name() {
    let s = st();
    let k = s.resolve("strategies[1].choices").unwrap();
    assert_eq!((k.kind, k.canonical.as_str()), (ValueKind::Integer, "strategies[1].choices"));
    // a bare name becomes an inline table
    let sc = s.with(&[(&k, KeyValue::Integer(4))]).unwrap();
    assert_eq!(sc.strategies[1].label, "p2c(choices=4)");
    let e = s.resolve("strategies.p2c.choices").unwrap_err();
    assert!(e.message.contains("listed 2 times"), "{e}");
    let e = s.resolve("strategies.random.choices").unwrap_err();
    assert!(e.message.contains("has no parameter"), "{e}");
}

#[test]
fn bad_keys_name_the_alternatives() {
    let s = st();
    let e = s.resolve("arrivals.raet").unwrap_err();
    assert!(e.message.contains("keys there: rate, process"), "{e}");
    assert_eq!(e.help.as_deref(), Some("did you mean `arrivals.rate`?"));
    let e = s.resolve("servers.webs.count").unwrap_err();
    assert!(e.message.contains("[0] web, [1] db"), "{e}");
    assert_eq!(e.help.as_deref(), Some("did you mean `web`?"));
    let e = s.resolve("servers[5].count").unwrap_err();
    assert!(e.message.contains("no server group [5]"), "{e}");
    let e = s.resolve("arrivals.process").unwrap_err();
    assert!(e.message.contains("not a number"), "{e}");
    assert!(s.resolve("servers[0].cuont").unwrap_err().help.unwrap().contains("servers[0].count"));
    assert!(s.resolve("servers[x].count").is_err());
    assert!(s.resolve("").is_err());
}

#[test]
fn invalid_values_are_reported_by_validation_with_the_override() {
    let s = st();
    let rate = s.resolve("arrivals.rate").unwrap();
    let e = s.with(&[(&rate, KeyValue::Float(-1.0))]).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("arrivals.rate"));
    assert!(e.help.unwrap().contains("arrivals.rate = -1"));
}

#[test]
fn comments_survive_and_lines_do_not_move() {
    let s = st();
    let rate = s.resolve("arrivals.rate").unwrap();
    let mut doc = s.doc.clone();
    set_in_table(doc.as_table_mut(), &rate.steps, KeyValue::Float(12.5).to_toml());
    let out = doc.to_string();
    assert!(out.contains("rate = 12.5        # peak"), "{out}");
    assert_eq!(out.lines().count(), TEXT.lines().count());
}

#[test]
fn strategy_subsets() {
    let s = st();
    let one = s.only_strategy(2);
    assert_eq!(one.scenario().unwrap().strategies.len(), 1);
    assert_eq!(one.scenario().unwrap().strategies[0].label, "p2c(choices=3)");
    let named = s.with_strategy_names(&["round-robin".to_string()]).unwrap();
    assert_eq!(named.scenario().unwrap().strategies[0].label, "round-robin");
    let e = s.with_strategy_names(&["round-robbin".to_string()]).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("--strategies"));
}

#[test]
fn known_keys_come_from_the_schema() {
    let s = st();
    // Absent from the file, typed by the schema.
    assert_eq!(s.resolve("servers.db.slow_start").unwrap().kind, ValueKind::Duration);
    assert_eq!(s.resolve("servers.db.max_connections").unwrap().kind, ValueKind::Integer);
    assert_eq!(s.resolve("service.shape").unwrap().kind, ValueKind::Float);
    assert_eq!(s.resolve("warmup_requests").unwrap().kind, ValueKind::Integer);
    // A key of another arrival process is not one of this scenario's.
    let e = s.resolve("arrivals.clients").unwrap_err();
    assert!(e.message.contains("keys there: rate, process"), "{e}");
}
