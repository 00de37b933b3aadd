//! A validated scenario written with serde (for `manifest.json`): every setting a run used,
//! after defaults and command-line overrides; times in seconds (keys ending in `_s`), rates
//! in requests per second (`_rps`). Its name, file, text and seed are recorded beside it.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};

use super::slow_start::SlowStartModel;
use super::{FaultKind, FaultTarget, Scenario, StrategySpec};
use crate::workload::service::ServiceDist;

/// A `[[servers]]` group as validated.
#[derive(Serialize)]
struct GroupView<'a> {
    name: &'a str,
    count: usize,
    speed: f64,
    workers: u32,
    queue_capacity: u32,
    weight: u32,
    max_connections: Option<u32>,
    slow_start_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slow_start_model: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slow_start_aggression: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slow_start_min_weight_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cold_start_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cold_start_slowdown: Option<f64>,
    service: Option<&'a ServiceDist>,
}

/// A `[[faults]]` entry, its target by name.
#[derive(Serialize)]
struct FaultView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<usize>,
    #[serde(flatten)]
    kind: FaultKind,
    start_s: f64,
    end_s: Option<f64>,
}

impl Serialize for Scenario {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let groups: Vec<GroupView> = self
            .groups
            .iter()
            .map(|g| {
                let server = &self.servers[g.first];
                GroupView {
                    name: &g.name,
                    count: g.count,
                    speed: server.speed,
                    workers: server.workers,
                    queue_capacity: server.queue_capacity,
                    weight: server.weight,
                    max_connections: server.max_connections,
                    slow_start_s: g.slow_start.map(|s| s.window),
                    slow_start_model: g.slow_start.map(|s| s.model.name()).filter(|&m| m != "steps"),
                    slow_start_aggression: match g.slow_start.map(|s| s.model) {
                        Some(SlowStartModel::Envoy { aggression, .. }) => Some(aggression),
                        _ => None,
                    },
                    cold_start_s: g.cold_start.map(|c| c.period),
                    cold_start_slowdown: g.cold_start.map(|c| c.slowdown),
                    slow_start_min_weight_percent: match g.slow_start.map(|s| s.model) {
                        Some(SlowStartModel::Envoy { min_weight, .. }) => Some(min_weight * 100.0),
                        _ => None,
                    },
                    service: g.service.as_ref(),
                }
            })
            .collect();
        let faults: Vec<FaultView> = self
            .faults
            .iter()
            .map(|f| {
                let (server, group, count) = match f.target {
                    FaultTarget::Server(i) => (Some(self.servers[i].name.as_str()), None, None),
                    FaultTarget::Group { group, count } => (None, Some(self.groups[group].name.as_str()), Some(count)),
                };
                FaultView { server, group, count, kind: f.kind, start_s: f.start, end_s: f.end }
            })
            .collect();
        let mut m = s.serialize_struct("Scenario", 14)?;
        m.serialize_field("requests", &self.requests)?;
        m.serialize_field("warmup_requests", &self.warmup)?;
        m.serialize_field("replications", &self.replications)?;
        m.serialize_field("strategies", &self.strategies)?;
        m.serialize_field("arrivals", &self.arrivals)?;
        m.serialize_field("service", &self.service)?;
        m.serialize_field("keys", &self.keys)?;
        m.serialize_field("servers", &groups)?;
        m.serialize_field("faults", &faults)?;
        m.serialize_field("health_check", &self.health_check)?;
        m.serialize_field("outlier_detection", &self.outlier_detection)?;
        m.serialize_field("client", &self.client)?;
        m.serialize_field("balancers", &self.balancers)?;
        m.serialize_field("network", &self.network)?;
        if let Some(a) = &self.autoscaler {
            m.serialize_field("autoscaler", a)?;
        }
        if let Some(p) = &self.precision {
            let targets: serde_json::Map<String, serde_json::Value> =
                p.targets.iter().map(|&(m, t)| (m.to_string(), serde_json::json!(t))).collect();
            m.serialize_field("precision", &targets)?;
            m.serialize_field("max_requests", &p.max_requests)?;
        }
        if let Some(c) = &self.clients {
            m.serialize_field("clients", c)?;
        }
        if let Some(q) = &self.balancer_queue {
            m.serialize_field("balancer_queue", q)?;
        }
        if let (None, Some(p)) = (&self.autoscaler, &self.pod_group) {
            m.serialize_field("pods", &p.life)?;
        }
        if let Some(o) = &self.slo {
            m.serialize_field("slo", o)?;
        }
        m.end()
    }
}

/// `{"label", "name", "params": {...}}`.
impl Serialize for StrategySpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Params<'a>(&'a StrategySpec);
        impl Serialize for Params<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                for (k, v) in self.0.params.iter() {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_struct("StrategySpec", 3)?;
        m.serialize_field("label", &self.label)?;
        m.serialize_field("name", self.name)?;
        m.serialize_field("params", &Params(self))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::scenario::Scenario;

    const BASE: &str = r#"
requests = 1000
strategies = ["random", { name = "p2c", choices = 3 }]
[arrivals]
process = "poisson"
rate = 100.0
[service]
distribution = "gamma"
mean = "10ms"
cv = 2.0
[keys]
count = 50
distribution = "zipf"
[[servers]]
name = "web"
count = 4
max_connections = 8
slow_start = "30s"
[servers.service]
distribution = "uniform"
min = "1s"
max = "3s"
[[faults]]
group = "web"
count = 2
slow_at = "5s"
slowdown = 4.0
"#;

    #[test]
    fn every_setting_is_written() {
        let sc = Scenario::parse(BASE, None).unwrap();
        let v = serde_json::to_value(&sc).unwrap();
        assert_eq!(v["warmup_requests"], 100);
        assert_eq!(v["strategies"][1], json!({ "label": "p2c(choices=3)", "name": "p2c", "params": { "choices": 3 } }));
        assert_eq!(v["service"], json!({ "distribution": "gamma", "mean_s": 0.01, "cv": 2.0 }));
        assert_eq!(v["keys"], json!({ "count": 50, "distribution": "zipf", "exponent": 1.0 }));
        let web = &v["servers"][0];
        assert_eq!((web["max_connections"].as_u64(), web["slow_start_s"].as_f64()), (Some(8), Some(30.0)));
        assert_eq!(
            web["service"],
            json!({
                "distribution": "uniform", "min_s": 1.0, "max_s": 3.0, "mean_s": 2.0, "cv": 1.0 / (2.0 * 3f64.sqrt())
            })
        );
        assert_eq!(
            v["faults"][0],
            json!({ "group": "web", "count": 2, "kind": "slow", "slowdown": 4.0, "start_s": 5.0, "end_s": null })
        );
        assert_eq!(v["health_check"], json!(null));
    }

    #[test]
    fn a_trace_is_written_as_its_file_not_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "timestamp,key\n0,a\n1,b\n2,a\n";
        std::fs::write(dir.path().join("t.csv"), csv).unwrap();
        let text = BASE
            .replace("requests = 1000\n", "")
            .replace("process = \"poisson\"\nrate = 100.0", "process = \"trace\"\nfile = \"t.csv\"")
            .replace("[keys]\ncount = 50\ndistribution = \"zipf\"\n", "");
        let sc = Scenario::parse(&text, Some(&dir.path().join("case.toml"))).unwrap();
        let v = serde_json::to_value(&sc).unwrap();
        let file = dir.path().join("t.csv").display().to_string();
        assert_eq!(
            v["arrivals"],
            json!({
                "process": "trace", "file": file, "bytes": csv.len(), "rows": 3, "columns": ["timestamp", "key"],
                "distinct_keys": 2, "speed": 1.0
            })
        );
    }
}
