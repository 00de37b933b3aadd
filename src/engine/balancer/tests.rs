//! Tests of the balancer: views, instances, eligibility, indexes.

use super::*;
use crate::strategy;
use crate::strategy::testutil::{req, rng, servers};

fn balancer(name: &str, weights: &[u32]) -> Balancer {
    Balancer::new(strategy::lookup(name).unwrap(), Params::default(), &servers(weights), rng())
}

#[test]
fn every_strategy_skips_ineligible_servers() {
    for info in strategy::registry::REGISTRY {
        let mut b = balancer(info.name, &[1, 2, 1, 3, 1]);
        b.set_healthy(1, false);
        b.set_ejected(3, true);
        for i in 0..200 {
            let s = b.pick::<true>(&req(i));
            assert!(s != 1 && s != 3, "{} picked ineligible {s}", info.name);
            b.inc::<true>(s, 0, 0.0);
            if i % 3 == 0 {
                b.dec::<true>(s, 0, 0.0);
            }
        }
        // In-flight bookkeeping survives the rebuilds.
        b.set_healthy(1, true);
        let total: u32 = b.in_flight().iter().sum();
        assert_eq!(total, 200 - 67, "{}", info.name);
    }
}

#[test]
fn panic_mode_uses_every_server_when_none_is_eligible() {
    let mut b = balancer("round-robin", &[1, 1, 1]);
    for s in 0..3 {
        b.set_healthy(s, false);
    }
    assert_eq!(b.panics, 1);
    let picks: Vec<usize> = (0..3).map(|i| b.pick::<true>(&req(i))).collect();
    assert_eq!(picks, vec![0, 1, 2]);
}

#[test]
fn slow_start_ramps_the_weight() {
    let mut b = balancer("weighted-round-robin", &[1, 1]);
    b.set_healthy(1, false);
    b.set_healthy(1, true);
    b.set_ramp(1, 5); // 5/20 of its weight
    let n = 2000;
    let to_1 = (0..n).filter(|&i| b.pick::<true>(&req(i)) == 1).count();
    assert_eq!(to_1, n as usize * 5 / 25);
    b.set_ramp(1, SLOW_START_STEPS);
    assert_eq!(b.ramp(1), 0);
    let to_1 = (0..n).filter(|&i| b.pick::<true>(&req(i)) == 1).count();
    assert_eq!(to_1, n as usize / 2);
}

#[test]
fn unbuildable_subset_falls_back_to_remapping() {
    let mut params = std::collections::BTreeMap::new();
    params.insert("choices".to_string(), toml::Value::Integer(3));
    let info = strategy::lookup("p2c").unwrap();
    let mut b = Balancer::new(info, Params::new(params), &servers(&[1, 1, 1]), rng());
    b.set_healthy(0, false);
    assert_eq!(b.fallbacks, 1);
    for i in 0..100 {
        assert_ne!(b.pick::<true>(&req(i)), 0);
    }
}

fn instances(name: &str, n_servers: usize, setup: Balancers) -> Balancer {
    let info = strategy::lookup(name).unwrap();
    Balancer::with_instances(info, Params::default(), &servers(&vec![1; n_servers]), &setup, rng())
}

fn on(b: u32, id: u64, at: f64) -> RequestView {
    RequestView { balancer: b, arrival: at, ..req(id) }
}

#[test]
fn local_views_see_only_their_own_requests() {
    let setup = Balancers { count: 2, view: View::Local, ..Balancers::default() };
    let mut b = instances("least-connections", 3, setup);
    // Instance 0 loads servers 0 and 1; instance 1 knows nothing of it and loads server 0.
    b.inc::<true>(0, 0, 0.0);
    b.inc::<true>(1, 0, 0.0);
    assert_eq!(b.pick::<true>(&on(0, 0, 0.0)), 2);
    b.inc::<true>(2, 1, 0.0);
    b.inc::<true>(1, 1, 0.0);
    assert_eq!(b.pick::<true>(&on(1, 1, 0.0)), 0, "instance 1 sees server 0 idle");
    assert_eq!(b.in_flight(), &[1, 2, 1], "the shared counts hold both");
    b.dec::<true>(1, 0, 1.0);
    assert_eq!(b.pick::<true>(&on(0, 2, 1.0)), 1, "instance 0's own request to 1 is answered");
}

#[test]
fn periodic_views_move_only_at_refreshes_and_count_own_adds_own_sends() {
    for count_own in [false, true] {
        let setup = Balancers { count: 2, view: View::Periodic { interval: 1.0, count_own }, ..Balancers::default() };
        let mut b = instances("least-connections", 2, setup);
        b.inc::<true>(0, 0, 0.0);
        b.inc::<true>(0, 1, 0.0);
        // The snapshot (both idle) is still what instance 1 reads; with count_own it
        // adds its own send to server 0.
        let want = if count_own { 1 } else { 0 };
        let picks: Vec<usize> = (0..2).map(|i| b.pick::<true>(&on(1, i, 0.5))).collect();
        assert!(picks.contains(&want), "count_own {count_own}: {picks:?}");
        b.refresh(1.0);
        assert!((0..4).all(|i| b.pick::<true>(&on(1, i, 1.0)) == 1), "after the refresh server 0 holds 2");
    }
}

#[test]
fn count_own_copies_only_for_instances_that_sent_this_interval() {
    let copies = |b: &Balancer| match &b.views {
        Views::Periodic { own: Some(own), .. } => own.len(),
        _ => unreachable!("a periodic view with count_own"),
    };
    let setup =
        Balancers { count: 1000, view: View::Periodic { interval: 1.0, count_own: true }, ..Balancers::default() };
    // p2c keeps no index: instances that have not sent since the refresh read the snapshot.
    let mut b = instances("p2c", 200, setup.clone());
    assert_eq!(copies(&b), 0);
    for i in 0..3 {
        b.inc::<true>(5, i, 0.1);
        b.inc::<true>(5, i, 0.2);
    }
    assert_eq!(copies(&b), 3);
    // Instance 7 reads the snapshot (server 5 idle), instance 0 its two sends there.
    let (mut to_5_by_7, mut to_5_by_0) = (0, 0);
    for i in 0..400 {
        to_5_by_7 += usize::from(b.pick::<true>(&on(7, i, 0.5)) == 5);
        to_5_by_0 += usize::from(b.pick::<true>(&on(0, i, 0.5)) == 5);
    }
    assert!(to_5_by_7 > 0 && to_5_by_0 == 0, "{to_5_by_7} {to_5_by_0}");
    // A refresh takes the copies back; the next senders reuse them.
    b.refresh(1.0);
    for i in 10..13 {
        b.inc::<true>(6, i, 1.1);
    }
    assert_eq!(copies(&b), 3);
    // A state with an index is told of its view's changes: every instance keeps a copy.
    let b = instances("least-connections", 200, setup);
    assert!(b.tracking);
    assert_eq!(copies(&b), 1000);
}

#[test]
fn delayed_views_apply_changes_once_they_are_old_enough() {
    let setup = Balancers { count: 1, view: View::Delayed { delay: 1.0 }, ..Balancers::default() };
    let mut b = instances("least-connections", 2, setup);
    b.inc::<true>(0, 0, 0.0);
    b.inc::<true>(0, 0, 0.0);
    b.inc::<true>(1, 0, 0.5);
    // At 0.9 the pool still looks idle: ties, round robin from server 0.
    assert_eq!(b.pick::<true>(&on(0, 0, 0.9)), 0);
    // At 1.0 the two sends of t = 0 are seen, not the one of 0.5.
    assert_eq!(b.pick::<true>(&on(0, 1, 1.0)), 1);
    b.dec::<true>(0, 0, 1.2);
    b.dec::<true>(0, 0, 1.2);
    // At 1.6: [2, 1] as of 0.6, not the answers of 1.2; at 2.2: [0, 1] as of 1.2.
    assert_eq!(b.pick::<true>(&on(0, 2, 1.6)), 1);
    assert_eq!(b.pick::<true>(&on(0, 3, 2.2)), 0);
    assert_eq!(b.in_flight(), &[0, 1]);
}

/// Drives two balancers through the same random sends, answers, start times, refreshes
/// and health changes — one whose strategies keep their indexes (100 servers), one whose
/// strategies scan — under every view, with one and three instances: the picks must be
/// the same.
#[test]
fn indexes_pick_as_the_scan_under_every_view() {
    use crate::strategy::testutil::scan_only;
    use rand::SeedableRng;
    let views = [
        View::Shared,
        View::Local,
        View::Periodic { interval: 1.0, count_own: false },
        View::Periodic { interval: 1.0, count_own: true },
        View::Delayed { delay: 0.7 },
    ];
    let strategies = [
        ("least-connections", None),
        ("weighted-least-connections", None),
        ("weighted-least-connections", Some("ipvs")),
        ("least-connections", Some("ipvs")),
        ("sed", None),
        ("nq", None),
        ("least-work-left", None),
        ("least-response-time", None),
    ];
    let n = 100;
    for view in views {
        for count in [1u32, 3] {
            for (name, variant) in strategies {
                let info = strategy::lookup(name).unwrap();
                let mut params = std::collections::BTreeMap::new();
                if let Some(v) = variant {
                    params.insert("variant".to_string(), toml::Value::String(v.to_string()));
                }
                if variant == Some("ipvs") {
                    // IPVS's index serves active counts alone (no ended connections).
                    params.insert("inactive_timeout".to_string(), toml::Value::String("0s".into()));
                }
                let params = Params::new(params);
                let setup = Balancers { count, view, ..Balancers::default() };
                let make = || Balancer::with_instances(info, params.clone(), &servers(&vec![1; n]), &setup, rng());
                let mut a = make();
                scan_only(true);
                let mut z = make();
                scan_only(false);
                assert!(a.tracking && !z.tracking, "{name}");
                let mut draw = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
                let mut out: Vec<(usize, u32)> = Vec::new();
                let mut down: Vec<usize> = Vec::new();
                let mut now = 0.0;
                for i in 0..3000u64 {
                    now += f64::from(draw.random_range(0..4u32)) * 0.1;
                    let b = draw.random_range(0..count);
                    let r = on(b, i, now);
                    let (x, y) = (a.pick::<true>(&r), z.pick::<true>(&r));
                    assert_eq!(x, y, "{name} {variant:?}, {count} × {view:?}: pick {i}");
                    let t = now + f64::from(draw.random_range(0..20u32)) * 0.1;
                    for bal in [&mut a, &mut z] {
                        bal.inc::<true>(x, b, now);
                        bal.set_start_at::<true>(x, t);
                    }
                    out.push((x, b));
                    while out.len() > 150 || (!out.is_empty() && draw.random_bool(0.5)) {
                        let (s, b) = out.swap_remove(draw.random_range(0..out.len()));
                        a.dec::<true>(s, b, now);
                        z.dec::<true>(s, b, now);
                    }
                    if i % 40 == 0 {
                        a.refresh(now);
                        z.refresh(now);
                    }
                    let health: Option<(usize, bool)> = match i % 700 {
                        350 | 360 => Some((draw.random_range(0..n), false)),
                        600 => down.pop().map(|s| (s, true)),
                        _ => None,
                    };
                    if let Some((s, up)) = health {
                        if !up {
                            down.push(s);
                        }
                        a.set_healthy(s, up);
                        scan_only(true);
                        z.set_healthy(s, up);
                        scan_only(false);
                    }
                }
            }
        }
    }
}

#[test]
fn instances_own_their_state_and_start_staggered() {
    let setup = Balancers { count: 8, ..Balancers::default() };
    let mut b = instances("round-robin", 4, setup);
    let firsts: Vec<usize> = (0..8).map(|i| b.pick::<true>(&on(i, 0, 0.0))).collect();
    assert!(firsts.iter().any(|&s| s != firsts[0]), "all in step: {firsts:?}");
    // Each instance then goes on with its own rotation.
    for i in 0..8u32 {
        let next = b.pick::<true>(&on(i, 1, 0.0));
        assert_eq!(next, (firsts[i as usize] + 1) % 4);
    }
}

/// `[balancers] subset`: every strategy, under every view, picks only servers of the
/// instance's subset while one of them is eligible; every eligible server when none is.
#[test]
fn subsets_keep_every_pick_inside_the_instances_subset() {
    use crate::scenario::{SubsetKind, Subsetting};
    use rand::SeedableRng;
    let (n, count) = (12, 5u32);
    let sub = Subsetting { size: 3, kind: SubsetKind::Random };
    let subsets = crate::workload::subsets::draw(&sub, count, n, 3);
    let views =
        [View::Shared, View::Local, View::Periodic { interval: 1.0, count_own: true }, View::Delayed { delay: 0.5 }];
    for info in strategy::registry::REGISTRY.iter().filter(|i| !i.cooperative) {
        for view in views {
            let setup = Balancers { count, view, subset: Some(sub), ..Balancers::default() };
            let mut b = Balancer::with_instances(info, Params::default(), &servers(&vec![1; n]), &setup, rng());
            b.set_subsets(subsets.clone());
            let mut draw = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
            let mut out: Vec<(usize, u32)> = Vec::new();
            for i in 0..600u64 {
                let now = i as f64 * 0.01;
                // Servers go down and up; instance 0's whole subset is down from 200 to 400.
                match i {
                    100 | 300 => {
                        b.set_healthy(subsets[1][0] as usize, i == 300);
                    }
                    200 | 400 => {
                        for &s in &subsets[0] {
                            b.set_healthy(s as usize, i == 400);
                        }
                    }
                    _ => {}
                }
                let c = draw.random_range(0..count);
                let s = b.pick::<true>(&on(c, i, now));
                let own: Vec<usize> =
                    subsets[c as usize].iter().map(|&s| s as usize).filter(|&s| b.is_eligible(s)).collect();
                if own.is_empty() {
                    assert!(b.is_eligible(s), "{}: instance {c} widened to ineligible {s}", info.name);
                } else {
                    assert!(own.contains(&s), "{} {view:?}: instance {c} picked {s} outside {own:?}", info.name);
                }
                b.inc::<true>(s, c, now);
                b.on_complete::<true>(s, c, 0.01, now);
                out.push((s, c));
                if draw.random_bool(0.6) {
                    let (s, c) = out.swap_remove(draw.random_range(0..out.len()));
                    b.dec::<true>(s, c, now);
                }
                if i % 30 == 0 {
                    b.refresh(now);
                }
            }
            assert_eq!(b.widened, 1, "{}: instance 0 widened once", info.name);
        }
    }
}

/// With subsets, a strategy keeping its index (a subset of 80 servers) picks as its scan.
#[test]
fn subset_indexes_pick_as_the_scan() {
    use crate::scenario::{SubsetKind, Subsetting};
    use crate::strategy::testutil::scan_only;
    use rand::SeedableRng;
    let (n, count) = (100, 3u32);
    let sub = Subsetting { size: 80, kind: SubsetKind::Random };
    let subsets = crate::workload::subsets::draw(&sub, count, n, 9);
    for name in ["least-connections", "least-work-left", "least-response-time"] {
        let info = strategy::lookup(name).unwrap();
        let setup = Balancers { count, subset: Some(sub), ..Balancers::default() };
        let make = || {
            let mut b = Balancer::with_instances(info, Params::default(), &servers(&vec![1; n]), &setup, rng());
            b.set_subsets(subsets.clone());
            b
        };
        let mut a = make();
        scan_only(true);
        let mut z = make();
        scan_only(false);
        assert!(a.first.client.as_ref().unwrap().tracks, "{name} keeps an index over 80 servers");
        let mut draw = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        let mut out: Vec<(usize, u32)> = Vec::new();
        for i in 0..3000u64 {
            let now = i as f64 * 0.01;
            let b = draw.random_range(0..count);
            let r = on(b, i, now);
            let (x, y) = (a.pick::<true>(&r), z.pick::<true>(&r));
            assert_eq!(x, y, "{name}: pick {i}");
            let t = now + f64::from(draw.random_range(0..20u32)) * 0.1;
            for bal in [&mut a, &mut z] {
                bal.inc::<true>(x, b, now);
                bal.set_start_at::<true>(x, t);
                bal.on_complete::<true>(x, b, t - now, now);
            }
            out.push((x, b));
            while out.len() > 150 || (!out.is_empty() && draw.random_bool(0.5)) {
                let (s, b) = out.swap_remove(draw.random_range(0..out.len()));
                a.dec::<true>(s, b, now);
                z.dec::<true>(s, b, now);
            }
            if i == 1500 {
                a.set_healthy(subsets[0][3] as usize, false);
                scan_only(true);
                z.set_healthy(subsets[0][3] as usize, false);
                scan_only(false);
            }
        }
    }
}

/// Hash-based states hold nothing of their own (no stagger draw, no index), so instances
/// with the same servers share one: each instance picks as a state built over its own
/// servers alone would, the balancer holds one state per distinct set of servers, and
/// instances widened to the same eligible servers share theirs.
#[test]
fn hash_based_instances_with_the_same_servers_share_a_state() {
    use crate::scenario::{SubsetKind, Subsetting};
    let (n, count) = (12, 40u32);
    for info in strategy::registry::REGISTRY.iter().filter(|i| i.keyed) {
        let pool = servers(&vec![1; n]);
        let mut st = (info.build)(&Params::default(), &pool).unwrap();
        let (mut r, before) = (rng(), rng());
        st.stagger(&mut r);
        assert!(r == before && !st.tracks_pool(), "{}: a hash-based state holds nothing of its own", info.name);
        // Subsets of 2 of 4 servers (6 possible) over 40 instances: many the same.
        let sub = Subsetting { size: 2, kind: SubsetKind::Random };
        let subsets = crate::workload::subsets::draw(&sub, count, 4, 1);
        let setup = Balancers { count, subset: Some(sub), ..Balancers::default() };
        let mut b = Balancer::with_instances(info, Params::default(), &pool[..4], &setup, rng());
        b.set_subsets(subsets.clone());
        let mut distinct = subsets.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(b.tables.held(), distinct.len(), "{}", info.name);
        let check = |b: &mut Balancer, eligible: &dyn Fn(usize) -> bool| {
            for c in 0..count {
                let mut own: Vec<usize> =
                    subsets[c as usize].iter().map(|&s| s as usize).filter(|&s| eligible(s)).collect();
                if own.is_empty() {
                    own = (0..4).filter(|&s| eligible(s)).collect();
                }
                let infos: Vec<ServerInfo> = own.iter().map(|&s| pool[s].clone()).collect();
                let mut alone = (info.build)(&Params::default(), &infos).unwrap();
                for k in 0..50u64 {
                    let r = on(c, k, 0.0);
                    let want = own[alone.pick(&r, &crate::strategy::Pool::new(&infos), &mut rng())];
                    assert_eq!(b.pick::<true>(&r), want, "{}: instance {c}, key {k}", info.name);
                }
            }
        };
        check(&mut b, &|_| true);
        // Servers 0 and 1 down: the instances of subset {0, 1} widen to {2, 3}, sharing its state.
        b.set_healthy(0, false);
        b.set_healthy(1, false);
        let left: Vec<Vec<usize>> = distinct
            .iter()
            .map(|s| {
                let own: Vec<usize> = s.iter().map(|&x| x as usize).filter(|&x| x >= 2).collect();
                if own.is_empty() { vec![2, 3] } else { own }
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(b.tables.held(), left.len(), "{}", info.name);
        check(&mut b, &|s| s >= 2);
        b.set_healthy(0, true);
        b.set_healthy(1, true);
        assert_eq!(b.tables.held(), distinct.len(), "{}", info.name);
        check(&mut b, &|_| true);
        // A subset of every server: one state for every instance.
        let all = Subsetting { size: n as u32, kind: SubsetKind::Deterministic };
        let setup = Balancers { count, subset: Some(all), ..Balancers::default() };
        let mut b = Balancer::with_instances(info, Params::default(), &pool, &setup, rng());
        b.set_subsets(crate::workload::subsets::draw(&all, count, n, 1));
        assert_eq!(b.tables.held(), 1, "{}", info.name);
    }
}

#[test]
fn own_counts_over_a_subset_keep_the_other_servers_in_a_short_list() {
    // An instance of subset {1, 4} that widened and sent to 0 and 7 as well.
    let mut c = OwnCounts::new(&[1, 4]);
    for (s, d) in [(4, 1), (1, 1), (7, 1), (4, 1), (0, 1), (7, 1)] {
        c.add(s, d);
    }
    assert_eq!([0, 1, 2, 4, 7].map(|s| c.get(s)), [1, 1, 0, 2, 2]);
    for (s, d) in [(7, -1), (0, -1), (7, -1), (4, -1)] {
        c.add(s, d);
    }
    assert_eq!([0, 1, 4, 7].map(|s| c.get(s)), [0, 1, 1, 0]);
}
