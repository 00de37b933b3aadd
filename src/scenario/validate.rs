//! Validation: the raw schema ([`super::schema`]) to a [`Scenario`], checking ranges and
//! cross-field rules, each error located at its key.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::schema::{RawKeys, RawScenario, RawServerGroup, RawService};
use super::{
    Group, Locator, MAX_SERVERS, Scenario, ScenarioError, StrategySpec, arrivals, balancers, clients, faults, policies,
};
use crate::strategy::{self, Params, ServerInfo};
use crate::workload::keys::{KEY_DISTRIBUTIONS, KeyPopularity, KeySpace};
use crate::workload::service::{self, ParamKind, ServiceDist};

/// Turns a serde/TOML error into a located error, with a suggestion for unknown keys.
pub(super) fn from_toml_error(e: &toml::de::Error, locator: &Locator, text: &str) -> ScenarioError {
    let mut msg = e.message().trim().to_string();
    // A TOML date-time reaches serde as a map ("wrong type: map"): call it what it is.
    if let Some(rest) = msg.strip_prefix("invalid type: map, ")
        && e.span().and_then(|s| text.get(s)).is_some_and(|v| v.parse::<toml::value::Datetime>().is_ok())
    {
        msg = format!("a TOML date-time is not allowed here; {rest}");
    }
    let mut err = ScenarioError::general(msg.clone());
    if let Some(span) = e.span() {
        let (l, c) = locator.line_col(span.start);
        err.line = Some(l);
        err.column = Some(c);
        err.key = locator.path_at(span.start).map(str::to_string);
    }
    // "unknown field `raet`, expected `process` or `rate`"
    if let Some((given, expected)) = msg.strip_prefix("unknown field `").and_then(|r| r.split_once('`')) {
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        err.message = format!("unknown key `{given}`; allowed here: {}", allowed.join(", "));
        err = err.suggest(given, allowed.iter().copied());
    }
    // "missing field `requests`": at the table that lacks it (an empty span: the top level).
    if let Some(field) = msg.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
        err.message = msg.replace("missing field", "missing required key");
        let table = e.span().filter(|s| !s.is_empty()).and_then(|s| locator.path_at(s.start));
        let key = table.map_or_else(|| field.to_string(), |t| format!("{t}.{field}"));
        let (l, c) = locator.find(&key).unwrap_or_else(|| locator.top_level());
        (err.line, err.column, err.key) = (Some(l), Some(c), Some(key));
    }
    for (rust, human) in [
        ("expected f64", "expected a number"),
        ("expected u64", "expected a whole number ≥ 0"),
        ("expected u32", "expected a whole number ≥ 0"),
        ("expected a sequence", "expected a list [ ... ]"),
        ("invalid type: ", "wrong type: "),
        ("invalid value: ", "wrong value: "),
    ] {
        err.message = err.message.replace(rust, human);
    }
    err
}

fn positive(key: &str, x: f64, what: &str) -> Result<f64, ScenarioError> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(ScenarioError::at(
            key,
            format!("must be a positive number ({what}), got {}", crate::duration::format_number(x)),
        ))
    }
}

pub(super) fn validate(raw: RawScenario, stem: Option<String>, dir: &Path) -> Result<Scenario, ScenarioError> {
    let arrivals = arrivals::validate(&raw.arrivals, dir)?;
    let requests = match (raw.requests, arrivals.trace()) {
        (Some(r), Some(t)) if r > t.len() as u64 => {
            return Err(ScenarioError::at(
                "requests",
                format!("the trace has only {} rows; leave `requests` out to replay them all", t.len()),
            ));
        }
        (Some(r), _) => r,
        (None, Some(t)) => t.len() as u64,
        (None, _) => {
            return Err(ScenarioError::at("requests", "missing required key `requests`")
                .with_help("add e.g. `requests = 100000` among the top-level keys (before the first [table])"));
        }
    };
    if requests == 0 {
        return Err(ScenarioError::at("requests", "must be at least 1"));
    }
    let warmup = raw.warmup_requests.unwrap_or(requests / 10);
    if warmup >= requests {
        return Err(ScenarioError::at(
            "warmup_requests",
            format!("must be smaller than requests ({requests}), got {warmup}"),
        ));
    }
    let precision = match (&raw.precision, raw.max_requests) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ScenarioError::at("max_requests", "applies only with `precision`")
                .with_help("add e.g. `precision = \"2%\"`, or leave `max_requests` out"));
        }
        (Some(text), max) => {
            if max.is_some_and(|m| m < requests) {
                return Err(ScenarioError::at(
                    "max_requests",
                    format!("must be at least requests ({requests}), got {}", max.unwrap_or(0)),
                ));
            }
            Some(super::Precision { targets: super::Precision::parse_targets(text, "precision")?, max_requests: max })
        }
    };
    let replications = raw.replications.unwrap_or(1);
    if replications == 0 {
        return Err(ScenarioError::at("replications", "must be at least 1"));
    }
    let service = validate_service(&raw.service, "service")?;
    let keys = raw.keys.as_ref().map(validate_keys).transpose()?;
    if let (Some(_), Some(t)) = (&keys, arrivals.trace())
        && t.keys.is_some()
    {
        return Err(ScenarioError::at(
            "keys",
            "the trace's `key` column already gives every request its key; remove [keys] (or the column)",
        ));
    }
    // An autoscaled group has `max_replicas` places; its `count` pods run from the start.
    let deploys = faults::deploy_surges(&raw.faults);
    let autoscaler = match &raw.autoscaler {
        Some(a) => Some(super::autoscaler::validate_autoscaler(a, raw.pods.as_ref(), &raw.servers)?),
        None if raw.pods.is_some() && deploys.is_empty() => {
            return Err(ScenarioError::at(
                "pods",
                "[pods] describes the pods of an autoscaled group or of a group with a rolling deploy: add \
                 [autoscaler] or a [[faults]] with `deploy_at`",
            ));
        }
        None => None,
    };
    let mut raw_servers = raw.servers;
    if let Some(a) = &autoscaler {
        raw_servers[a.group].count = Some(a.max_replicas);
    }
    // A deployed group has room for a deploy: its surge (rounded up at the most replicas it
    // can have) and as many places again for the old pods while they terminate, so that a
    // new pod never waits for one to exit (Kubernetes does not wait either). Its pods take
    // them only during a deploy.
    let mut counted = None;
    if let Some((Some(name), _)) = deploys.first()
        && let Some(g) = raw_servers.iter_mut().find(|g| g.name == *name)
    {
        let base = g.count.unwrap_or(1);
        let surge = deploys
            .iter()
            .filter(|(n, _)| n == &Some(*name))
            .map(|(_, s)| s.unwrap_or(faults::Size::Percent(25)).of(base, true))
            .max()
            .unwrap_or(0);
        counted = Some(base);
        g.count = Some(base.saturating_mul(2).saturating_add(surge));
    }
    let (servers, groups) = validate_servers(&raw_servers)?;
    if raw.strategies.is_empty() {
        return Err(ScenarioError::at("strategies", "list at least one strategy")
            .with_help(format!("known strategies: {}", strategy::names().collect::<Vec<_>>().join(", "))));
    }
    let strategies = parse_strategies(&raw.strategies, &servers, "strategies")?;
    let raw_name = raw.name.is_some();
    let name = raw.name.or(stem).unwrap_or_else(|| "scenario".to_string());
    if let Some(problem) = super::name::problem(&name) {
        let e = ScenarioError::at("name", format!("{problem}; got \"{}\"", super::name::shown(&name)));
        return Err(if raw_name { e } else { e.with_help("the name comes from the file name: set `name = \"...\"`") });
    }
    let faults = faults::validate_faults(&raw.faults, &servers, &groups)?;
    let pod_group = pod_group(&faults, &groups, autoscaler.as_ref(), counted, raw.pods.as_ref())?;
    let health_check = raw.health_check.as_ref().map(policies::validate_health).transpose()?;
    let outlier_detection = raw.outlier_detection.as_ref().map(policies::validate_outlier).transpose()?;
    let client = raw.client.as_ref().map(policies::validate_client).transpose()?;
    let balancers = match &raw.balancers {
        Some(b) => balancers::validate_balancers(b, servers.len())?,
        None => balancers::Balancers::default(),
    };
    let network = raw.network.as_ref().map(balancers::validate_network).transpose()?.unwrap_or_default();
    check_strategies_under(&strategies, &balancers, &servers)?;
    let clients = raw.clients.as_ref().map(clients::validate_clients).transpose()?;
    if let Some(c) = &clients {
        clients::check_combination(c, &arrivals, client.is_some(), &network)?;
    }
    let balancer_queue = raw
        .balancer_queue
        .as_ref()
        .map(|q| {
            policies::validate_balancer_queue(
                q,
                &servers,
                &balancers,
                &network,
                clients.is_some(),
                autoscaler.is_some(),
            )
        })
        .transpose()?;
    if client.is_some_and(|c| c.hedge.is_some()) {
        policies::check_hedging(network.is_some(), clients.is_some(), balancer_queue.is_some())?;
    }
    Ok(Scenario {
        name,
        file: None,
        source: None,
        seed: raw.seed.unwrap_or(1),
        requests,
        warmup,
        warmup_explicit: raw.warmup_requests.is_some(),
        precision,
        replications,
        strategies,
        arrivals,
        service,
        keys,
        servers,
        groups,
        faults,
        health_check,
        outlier_detection,
        client,
        balancers,
        network,
        autoscaler,
        clients,
        balancer_queue,
        pod_group,
        slo: raw.slo.as_ref().map(super::slo::validate_slo).transpose()?,
    })
}

/// The group whose servers hold pods: the autoscaler's, or the one the deploys replace (all
/// of a scenario's deploys replace one group, the autoscaler's when there is one). `counted`:
/// the places the group has without its deploys' room.
fn pod_group(
    faults: &[super::FaultSpec],
    groups: &[super::Group],
    autoscaler: Option<&super::autoscaler::Autoscaler>,
    counted: Option<u32>,
    pods: Option<&super::schema::RawPods>,
) -> Result<Option<super::autoscaler::PodGroup>, ScenarioError> {
    use super::FaultTarget;
    let mut target = autoscaler.map(|a| a.group);
    for (i, f) in faults.iter().enumerate() {
        let (FaultTarget::Group { group, .. }, Some(_)) = (&f.target, f.kind.deploy()) else { continue };
        match target {
            Some(g) if g != *group => {
                let why = if autoscaler.is_some() { "the [autoscaler]'s group" } else { "one group" };
                return Err(ScenarioError::at(
                    format!("faults[{i}].group"),
                    format!("rolling deploys replace the pods of {why}, `{}`", groups[g].name),
                ));
            }
            _ => target = Some(*group),
        }
    }
    let Some(group) = target else { return Ok(None) };
    let places = groups[group].count as u32;
    let counted = counted.unwrap_or(places);
    Ok(Some(match autoscaler {
        Some(a) => super::autoscaler::PodGroup { group, initial: a.initial, places, counted, life: a.pods.clone() },
        None => {
            let life = pods.map(super::autoscaler::validate_pods).transpose()?.unwrap_or_default();
            super::autoscaler::PodGroup { group, initial: counted, places, counted, life }
        }
    }))
}

/// Strategy settings that several balancer instances rule out: join-idle-queue's
/// `dispatchers` are then the instances themselves; with subsets, a cooperative strategy, and
/// parameters a subset's few servers cannot satisfy (p2c's `choices`).
pub(super) fn check_strategies_under(
    strategies: &[StrategySpec],
    b: &balancers::Balancers,
    servers: &[ServerInfo],
) -> Result<(), ScenarioError> {
    if b.subset.is_some()
        && let Some(i) = strategies.iter().position(|s| strategy::lookup(s.name).is_some_and(|info| info.cooperative))
    {
        return Err(ScenarioError::at(
            "balancers.subset",
            format!(
                "`subset` cannot be combined with {} (strategies[{i}]): its dispatchers share every server's idle \
                 reports, which a client's subset would not see",
                strategies[i].name
            ),
        ));
    }
    if let Some(sub) = b.subset {
        for (i, s) in strategies.iter().enumerate() {
            let info = strategy::lookup(s.name).expect("validated strategy");
            if let Err(e) = (info.build)(&s.params, &servers[..sub.size as usize]) {
                return Err(ScenarioError::at(
                    format!("strategies[{i}].{}", e.param),
                    format!(
                        "{}: `{}` {} — over a subset of {} server(s) ([balancers] subset.size)",
                        s.name, e.param, e.message, sub.size
                    ),
                ));
            }
        }
    }
    if b.count == 1 {
        return Ok(());
    }
    for (i, s) in strategies.iter().enumerate() {
        if s.name == "join-idle-queue" && s.params.keys().any(|k| k == "dispatchers") {
            return Err(ScenarioError::at(
                format!("strategies[{i}].dispatchers"),
                format!(
                    "with [balancers] count = {} the dispatchers are the balancer instances; remove `dispatchers`",
                    b.count
                ),
            ));
        }
    }
    Ok(())
}

fn validate_keys(k: &RawKeys) -> Result<KeySpace, ScenarioError> {
    let dist = k.distribution.as_deref().unwrap_or("uniform");
    let popularity = match dist {
        "uniform" => {
            if k.exponent.is_some() {
                return Err(ScenarioError::at(
                    "keys.exponent",
                    "`exponent` applies only to distribution = \"zipf\" (uniform keys have none)",
                ));
            }
            KeyPopularity::Uniform
        }
        "zipf" => KeyPopularity::Zipf { exponent: k.exponent.unwrap_or(1.0) },
        other => {
            return Err(ScenarioError::at(
                "keys.distribution",
                format!("unknown key distribution `{other}`; allowed: {}", KEY_DISTRIBUTIONS.join(", ")),
            )
            .suggest(other, KEY_DISTRIBUTIONS.iter().copied()));
        }
    };
    let space = KeySpace { count: k.count, popularity };
    space.validate().map_err(|(key, msg)| ScenarioError::at(format!("keys.{key}"), msg))?;
    Ok(space)
}

/// Validates a distribution table against [`service::DISTRIBUTIONS`]; `prefix` is its key
/// path (`service`, `servers[1].service`, `arrivals.think_time`).
pub(super) fn validate_service(s: &RawService, prefix: &str) -> Result<ServiceDist, ScenarioError> {
    let d = s.text("distribution").expect("a required key");
    let Some(family) = service::family(d) else {
        let names: Vec<&str> = service::DISTRIBUTIONS.iter().map(|f| f.name).collect();
        return Err(ScenarioError::at(
            format!("{prefix}.distribution"),
            format!("unknown distribution `{d}`; allowed: {}", names.join(", ")),
        )
        .suggest(d, names.iter().copied()));
    };
    let takes: Vec<&str> = family.params.iter().map(|p| p.name).collect();
    for param in service::PARAMS {
        let key = param.name;
        let present = s.has(key);
        if present && !takes.contains(&key) {
            let why = family.not_taken(key).map_or(String::new(), |w| format!(" ({w})"));
            return Err(ScenarioError::at(
                format!("{prefix}.{key}"),
                format!("`{key}` does not apply to the {d} distribution{why}; it takes: {}", takes.join(", ")),
            ));
        }
        if !present && takes.contains(&key) {
            return Err(ScenarioError::at(
                prefix,
                format!("the {d} distribution needs `{key}` (it takes: {})", takes.join(", ")),
            ));
        }
    }
    let values: Vec<f64> = family.params.iter().map(|p| s.number(p.name).expect("checked above")).collect();
    for (p, &v) in family.params.iter().zip(&values) {
        if p.positive && p.kind == ParamKind::Duration && v <= 0.0 {
            return Err(ScenarioError::at(
                format!("{prefix}.{}", p.name),
                "must be a positive duration, e.g. \"10ms\"",
            ));
        }
    }
    family.build(&values).map_err(|e| ScenarioError::at(format!("{prefix}.{}", e.param), e.message))
}

fn validate_servers(groups: &[RawServerGroup]) -> Result<(Vec<ServerInfo>, Vec<Group>), ScenarioError> {
    if groups.is_empty() {
        return Err(ScenarioError::at("servers", "define at least one [[servers]] group"));
    }
    let mut servers = Vec::new();
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (gi, g) in groups.iter().enumerate() {
        let key = |k: &str| format!("servers[{gi}].{k}");
        if g.name.trim().is_empty() {
            return Err(ScenarioError::at(key("name"), "must not be empty"));
        }
        if g.name.len() > super::name::MAX_NAME_BYTES {
            // It labels every server in the table, the CSVs and the charts.
            return Err(ScenarioError::at(
                key("name"),
                format!("is {} bytes long; at most {}", g.name.len(), super::name::MAX_NAME_BYTES),
            ));
        }
        let count = g.count.unwrap_or(1);
        if count == 0 {
            return Err(ScenarioError::at(key("count"), "must be at least 1"));
        }
        if servers.len() + count as usize > MAX_SERVERS {
            return Err(ScenarioError::at(key("count"), format!("at most {MAX_SERVERS} servers in all")));
        }
        let speed = positive(&key("speed"), g.speed.unwrap_or(1.0), "1.0 = nominal speed")?;
        let workers = g.workers.unwrap_or(1);
        if workers == 0 {
            return Err(ScenarioError::at(key("workers"), "must be at least 1"));
        }
        let weight = g.weight.unwrap_or(1);
        if weight == 0 || weight > 1_000_000 {
            return Err(ScenarioError::at(key("weight"), format!("must be from 1 to 1000000, got {weight}")));
        }
        let max_connections = match g.max_connections {
            Some(0) => {
                return Err(ScenarioError::at(
                    key("max_connections"),
                    "must be at least 1 (leave it out for no limit)",
                ));
            }
            m => m,
        };
        let service = g.service.as_ref().map(|s| validate_service(s, &key("service"))).transpose()?;
        let slow_start = super::slow_start::validate(g, &key)?;
        let cold_start = super::cold_start::validate(g, &key)?;
        let first = servers.len();
        for i in 0..count {
            let name = if count == 1 { g.name.clone() } else { format!("{}-{}", g.name, i + 1) };
            if !names.insert(name.clone()) {
                return Err(ScenarioError::at(key("name"), format!("server name `{name}` is used twice")));
            }
            servers.push(ServerInfo {
                name,
                speed,
                workers,
                queue_capacity: g.queue_capacity.unwrap_or(0),
                weight,
                max_connections,
                id: servers.len() as u32 + 1,
            });
        }
        // The model is the balancer's: every group ramps as the same balancer computes it.
        if let (Some(ss), Some(other)) = (slow_start, out.iter().find_map(|o: &Group| o.slow_start))
            && ss.model.name() != other.model.name()
        {
            return Err(ScenarioError::at(
                key("slow_start_model"),
                format!("is `{}`, another group's is `{}`", ss.model.name(), other.model.name()),
            )
            .with_help("the slow-start model is the balancer's: give every group the same one"));
        }
        out.push(Group { name: g.name.clone(), first, count: count as usize, service, slow_start, cold_start });
    }
    Ok((servers, out))
}

/// Parses the `strategies` list: names, or inline tables with `name` and parameters.
pub(super) fn parse_strategies(
    values: &[toml::Value],
    servers: &[ServerInfo],
    key: &str,
) -> Result<Vec<StrategySpec>, ScenarioError> {
    let mut out: Vec<StrategySpec> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let at = format!("{key}[{i}]");
        let (name, params) = match v {
            toml::Value::String(s) => (s.clone(), BTreeMap::new()),
            toml::Value::Table(t) => {
                let Some(name) = t.get("name").and_then(|n| n.as_str()) else {
                    return Err(ScenarioError::at(at, "an inline strategy table needs `name = \"...\"`"));
                };
                let params = t.iter().filter(|(k, _)| *k != "name").map(|(k, v)| (k.clone(), v.clone())).collect();
                (name.to_string(), params)
            }
            other => {
                return Err(ScenarioError::at(
                    at,
                    format!(
                        "a strategy is a name or an inline table like {{ name = \"p2c\", choices = 3 }}, got {other}"
                    ),
                ));
            }
        };
        let Some(info) = strategy::lookup(&name) else {
            let known: Vec<&str> = strategy::names().collect();
            return Err(ScenarioError::at(
                if params.is_empty() { at } else { format!("{at}.name") },
                format!("unknown strategy `{name}`; run `lbsim strategies` for the list"),
            )
            .suggest(&name, known.iter().copied()));
        };
        for p in params.keys() {
            if !info.params.iter().any(|pi| pi.name == p) {
                let allowed: Vec<&str> = info.params.iter().map(|pi| pi.name).collect();
                let what = if allowed.is_empty() {
                    "it takes no parameters".to_string()
                } else {
                    format!("it takes: {}", allowed.join(", "))
                };
                return Err(ScenarioError::at(format!("{at}.{p}"), format!("`{name}` has no parameter `{p}`; {what}"))
                    .suggest(p, allowed.iter().copied()));
            }
        }
        let params = Params::new(params);
        (info.build)(&params, servers).map_err(|e| {
            ScenarioError::at(format!("{at}.{}", e.param), format!("{name}: `{}` {}", e.param, e.message))
        })?;
        let label = if params.is_empty() {
            info.name.to_string()
        } else {
            let ps: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{}({})", info.name, ps.join(";"))
        };
        if out.iter().any(|s| s.label == label) {
            return Err(ScenarioError::at(at, format!("strategy `{label}` is listed twice")));
        }
        out.push(StrategySpec { name: info.name, label, params });
    }
    Ok(out)
}
