//! LSH over a file of item sets, scored against exact Jaccard — the `lsh` example's engine.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::Serialize;

use crate::exact::{ExactJaccard, recall_precision};
use crate::{LshIndex, LshParams, MinHasher, Result};

/// Wall-clock seconds of each stage.
#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    /// Hashing items and signing every set.
    pub minhash: f64,
    /// Choosing bands and rows.
    pub params: f64,
    /// Building the index.
    pub insert: f64,
    /// All queries.
    pub query_total: f64,
    /// Exact neighbours of the queries.
    pub exact: f64,
}

/// The outcome of [`evaluate`], serialised as the `lsh` example's OUT.json:
/// `{"b","r","signatures":{"0":[…],…},"queries":{"user":[candidates…]},"recall","precision",
/// "timings_s"}`.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Bands.
    pub b: usize,
    /// Rows per band.
    pub r: usize,
    /// Signatures of the first 100 sets, by line number.
    pub signatures: BTreeMap<String, Vec<u32>>,
    /// Candidates of each query set (itself excluded), by line number.
    pub queries: BTreeMap<String, Vec<usize>>,
    /// Found true pairs / true pairs.
    pub recall: f64,
    /// Found true pairs / candidate pairs.
    pub precision: f64,
    /// Stage timings.
    #[serde(rename = "timings_s")]
    pub timings: Timings,
}

/// The query sets: `queries` ids spread evenly over `n` (id ⌊i·n/queries⌋).
pub fn evenly_spaced(n: usize, queries: usize) -> Vec<usize> {
    let q = queries.min(n);
    (0..q).map(|i| i * n / q).collect()
}

/// Signs `sets` like datasketch (`MinHash(num_perm, seed=1)` over each id's decimal bytes),
/// indexes them with the banding datasketch would choose for `threshold`, queries the
/// [`evenly_spaced`] sets and scores the candidates against exact Jaccard ≥ `threshold`.
pub fn evaluate(
    sets: &[Vec<u32>],
    num_perm: usize,
    threshold: f64,
    queries: usize,
) -> Result<Evaluation> {
    let t = Instant::now();
    let hasher = MinHasher::new(num_perm, 1)?;
    // SHA-1 dominates signing: hash each distinct item once.
    let mut item_hash: HashMap<u32, u32> = HashMap::new();
    let hashed: Vec<Vec<u32>> = sets
        .iter()
        .map(|set| {
            set.iter()
                .map(|&item| {
                    *item_hash
                        .entry(item)
                        .or_insert_with(|| MinHasher::hash_item(item.to_string().as_bytes()))
                })
                .collect()
        })
        .collect();
    let signatures = hasher.sign_all_par(&hashed);
    let minhash = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let params = LshParams::optimal(threshold, num_perm, 0.5, 0.5)?;
    let params_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let index = LshIndex::build_par(params, &hasher, signatures.iter().cloned().enumerate())?;
    let insert = t.elapsed().as_secs_f64();

    let query_ids = evenly_spaced(sets.len(), queries);
    let t = Instant::now();
    let mut candidates = Vec::with_capacity(query_ids.len());
    for &q in &query_ids {
        let found = index.query(&signatures[q])?;
        candidates.push(
            found
                .into_iter()
                .copied()
                .filter(|&c| c != q)
                .collect::<Vec<_>>(),
        );
    }
    let query_total = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let exact = ExactJaccard::new(sets);
    let truth: Vec<Vec<usize>> = query_ids
        .iter()
        .map(|&q| exact.neighbours(q, threshold))
        .collect();
    let exact_s = t.elapsed().as_secs_f64();
    let (recall, precision) = recall_precision(&candidates, &truth);

    Ok(Evaluation {
        b: params.bands,
        r: params.rows,
        signatures: signatures
            .iter()
            .take(100)
            .enumerate()
            .map(|(i, s)| (i.to_string(), s.values().to_vec()))
            .collect(),
        queries: query_ids
            .iter()
            .map(|q| q.to_string())
            .zip(candidates)
            .collect(),
        recall,
        precision,
        timings: Timings {
            minhash,
            params: params_s,
            insert,
            query_total,
            exact: exact_s,
        },
    })
}
