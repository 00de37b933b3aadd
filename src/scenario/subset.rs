//! `[balancers] subset`: each balancer instance (a client: a sidecar, a proxy) may send
//! only to a subset of the backends, as large fleets do to bound connections per client.
//! The subsets themselves are drawn in `workload/subsets.rs`.

use super::schema::RawSubset;
use super::{Scenario, ScenarioError};
pub use crate::workload::subsets::{SUBSET_KINDS, SubsetKind, Subsetting};

impl Scenario {
    /// The subsets of the balancer instances, drawn from the scenario seed (`None` without
    /// `[balancers] subset`; see [`crate::workload::subsets`]).
    pub fn subsets(&self) -> Option<Vec<Vec<u32>>> {
        self.drawn_subsets().map(|d| d.subsets)
    }

    /// The subsets with, for `kind = "aperture"`, each server's weight in its instance's
    /// slice ([`crate::workload::subsets::Drawn`]).
    pub fn drawn_subsets(&self) -> Option<crate::workload::subsets::Drawn> {
        let weights: Vec<u32> = self.servers.iter().map(|s| s.weight).collect();
        self.balancers
            .subset
            .map(|sub| crate::workload::subsets::draw_weighted(&sub, self.balancers.count, &weights, self.seed))
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
        Some("aperture") => SubsetKind::Aperture,
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
