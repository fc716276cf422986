//! The DP dashboard: contributions bounded per person, every cell noised with the stated
//! error bars, the ledger charged first.

use std::time::Duration;

use websight_core::analytics::Documents;
use websight_core::flow::Observer;
use websight_core::synth::{Generator, SynthConfig};
use websight_dp::dashboard::{ContributionBounds, DashboardTally, ScheduledRelease, error95};
use websight_dp::exact::seeded_for_tests;
use websight_dp::{DpError, Ledger};
use websight_testkit::scratch_dir;

fn ledger(name: &str, epsilon: f64) -> Ledger {
    let dir = scratch_dir(&format!("dpdash-{name}"));
    Ledger::open(dir.join("ledger.json"), epsilon, 1e-6).unwrap()
}

/// The documents of `sessions` generated sessions.
fn documents(sessions: u64, seed: u64) -> Documents {
    let g = Generator::new(SynthConfig {
        sessions,
        seed,
        ..SynthConfig::default()
    })
    .unwrap();
    websight_testkit::documents_of(&g)
}

fn bounds(k: u32) -> ContributionBounds {
    ContributionBounds {
        visits_per_person: k,
        ..ContributionBounds::default()
    }
}

/// A tally at k of the visits of 3,000 sessions, and how many visits there were.
/// The documents with each visit labelled by a user id its events carry, as stores written
/// before persons were named by their first seen id often hold them: a person's visits
/// before and after a login under two labels.
fn labelled_by_user(mut docs: Documents) -> Documents {
    for v in &mut docs.visits {
        if let Some(user) = v.events.iter().find_map(|e| e.user_id.clone()) {
            v.person = user;
        }
    }
    docs
}

fn tally(k: u32) -> (DashboardTally, usize) {
    let docs = labelled_by_user(documents(3_000, 4));
    let mut t = DashboardTally::new(bounds(k)).unwrap();
    t.documents(&docs);
    (t, docs.visits.len())
}

#[test]
fn counts_are_bounded_per_person_and_noised_within_the_error_bars() {
    let (exact_tally, visits) = tally(1_000);
    let (bounded, _) = tally(1);
    assert_eq!(exact_tally.dropped(), 0);
    assert!(bounded.dropped() > 0 && (bounded.dropped() as usize) < visits);
    // A huge ε: the release equals the bounded sums (noise far below one).
    let l = ledger("exact", 1e9);
    let sharp = exact_tally
        .release(1e8, &l, &mut seeded_for_tests(1))
        .unwrap();
    let sessions: i64 = sharp.by_day.iter().map(|(_, r)| r.sessions).sum();
    assert_eq!(sessions as usize, visits);
    let by_channel: i64 = sharp.by_channel.iter().map(|(_, r)| r.sessions).sum();
    assert_eq!(by_channel as usize, visits);
    assert_eq!(sharp.by_channel.len(), 19, "every GA4 channel, seen or not");
    // Consecutive days, none missing.
    assert!(
        sharp
            .by_day
            .windows(2)
            .all(|w| w[1].0 == w[0].0.succ_opt().unwrap())
    );

    // At ε = 1 the noise on each count lies within the stated 95 % bar about 95 % of the
    // time (over 20 releases of every cell).
    let l = ledger("noisy", 1_000.0);
    let (mut inside, mut total) = (0, 0);
    for seed in 0..20 {
        let r = bounded
            .release(1.0, &l, &mut seeded_for_tests(seed))
            .unwrap();
        let truth = bounded
            .release(
                1e8,
                &ledger(&format!("t{seed}"), 1e9),
                &mut seeded_for_tests(seed),
            )
            .unwrap();
        assert_eq!(r.count_error95, error95(8.0));
        for ((_, a), (_, b)) in r.by_day.iter().zip(&truth.by_day) {
            for (x, y) in [
                (a.visitors, b.visitors),
                (a.sessions, b.sessions),
                (a.orders, b.orders),
            ] {
                total += 1;
                inside += usize::from(((x - y).abs() as f64) <= r.count_error95);
            }
        }
    }
    let coverage = inside as f64 / total as f64;
    assert!(
        (0.93..=0.975).contains(&coverage),
        "coverage {coverage} over {total}"
    );
}

#[test]
fn the_ledger_is_charged_first_and_a_refusal_releases_nothing() {
    let (t, _) = tally(4);
    let l = ledger("refuse", 1.5);
    let r = t.release(1.0, &l, &mut seeded_for_tests(3)).unwrap();
    assert_eq!(r.budget_epsilon, 1.5);
    assert!((r.budget_left - 0.5).abs() < 1e-12);
    assert!((chrono::Utc::now() - r.released_at).num_seconds().abs() < 60);
    assert!(matches!(
        t.release(1.0, &l, &mut seeded_for_tests(3)),
        Err(DpError::BudgetExceeded { .. })
    ));
    assert_eq!(l.entries().unwrap().len(), 1);
    assert_eq!(
        l.entries().unwrap()[0].guarantees,
        DashboardTally::guarantees(1.0)
    );
}

#[test]
fn a_snapshot_restores_the_same_tally() {
    let (t, _) = tally(2);
    let mut back = DashboardTally::new(ContributionBounds::default()).unwrap();
    back.restore(t.snapshot()).unwrap();
    assert_eq!(back, t);
}

/// A flow for [`Observer::progress`] (which a schedule does not read).
fn flow() -> websight_core::flow::Flow {
    use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
    use websight_core::flow::{Flow, Ingest};
    use websight_core::gate::{Gate, GateConfig};
    use websight_core::privacy::{Privacy, PrivacyConfig};
    Flow::new(
        Ingest::new(Privacy::new(PrivacyConfig::default()).unwrap()),
        Gate::new(GateConfig::default()).unwrap(),
        StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default()).unwrap(),
    )
}

#[test]
fn a_scheduled_release_repeats_each_period_until_the_ledger_refuses() {
    use std::sync::{Arc, Mutex};
    let flow = flow();
    let (t, _) = tally(4);
    let l = ledger("schedule", 1.0);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let told = seen.clone();
    let every = Some(Duration::from_millis(1));
    let mut s = ScheduledRelease::new(t.clone(), 0.4, l.clone(), every, move |_, r| {
        told.lock().unwrap().push(r.is_ok());
    })
    .unwrap();
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(3));
        s.progress(&flow);
    }
    // 0.4 + 0.4 fit in the budget of 1; the third is refused, and then none is tried.
    assert_eq!(*seen.lock().unwrap(), [true, true, false]);
    assert_eq!(l.entries().unwrap().len(), 2);
    assert!(matches!(s.release(), Err(DpError::BudgetExceeded { .. })));
    assert!((s.last().unwrap().budget_left - 0.2).abs() < 1e-9);
    // A checkpoint holds what the bare tally's does.
    assert_eq!(s.snapshot(), t.snapshot());
    assert_eq!(s.tally(), &t);
    // Without a period it releases only when asked, and when a run finishes.
    let l = ledger("unscheduled", 1.0);
    let mut asked = ScheduledRelease::new(t.clone(), 0.1, l.clone(), None, |_, _| {}).unwrap();
    std::thread::sleep(Duration::from_millis(3));
    asked.progress(&flow);
    assert!(l.entries().unwrap().is_empty());
    asked.release().unwrap();
    assert_eq!(l.entries().unwrap().len(), 1);
    assert!(asked.finish().is_some());
    assert_eq!(l.entries().unwrap().len(), 2);
    // A period past the clock's end never comes (and does not overflow it).
    let mut never =
        ScheduledRelease::new(t.clone(), 0.1, l.clone(), Some(Duration::MAX), |_, _| {}).unwrap();
    never.progress(&flow);
    assert_eq!(l.entries().unwrap().len(), 2);
    let zero = ScheduledRelease::new(t, 0.1, l, Some(Duration::ZERO), |_, _| {});
    assert!(zero.is_err());
}

#[test]
fn error_bars_are_the_discrete_laplace_quantiles() {
    // b = 1: P(|X| > t) = 2e^{−(t+1)}/(1 + e^{−1}); the smallest t with at most 0.05.
    let q = (-1.0f64).exp();
    let tail = |t: f64| 2.0 * q.powf(t + 1.0) / (1.0 + q);
    let t = error95(1.0);
    assert!(tail(t) <= 0.05 && tail(t - 1.0) > 0.05, "t = {t}");
    // Large scales: close to the continuous b·ln 20.
    assert!((error95(1_000.0) / (1_000.0 * 20f64.ln()) - 1.0).abs() < 0.01);
}

/// Visitors and sessions per day (days with a visit) and per channel (channels with one) a
/// tally must hold, and its number of persons, counted the plain way: visits in the order
/// they came, a visit carrying ids of persons counted apart joining them (their counts added,
/// each id relabelled), each person's visits counted while they have fewer than k, distinct
/// persons per cell.
#[allow(clippy::type_complexity)]
fn reference_sums(
    docs: &Documents,
    k: usize,
) -> (Vec<(i64, i64)>, Vec<(String, (i64, i64))>, usize) {
    use std::collections::{BTreeMap, HashMap, HashSet};
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    let mut counted: Vec<usize> = Vec::new();
    // Per cell, the (group, visit) that made each visitor of it: a group joined later stays
    // counted as it was.
    let mut by_day: BTreeMap<chrono::NaiveDate, (HashSet<usize>, i64)> = BTreeMap::new();
    let mut by_channel: BTreeMap<String, (HashSet<usize>, i64)> = BTreeMap::new();
    // Which cells each group has been counted in.
    let mut days_of: Vec<HashSet<chrono::NaiveDate>> = Vec::new();
    let mut channels_of: Vec<HashSet<String>> = Vec::new();
    let mut visitor = 0;
    for v in &docs.visits {
        let ids = v.ids();
        let groups: Vec<usize> = ids
            .iter()
            .filter_map(|id| group_of.get(id).copied())
            .collect();
        let g = match groups.first() {
            Some(&g) => g,
            None => {
                counted.push(0);
                days_of.push(HashSet::new());
                channels_of.push(HashSet::new());
                counted.len() - 1
            }
        };
        for &other in groups.iter().filter(|&&o| o != g) {
            if counted[other] == usize::MAX {
                continue; // already joined into g
            }
            counted[g] += counted[other];
            let (days, channels) = (days_of[other].clone(), channels_of[other].clone());
            days_of[g].extend(days);
            channels_of[g].extend(channels);
            counted[other] = usize::MAX;
            for gid in group_of.values_mut() {
                if *gid == other {
                    *gid = g;
                }
            }
        }
        for id in ids {
            group_of.insert(id, g);
        }
        if counted[g] < k {
            counted[g] += 1;
            let day = v.started_at().date_naive();
            let channel = v.acquisition.channel.as_str().to_owned();
            for (cell, new) in [
                (by_day.entry(day).or_default(), days_of[g].insert(day)),
                (
                    by_channel.entry(channel.clone()).or_default(),
                    channels_of[g].insert(channel),
                ),
            ] {
                if new {
                    visitor += 1;
                    cell.0.insert(visitor);
                }
                cell.1 += 1;
            }
        }
    }
    let sums = |(visitors, sessions): &(HashSet<usize>, i64)| (visitors.len() as i64, *sessions);
    let persons = counted.iter().filter(|&&c| c != usize::MAX).count();
    (
        by_day.values().map(sums).collect(),
        by_channel
            .iter()
            .map(|(c, cell)| (c.clone(), sums(cell)))
            .collect(),
        persons,
    )
}

#[test]
fn visitors_and_sessions_are_the_plainly_counted_ones() {
    let docs = labelled_by_user(documents(3_000, 4));
    let labels: std::collections::HashSet<_> = docs.visits.iter().map(|v| &v.person).collect();
    for k in [1, 2, 1_000] {
        let (t, _) = tally(k);
        let l = ledger(&format!("plain{k}"), 1e9);
        let sharp = t.release(1e8, &l, &mut seeded_for_tests(1)).unwrap();
        // Cells without a visit are released too (as zeros); the reference has none.
        let by_day: Vec<(i64, i64)> = sharp
            .by_day
            .iter()
            .map(|(_, r)| (r.visitors, r.sessions))
            .filter(|&(_, sessions)| sessions > 0)
            .collect();
        let mut by_channel: Vec<(String, (i64, i64))> = sharp
            .by_channel
            .iter()
            .map(|(c, r)| (c.clone(), (r.visitors, r.sessions)))
            .filter(|(_, (_, sessions))| *sessions > 0)
            .collect();
        by_channel.sort();
        let (days, channels, persons) = reference_sums(&docs, k as usize);
        assert_eq!((by_day, by_channel), (days, channels), "k = {k}");
        assert_eq!(t.persons(), persons);
        // Persons whose visits closed under two labels are counted as one.
        assert!(
            persons < labels.len(),
            "{persons} persons, {} labels",
            labels.len()
        );
    }
}

#[test]
fn a_checkpoint_of_the_earlier_format_restores_to_the_same_counts() {
    // Written by the tally of 8ae000e (persons as three sets keyed by pseudonym) for 400
    // sessions at k = 2.
    let old: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/dashboard_tally_v1.json")).unwrap();
    assert!(old.get("counted").is_some() && old.get("persons").is_none());
    let mut restored = DashboardTally::new(ContributionBounds::default()).unwrap();
    restored.restore(old.clone()).unwrap();
    let now = restored.snapshot();
    for field in ["bounds", "cap_units", "by_day", "by_channel", "dropped"] {
        assert_eq!(now[field], old[field], "{field}");
    }
    assert_eq!(
        restored.persons(),
        old["counted"].as_object().unwrap().len()
    );
    let mut back = DashboardTally::new(ContributionBounds::default()).unwrap();
    back.restore(now).unwrap();
    assert_eq!(back, restored);
    // It goes on counting: the same visits again are second visits (counted) or beyond the
    // bound (dropped).
    let docs = documents(400, 11);
    let (sessions, dropped) = (total_sessions(&restored), restored.dropped());
    restored.documents(&docs);
    assert!(restored.dropped() > dropped);
    assert!(total_sessions(&restored) > sessions);
}

/// Visits counted, from an exact release.
fn total_sessions(t: &DashboardTally) -> i64 {
    let l = ledger("sessions", 1e9);
    let sharp = t.release(1e8, &l, &mut seeded_for_tests(1)).unwrap();
    sharp.by_day.iter().map(|(_, r)| r.sessions).sum()
}

#[test]
fn a_damaged_checkpoint_is_an_error_not_a_tally() {
    let (t, _) = tally(2);
    let good = t.snapshot();
    let persons = good["persons"].as_str().unwrap().to_owned();
    for bad in [
        persons[..persons.len() - 2].to_owned(),
        format!("{persons}zz"),
        format!("{persons}{}", &persons[..56 + 8]),
    ] {
        let mut snapshot = good.clone();
        snapshot["persons"] = bad.into();
        let mut back = DashboardTally::new(ContributionBounds::default()).unwrap();
        assert!(back.restore(snapshot).is_err());
    }
}

#[test]
fn a_schedule_keeps_its_rhythm_across_restarts() {
    let flow = flow();
    let (t, _) = tally(4);
    let hour = Some(Duration::from_secs(3_600));
    let l = ledger("rhythm", 10.0);
    let start = |l: &Ledger| ScheduledRelease::new(t.clone(), 0.5, l.clone(), hour, |_, _| {});
    // The first run ever, stopped within its first hour: its end is the first release.
    let mut first = start(&l).unwrap();
    first.progress(&flow);
    assert_eq!(l.entries().unwrap().len(), 0);
    assert!(first.finish().is_some());
    assert_eq!(l.entries().unwrap().len(), 1);
    // Restarted at once: nothing is due, during the run or at its end, and nothing is spent.
    let mut second = start(&l).unwrap();
    second.progress(&flow);
    assert!(second.finish().is_none());
    assert_eq!(l.entries().unwrap().len(), 1);
    // The ledger's last release two hours old: due at the first tick of the next run.
    let mut book: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(l.path()).unwrap()).unwrap();
    let at = &mut book["entries"][0]["at_unix"];
    *at = (at.as_u64().unwrap() - 7_200).into();
    std::fs::write(l.path(), book.to_string()).unwrap();
    let mut third = start(&l).unwrap();
    third.progress(&flow);
    assert_eq!(l.entries().unwrap().len(), 2);
    // …and the end of that run, a moment later, costs nothing more.
    assert!(third.finish().is_some(), "the one made while running");
    assert_eq!(l.entries().unwrap().len(), 2);
}
