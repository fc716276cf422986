//! Exact Jaccard similarity: the ground truth LSH results are scored against.

use std::io::BufRead;

use crate::{LshError, Result};

/// Jaccard similarity of two sorted, duplicate-free slices.
pub fn jaccard_sorted(a: &[u32], b: &[u32]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        1.0
    } else {
        common as f64 / union as f64
    }
}

/// Reads sets in the fixture format: one set per line, space-separated unsigned integer
/// item ids; line `i` (from 0) is set `i`. Ids are sorted and de-duplicated; a blank line is
/// an empty set; anything else is an error naming the line.
pub fn read_sets(reader: impl BufRead) -> Result<Vec<Vec<u32>>> {
    let mut sets = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let mut set = line
            .split_ascii_whitespace()
            .map(|tok| {
                tok.parse::<u32>().map_err(|e| LshError::Parse {
                    line: i + 1,
                    reason: format!("{tok:?} is not an item id: {e}"),
                })
            })
            .collect::<Result<Vec<u32>>>()?;
        set.sort_unstable();
        set.dedup();
        sets.push(set);
    }
    Ok(sets)
}

/// An inverted index over sorted sets that finds every set with Jaccard ≥ a threshold
/// exactly, touching only sets that share an item with the query.
pub struct ExactJaccard<'a> {
    sets: &'a [Vec<u32>],
    /// Item → sets holding it. A map, not a vector indexed by item id: ids are any `u32`,
    /// and one large id must not allocate gigabytes.
    postings: std::collections::HashMap<u32, Vec<u32>>,
}

impl<'a> ExactJaccard<'a> {
    /// Indexes `sets` (each sorted and duplicate-free, as [`read_sets`] returns them).
    pub fn new(sets: &'a [Vec<u32>]) -> Self {
        let mut postings: std::collections::HashMap<u32, Vec<u32>> =
            std::collections::HashMap::new();
        for (id, set) in sets.iter().enumerate() {
            for &item in set {
                postings.entry(item).or_default().push(id as u32);
            }
        }
        ExactJaccard { sets, postings }
    }

    /// Ids of the sets other than `query` with Jaccard ≥ `threshold`, ascending.
    pub fn neighbours(&self, query: usize, threshold: f64) -> Vec<usize> {
        let q = &self.sets[query];
        let mut overlap: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        for &item in q {
            for &other in self.postings.get(&item).into_iter().flatten() {
                *overlap.entry(other).or_default() += 1;
            }
        }
        let mut out: Vec<usize> = overlap
            .into_iter()
            .filter(|&(other, common)| {
                let union = q.len() + self.sets[other as usize].len() - common as usize;
                other as usize != query && common as f64 / union as f64 >= threshold
            })
            .map(|(other, _)| other as usize)
            .collect();
        out.sort_unstable();
        out
    }
}

/// Recall and precision of candidate lists against true neighbour lists, pooled over
/// queries: recall = found true pairs / true pairs, precision = found true pairs /
/// candidate pairs. A side with no pairs scores 1.
pub fn recall_precision(candidates: &[Vec<usize>], truth: &[Vec<usize>]) -> (f64, f64) {
    let (mut hits, mut true_pairs, mut candidate_pairs) = (0usize, 0usize, 0usize);
    for (found, real) in candidates.iter().zip(truth) {
        hits += found.iter().filter(|c| real.contains(c)).count();
        true_pairs += real.len();
        candidate_pairs += found.len();
    }
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    (ratio(hits, true_pairs), ratio(hits, candidate_pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_neighbours_and_scores() {
        let sets = read_sets("1 2 3 4\n4 3 2 1 1\n1 2 9\n\n7 8".as_bytes()).unwrap();
        assert_eq!(sets[1], vec![1, 2, 3, 4]);
        assert!(sets[3].is_empty());
        assert_eq!(jaccard_sorted(&sets[0], &sets[2]), 2.0 / 5.0);
        let exact = ExactJaccard::new(&sets);
        assert_eq!(exact.neighbours(0, 0.5), vec![1]);
        assert_eq!(exact.neighbours(0, 0.4), vec![1, 2]);
        assert!(exact.neighbours(4, 0.1).is_empty());
        // Found by fuzzing: a large item id once sized a vector by it.
        let sets = read_sets("4294967295 1\n4294967295 1 2".as_bytes()).unwrap();
        assert_eq!(ExactJaccard::new(&sets).neighbours(0, 0.5), vec![1]);
        let (r, p) = recall_precision(&[vec![1, 2]], &[vec![1]]);
        assert_eq!((r, p), (1.0, 0.5));
        assert!(matches!(
            read_sets("1 x".as_bytes()),
            Err(LshError::Parse { line: 1, .. })
        ));
    }
}
