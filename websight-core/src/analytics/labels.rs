//! Tallies per free-text label — payment methods, review categories, currencies: exact for
//! the labels a shop really sends, bounded whatever arrives (a flood of orders each naming a
//! new 8 KiB payment method would otherwise grow the dashboard without end).
//!
//! The [`MAX_LABELS`] smallest labels (in byte order) are kept apart, each cut to
//! [`MAX_LABEL_BYTES`]; every other one is summed under [`OTHER`]. Which labels are kept
//! depends only on which were seen, not on their order, so tallies still merge: merging
//! partitions' tallies in any order gives one tally of all their traffic.

use std::collections::BTreeMap;

/// Labels kept apart.
pub const MAX_LABELS: usize = 1_000;

/// Bytes of a label kept (a longer one is cut at a character boundary).
pub const MAX_LABEL_BYTES: usize = 100;

/// What labels past [`MAX_LABELS`] are summed under.
pub const OTHER: &str = "(other)";

/// Adds `value` to `label`'s tally in `map` with `add`.
pub(crate) fn tally<V: Default>(
    map: &mut BTreeMap<String, V>,
    label: &str,
    value: V,
    add: impl Fn(&mut V, V),
) {
    let label = crate::event::prefix(label, MAX_LABEL_BYTES);
    if let Some(slot) = map.get_mut(label) {
        add(slot, value);
        return;
    }
    if label != OTHER {
        let kept = map.len() - usize::from(map.contains_key(OTHER));
        if kept < MAX_LABELS {
            map.insert(label.to_owned(), value);
            return;
        }
        // Full: a label below the largest kept one takes its place, which joins the rest.
        let largest = map.keys().rev().find(|k| *k != OTHER).cloned();
        if let Some(largest) = largest.filter(|l| label < l.as_str()) {
            let moved = map.remove(&largest).unwrap_or_default();
            add(map.entry(OTHER.to_owned()).or_default(), moved);
            map.insert(label.to_owned(), value);
            return;
        }
    }
    add(map.entry(OTHER.to_owned()).or_default(), value);
}

/// Adds every tally of `other` to `into` (partitions' dashboards merged).
pub(crate) fn merge<V: Default + Clone>(
    into: &mut BTreeMap<String, V>,
    other: &BTreeMap<String, V>,
    add: impl Fn(&mut V, V),
) {
    for (label, value) in other {
        tally(into, label, value.clone(), &add);
    }
}

/// Adds counts (saturating).
pub(crate) fn count(a: &mut u64, b: u64) {
    *a = a.saturating_add(b);
}

/// Adds money; an overflowing sum keeps what it had (revenue never wraps).
pub(crate) fn money(a: &mut crate::event::Money, b: crate::event::Money) {
    *a = a.checked_add(b).unwrap_or(*a);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn add(a: &mut u64, b: u64) {
        *a += b;
    }

    #[test]
    fn exact_below_the_cap_and_bounded_past_it_in_any_order_and_partition() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // 3,000 labels, some long; 20,000 observations.
        let labels: Vec<String> = (0..3_000)
            .map(|i| format!("{i:05}{}", "é".repeat(rng.gen_range(0..80))))
            .collect();
        let seen: Vec<(&str, u64)> = (0..20_000)
            .map(|_| {
                (
                    labels[rng.gen_range(0..labels.len())].as_str(),
                    rng.gen_range(1..5),
                )
            })
            .collect();
        let one = |seen: &[(&str, u64)]| {
            let mut map = BTreeMap::new();
            for &(label, n) in seen {
                tally(&mut map, label, n, add);
            }
            map
        };
        let whole = one(&seen);
        assert_eq!(whole.len(), MAX_LABELS + 1);
        assert!(whole.keys().all(|k| k.len() <= MAX_LABEL_BYTES));
        assert_eq!(
            whole.values().sum::<u64>(),
            seen.iter().map(|(_, n)| n).sum::<u64>(),
            "nothing lost"
        );
        // The kept labels are the smallest seen, each with its exact count.
        let mut exact: BTreeMap<&str, u64> = BTreeMap::new();
        for &(label, n) in &seen {
            *exact
                .entry(crate::event::prefix(label, MAX_LABEL_BYTES))
                .or_default() += n;
        }
        for ((label, n), (kept, m)) in exact.iter().zip(whole.iter().filter(|(k, _)| *k != OTHER)) {
            assert_eq!((*label, *n), (kept.as_str(), *m));
        }
        // Shuffled and cut into partitions merged in another order: the same tally.
        let mut shuffled = seen.clone();
        rand::seq::SliceRandom::shuffle(&mut shuffled[..], &mut rng);
        let parts: Vec<BTreeMap<String, u64>> = shuffled.chunks(3_000).map(one).collect();
        let mut merged = BTreeMap::new();
        for part in parts.iter().rev() {
            merge(&mut merged, part, add);
        }
        assert_eq!(merged, whole);
        // Few labels: plain exact counts, no `(other)`.
        assert_eq!(one(&seen[..50]).len(), exact_len(&seen[..50]));
    }

    fn exact_len(seen: &[(&str, u64)]) -> usize {
        let mut labels: Vec<&str> = seen.iter().map(|(l, _)| *l).collect();
        labels.sort_unstable();
        labels.dedup();
        labels.len()
    }
}
