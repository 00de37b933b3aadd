//! `[balancers] subset`: each balancer instance (a client: a sidecar, a proxy) may send
//! only to a subset of the backends, as large fleets do to bound connections per client.
//! The subsets themselves are drawn in `workload/subsets.rs`.

use serde::Serialize;

use super::ScenarioError;
use super::schema::RawSubset;

/// How each instance's subset is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubsetKind {
    /// Each client draws `size` distinct backends uniformly at random, independently of the
    /// others (Finagle's random aperture without its load-driven resizing; a client that
    /// picks its backends alone).
    Random,
    /// Google's deterministic subsetting (SRE book, chapter 20, "Load Balancing in the
    /// Datacenter"): clients in rounds of `backends / size`, one shuffle per round, each
    /// client a distinct slice of it.
    Deterministic,
}

/// The accepted values of `kind`.
pub const SUBSET_KINDS: &[&str] = &["random", "deterministic"];

impl SubsetKind {
    /// The value as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            SubsetKind::Random => "random",
            SubsetKind::Deterministic => "deterministic",
        }
    }
}

/// `subset = { size, kind }`: every balancer instance sends only to `size` of the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Subsetting {
    /// Backends per instance (1 to the number of servers).
    pub size: u32,
    /// How the subsets are chosen.
    pub kind: SubsetKind,
}

impl Subsetting {
    /// The setup in a few words, e.g. `deterministic subsets of 10 servers`.
    pub fn describe(&self) -> String {
        format!("{} subsets of {} server{}", self.kind.name(), self.size, if self.size == 1 { "" } else { "s" })
    }
}

/// Validates `subset`; `servers` is the number of declared server slots.
pub(super) fn validate_subset(raw: &RawSubset, servers: usize) -> Result<Subsetting, ScenarioError> {
    let Some(size) = raw.size else {
        return Err(ScenarioError::at(
            "balancers.subset",
            "`subset` needs `size`, the number of servers each balancer instance may use, e.g. subset = { size = \
             10, kind = \"deterministic\" }",
        ));
    };
    if size == 0 || size as usize > servers {
        return Err(ScenarioError::at(
            "balancers.subset.size",
            format!("must be from 1 to the {servers} servers of the pool, got {size}"),
        ));
    }
    let kind = match raw.kind.as_deref() {
        Some("random") => SubsetKind::Random,
        Some("deterministic") => SubsetKind::Deterministic,
        None => {
            return Err(ScenarioError::at(
                "balancers.subset",
                format!("`subset` needs `kind`, how the subsets are chosen: {}", SUBSET_KINDS.join(" or ")),
            ));
        }
        Some(other) => {
            return Err(ScenarioError::at(
                "balancers.subset.kind",
                format!("unknown subset kind `{other}`; allowed: {}", SUBSET_KINDS.join(", ")),
            )
            .suggest(other, SUBSET_KINDS.iter().copied()));
        }
    };
    Ok(Subsetting { size, kind })
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;

    const BASE: &str = "requests = 1000\nstrategies = [\"p2c\"]\n[arrivals]\nprocess = \"poisson\"\nrate = 100.0\n\
                        [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\n\
                        count = 4\n[balancers]\ncount = 3\n";

    #[test]
    fn subsets_are_read_and_described() {
        let sc = Scenario::parse(&format!("{BASE}subset = {{ size = 2, kind = \"deterministic\" }}\n"), None).unwrap();
        let sub = sc.balancers.subset.unwrap();
        assert_eq!((sub.size, sub.kind), (2, super::SubsetKind::Deterministic));
        assert!(!sc.balancers.is_default());
        assert!(
            sc.balancers.describe().ends_with(", deterministic subsets of 2 servers"),
            "{}",
            sc.balancers.describe()
        );
    }

    #[test]
    fn subset_mistakes_are_located_and_explained() {
        for (extra, key, words) in [
            ("subset = { kind = \"random\" }\n", "balancers.subset", "needs `size`"),
            ("subset = { size = 0, kind = \"random\" }\n", "balancers.subset.size", "from 1 to the 4 servers"),
            ("subset = { size = 5, kind = \"random\" }\n", "balancers.subset.size", "got 5"),
            ("subset = { size = 2 }\n", "balancers.subset", "needs `kind`"),
            ("subset = { size = 2, kind = \"determinstic\" }\n", "balancers.subset.kind", "unknown subset kind"),
        ] {
            let e = Scenario::parse(&format!("{BASE}{extra}"), None).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{extra}: {e}");
            assert!(e.message.contains(words), "{extra}: {e}");
            assert!(e.line.is_some(), "{extra}: {e}");
        }
        let e =
            Scenario::parse(&format!("{BASE}subset = {{ size = 2, kind = \"determinstic\" }}\n"), None).unwrap_err();
        assert!(e.help.as_deref().unwrap_or("").contains("deterministic"), "{e:?}");
        let p2c = BASE.replace("\"p2c\"", "{ name = \"p2c\", choices = 3 }");
        let e = Scenario::parse(&format!("{p2c}subset = {{ size = 2, kind = \"random\" }}\n"), None).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("strategies[0].choices"), "{e}");
        assert!(e.message.contains("over a subset of 2 server(s)"), "{e}");
        assert!(e.line.is_some(), "{e}");
        let jiq = BASE.replace("\"p2c\"", "\"join-idle-queue\"");
        let e = Scenario::parse(&format!("{jiq}subset = {{ size = 2, kind = \"random\" }}\n"), None).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("balancers.subset"), "{e}");
    }
}
