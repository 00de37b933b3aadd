//! Closed-form queueing results the simulator is validated against (`theory`, `policies`,
//! `balancers`). Notation: λ arrival rate, μ service rate of one worker, S servers.
//! Formulas: `shared/reference/queueing.md`.

/// M/M/1 mean response time 1/(μ − λ); +∞ when λ ≥ μ.
pub(crate) fn mm1_mean_response(lambda: f64, mu: f64) -> f64 {
    if lambda >= mu { f64::INFINITY } else { 1.0 / (mu - lambda) }
}

/// M/M/1 response-time q-quantile: the response is exponential with rate μ − λ.
pub(crate) fn mm1_response_quantile(lambda: f64, mu: f64, q: f64) -> f64 {
    -(1.0 - q).ln() * mm1_mean_response(lambda, mu)
}

/// Pollaczek–Khinchine M/G/1 mean response: E\[T\] + ρ(1 + C²)E\[T\] / (2(1 − ρ)),
/// with ρ = λE\[T\] and C the service time's coefficient of variation.
pub(crate) fn mg1_mean_response(lambda: f64, mean_service: f64, cv: f64) -> f64 {
    let rho = lambda * mean_service;
    if rho >= 1.0 {
        return f64::INFINITY;
    }
    mean_service + rho * (1.0 + cv * cv) * mean_service / (2.0 * (1.0 - rho))
}

/// Erlang C: probability that an arrival waits in M/M/c with offered load a = λ/μ.
pub(crate) fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    if rho >= 1.0 {
        return 1.0;
    }
    // Σ_{k<c} a^k/k! and a^c/c!, computed iteratively to avoid overflow.
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let last = term / (1.0 - rho);
    last / (sum + last)
}

/// M/M/c mean response: C(c, a)/(cμ − λ) + 1/μ.
pub(crate) fn mmc_mean_response(lambda: f64, mu: f64, c: u32) -> f64 {
    let a = lambda / mu;
    if a >= f64::from(c) {
        return f64::INFINITY;
    }
    erlang_c(c, a) / (f64::from(c) * mu - lambda) + 1.0 / mu
}

/// GI/M/1 root σ ∈ (0, 1) of σ = A*(μ(1 − σ)) for Erlang-k interarrivals of total rate
/// `lambda` split round-robin over k servers: A*(s) = (λ/(λ + s))^k.
pub(crate) fn ek_m1_sigma(lambda: f64, mu: f64, k: u32) -> f64 {
    let lst = |s: f64| (lambda / (lambda + s)).powi(k as i32);
    let mut sigma = 0.5;
    for _ in 0..100_000 {
        let next = lst(mu * (1.0 - sigma));
        if (next - sigma).abs() < 1e-15 {
            return next;
        }
        sigma = next;
    }
    sigma
}

/// Round robin of Poisson(λ) over S exponential servers: each is E_S/M/1, with mean
/// response 1/(μ(1 − σ)).
pub(crate) fn round_robin_mean_response(lambda: f64, mu: f64, servers: u32) -> f64 {
    if lambda >= mu * f64::from(servers) {
        return f64::INFINITY;
    }
    1.0 / (mu * (1.0 - ek_m1_sigma(lambda, mu, servers)))
}

/// Mitzenmacher's supermarket-model limit (n → ∞) of the mean response for power of `d`
/// choices, per-server load `lambda` < 1 and exponential service of mean 1:
/// Σ_{i≥1} λ^((dⁱ − d)/(d − 1)).
pub(crate) fn supermarket_mean_response(lambda: f64, d: u32) -> f64 {
    if d == 1 {
        return 1.0 / (1.0 - lambda);
    }
    let d = f64::from(d);
    let mut sum = 0.0;
    for i in 1..64 {
        let e = (d.powi(i) - d) / (d - 1.0);
        let t = lambda.powf(e);
        sum += t;
        if t < 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        // queueing.md: S = 4, ρ = 0.5 → σ ≈ 0.3019, mean response ≈ 1.4325/μ.
        let sigma = ek_m1_sigma(2.0, 1.0, 4);
        assert!((sigma - 0.3019).abs() < 1e-4, "{sigma}");
        assert!((round_robin_mean_response(2.0, 1.0, 4) - 1.4325).abs() < 1e-4);
        // S = 1 round robin is M/M/1.
        assert!((round_robin_mean_response(0.7, 1.0, 1) - 1.0 / 0.3).abs() < 1e-9);
        // M/M/1 as M/M/c with c = 1, and M/G/1 with cv = 1.
        assert!((mmc_mean_response(0.7, 1.0, 1) - 1.0 / 0.3).abs() < 1e-12);
        assert!((mg1_mean_response(0.7, 1.0, 1.0) - 1.0 / 0.3).abs() < 1e-12);
        // Erlang C, c = 2, a = 1: C = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        // Supermarket: d = 1 is M/M/1; d = 2, λ = 0.9: 1 + .9² + .9⁶ + .9¹⁴ + …
        assert!((supermarket_mean_response(0.5, 1) - 2.0).abs() < 1e-12);
        let t2 = supermarket_mean_response(0.9, 2);
        assert!(
            (t2 - (1.0
                + 0.81
                + 0.9f64.powi(6)
                + 0.9f64.powi(14)
                + 0.9f64.powi(30)
                + 0.9f64.powi(62)
                + 0.9f64.powi(126)))
            .abs()
                < 1e-9
        );
    }
}
