//! Contribution bounding: the unit of privacy is a person, who may have many sessions.
//!
//! Before any release or training, each person keeps at most k rows (their first ones, a
//! choice that does not depend on anyone else's data), so that adding or removing a person
//! changes a count by at most k and a sum by at most k times its per-row bound.

use std::collections::HashMap;
use std::hash::Hash;

/// The rows of each person, at most `k` each (their first ones), persons in order of their
/// first row.
///
/// ```
/// let groups = websight_dp::contribution::bound_rows(&["a", "b", "a", "a", "c"], 2);
/// assert_eq!(groups, vec![vec![0, 2], vec![1], vec![4]]);
/// ```
pub fn bound_rows<P: Hash + Eq>(persons: &[P], k: usize) -> Vec<Vec<usize>> {
    let mut index: HashMap<&P, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (row, p) in persons.iter().enumerate() {
        let g = *index.entry(p).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        if groups[g].len() < k {
            groups[g].push(row);
        }
    }
    groups
}
