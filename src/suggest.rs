//! "Did you mean" suggestions for misspelt names (keys, strategies, columns, metrics).

/// The closest of `allowed` to `given`, if it is close enough to be a likely misspelling.
pub fn did_you_mean<'a>(given: &str, allowed: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let given_l = given.to_ascii_lowercase();
    allowed
        .into_iter()
        .map(|a| (strsim::jaro_winkler(&given_l, &a.to_ascii_lowercase()), a))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["round-robin", "random", "least-connections", "p2c"];
        assert_eq!(did_you_mean("round-robbin", names), Some("round-robin"));
        assert_eq!(did_you_mean("least-conections", names), Some("least-connections"));
        assert_eq!(did_you_mean("zzz", names), None);
    }
}
