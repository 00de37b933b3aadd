//! The per-pick scans of the least-connections family, for pools without an index: the
//! server with the fewest connections per weight (exact cross-multiplied comparisons),
//! nginx's smooth weighted round robin among the tied, and the equal-weight fast path
//! (the tied servers as a bit mask, found with SSE2 on x86-64).

use std::ops::Mul;

/// The first server minimising `load(i) / weight[i]`, compared exactly by cross-multiplying
/// (`load_i × w_best < load_best × w_i`, as the real balancers compare), with its load and
/// whether a later server ties with it.
#[inline]
pub(in crate::strategy) fn least_per_weight<T>(weight: &[T], load: impl Fn(usize) -> T) -> (usize, T, bool)
where
    T: Copy + PartialOrd + Mul<Output = T>,
{
    let mut best = 0;
    let mut best_load = load(0);
    let mut many = false;
    for i in 1..weight.len() {
        let l = load(i);
        let (lhs, rhs) = (l * weight[best], best_load * weight[i]);
        if lhs < rhs {
            best = i;
            best_load = l;
            many = false;
        } else if lhs == rhs {
            many = true;
        }
    }
    (best, best_load, many)
}

/// Smooth WRR step among the peers from `first` on that `tied` accepts.
#[inline]
pub(in crate::strategy) fn smooth_wrr_among(
    current: &mut [i64],
    weight: &[i64],
    first: usize,
    tied: impl Fn(usize) -> bool,
) -> usize {
    let mut total = 0;
    let mut choice = first;
    for i in first..current.len() {
        if tied(i) {
            current[i] += weight[i];
            total += weight[i];
            if current[i] > current[choice] {
                choice = i;
            }
        }
    }
    current[choice] -= total;
    choice
}

/// nginx's rule with equal weights `w`: the fewest in flight; when several tie, smooth WRR
/// among them. The same picks as [`least_per_weight`] then [`smooth_wrr_among`], in passes
/// without data-dependent branches (the minimum, the number at it, then one step of smooth
/// WRR over the tied), which the compiler vectorises and which do not mispredict on ties.
///
/// Up to 64 servers (every pool without an index) the tied servers are first gathered
/// into a bit mask, so the smooth WRR step visits the tied ones only.
#[inline]
pub(super) fn uniform_pick(conns: &[u32], current: &mut [i64], w: i64) -> usize {
    if conns.len() <= 64 {
        let tied = lowest(conns);
        let first = tied.trailing_zeros() as usize;
        if tied & (tied - 1) == 0 {
            return first;
        }
        let (mut choice, mut top) = (first, i64::MIN);
        let mut rest = tied;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let cur = &mut current[i];
            *cur += w;
            if *cur > top {
                (choice, top) = (i, *cur);
            }
        }
        current[choice] -= w * i64::from(tied.count_ones());
        return choice;
    }
    let min = conns.iter().copied().fold(u32::MAX, u32::min);
    let ties = conns.iter().map(|&c| usize::from(c == min)).sum::<usize>();
    let first = conns.iter().position(|&c| c == min).expect("a server at the minimum");
    if ties == 1 {
        return first;
    }
    let mut choice = first;
    let mut top = i64::MIN;
    for (i, (&c, cur)) in conns.iter().zip(current.iter_mut()).enumerate().skip(first) {
        let tied = c == min;
        *cur += if tied { w } else { 0 };
        let better = tied & (*cur > top);
        top = if better { *cur } else { top };
        choice = if better { i } else { choice };
    }
    current[choice] -= w * ties as i64;
    choice
}

/// The servers with the fewest in flight, as a bit mask (server `i` is bit `i`), for pools
/// of at most 64: on x86-64, four servers per SSE2 instruction (the minimum, then the
/// comparison with it); elsewhere one by one.
#[inline]
pub(super) fn lowest(conns: &[u32]) -> u64 {
    debug_assert!((1..=64).contains(&conns.len()));
    debug_assert!(conns.iter().all(|&c| c < 1 << 31), "in-flight counts below 2³¹");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of every x86-64 processor (the architecture's baseline).
    unsafe {
        lowest_sse2(conns)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        lowest_scalar(conns)
    }
}

/// [`lowest`] one server at a time (the reference; other architectures).
#[cfg(any(test, not(target_arch = "x86_64")))]
pub(super) fn lowest_scalar(conns: &[u32]) -> u64 {
    let min = conns.iter().copied().fold(u32::MAX, u32::min);
    conns.iter().enumerate().fold(0, |tied, (i, &c)| tied | u64::from(c == min) << i)
}

/// [`lowest`] in SSE2 (part of every x86-64), four lanes at a time. Counts are compared as
/// `i32`: an in-flight count stays below 2³¹ (each held request is a job in memory; 2³¹ of
/// them would take over 80 GB). The lanes of a last partial quad are filled with the
/// largest value, so that they never hold the minimum; its matches are masked off.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn lowest_sse2(conns: &[u32]) -> u64 {
    use std::arch::x86_64::*;
    const NONE: i32 = i32::MAX;
    let min_of = |a: __m128i, b: __m128i| {
        let a_less = _mm_cmplt_epi32(a, b);
        _mm_or_si128(_mm_and_si128(a_less, a), _mm_andnot_si128(a_less, b))
    };
    let quads = conns.chunks_exact(4);
    let rest = quads.remainder();
    let load = |q: &[u32]| {
        debug_assert_eq!(q.len(), 4);
        // SAFETY: `q` is four u32 (16 bytes); the load has no alignment requirement.
        unsafe { _mm_loadu_si128(q.as_ptr().cast()) }
    };
    let at = |k: usize| rest.get(k).map_or(NONE, |&c| c as i32);
    let tail = _mm_set_epi32(at(3), at(2), at(1), at(0));
    let mut m = tail;
    for q in quads.clone() {
        m = min_of(m, load(q));
    }
    // Every lane to the minimum of the four.
    m = min_of(m, _mm_shuffle_epi32::<0b01_00_11_10>(m));
    m = min_of(m, _mm_shuffle_epi32::<0b10_11_00_01>(m));
    let bits = |v: __m128i| _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, m))) as u64;
    let mut tied = 0u64;
    let mut shift = 0;
    for q in quads {
        tied |= bits(load(q)) << shift;
        shift += 4;
    }
    if !rest.is_empty() {
        tied |= bits(tail) << shift;
    }
    // Only the pool's own lanes.
    tied & (u64::MAX >> (64 - conns.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The equal-weight pick (a bit mask of the tied up to 64 servers, passes beyond) makes
    /// exactly the picks, and leaves exactly the smooth-WRR state, of the general rule.
    #[test]
    fn uniform_pick_is_the_general_rule() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(13);
        for n in [1, 2, 3, 16, 63, 64, 65, 80] {
            let w = 3;
            let weight = vec![w; n];
            let (mut fast, mut general) = (vec![0i64; n], vec![0i64; n]);
            for _ in 0..2_000 {
                // Few distinct counts: ties are the rule.
                let conns: Vec<u32> = (0..n).map(|_| rng.random_range(0..3)).collect();
                let load = |i: usize| i64::from(conns[i]);
                let (best, best_load, many) = least_per_weight(&weight, load);
                let want = if many {
                    smooth_wrr_among(&mut general, &weight, best, |i| load(i) * w == best_load * weight[i])
                } else {
                    best
                };
                assert_eq!(uniform_pick(&conns, &mut fast, w), want, "{n} servers, {conns:?}");
                assert_eq!(fast, general);
            }
        }
    }

    /// The vectorised minimum-and-ties mask is the one-by-one one, for every pool size it
    /// serves, with counts near the top of its range too.
    #[test]
    fn lowest_is_the_scalar_rule() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(17);
        for n in 1..=64 {
            for round in 0..300 {
                let base = if round % 3 == 0 { i32::MAX as u32 - 3 } else { 0 };
                let conns: Vec<u32> = (0..n).map(|_| base + rng.random_range(0..4)).collect();
                assert_eq!(lowest(&conns), lowest_scalar(&conns), "{conns:?}");
            }
        }
    }
}
