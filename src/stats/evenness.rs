//! Imbalance of a load vector: the servers' capacity-normalised loads ρ_i (see
//! [`super::summary`]), or requests per server.

/// Largest load over mean load (1 = perfectly even). NaN for an empty or all-zero vector.
pub fn max_over_mean(x: &[f64]) -> f64 {
    let mean = mean(x);
    x.iter().cloned().fold(f64::NEG_INFINITY, f64::max) / mean
}

/// Coefficient of variation: population standard deviation over mean (0 = even).
pub fn cv(x: &[f64]) -> f64 {
    let m = mean(x);
    let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64;
    var.sqrt() / m
}

/// Jain's fairness index (Σx)² / (n Σx²): 1 when even, 1/n when one server takes all.
pub fn jain(x: &[f64]) -> f64 {
    let s: f64 = x.iter().sum();
    let s2: f64 = x.iter().map(|v| v * v).sum();
    s * s / (x.len() as f64 * s2)
}

/// Largest load (−∞ for an empty vector).
pub fn max(x: &[f64]) -> f64 {
    x.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
}

/// Largest load over total load: the busiest server's share (1/n when even). NaN when all zero.
pub fn max_share(x: &[f64]) -> f64 {
    x.iter().cloned().fold(f64::NEG_INFINITY, f64::max) / x.iter().sum::<f64>()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// A server's load ρ: `work` routed to it (seconds at its nominal speed) over what its
/// `workers` could do in the `available` seconds its capacity had (the window less the
/// capacity lost to crashes and slowdowns). 0 when nothing was routed to it (a server down
/// for the whole window has no capacity and no work).
pub fn load(work: f64, workers: f64, available: f64) -> f64 {
    if work == 0.0 { 0.0 } else { work / (workers * available.max(f64::MIN_POSITIVE)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_and_skewed() {
        let even = [5.0, 5.0, 5.0, 5.0];
        assert_eq!(max_over_mean(&even), 1.0);
        assert_eq!(cv(&even), 0.0);
        assert_eq!(jain(&even), 1.0);
        assert_eq!(max_share(&even), 0.25);
        let one = [4.0, 0.0, 0.0, 0.0];
        assert_eq!(max_over_mean(&one), 4.0);
        assert!((jain(&one) - 0.25).abs() < 1e-12);
        assert_eq!(max_share(&one), 1.0);
        assert!((cv(&one) - 3f64.sqrt()).abs() < 1e-12);
    }
}
