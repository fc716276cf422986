//! Signing and querying, each beside a baseline measured in the same run.
//!
//! `cargo bench -p websight-lsh --bench lsh`
//!
//! - `sign/prehashed` vs `sign/sha1_per_item`: the cost of hashing items once and reusing
//!   their hashes versus SHA-1 per item per set (what datasketch does).
//! - `query/lsh` vs `query/exact_inverted_index`: an LSH query versus the exact search it
//!   replaces (every set sharing an item with the query).

use criterion::{Criterion, criterion_group, criterion_main};
use websight_lsh::exact::ExactJaccard;
use websight_lsh::{LshIndex, LshParams, MinHasher};

/// 20k users of 4–60 items out of 5k, a fifth of them near-duplicates of another.
fn users() -> Vec<Vec<u32>> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    let mut users: Vec<Vec<u32>> = Vec::new();
    while users.len() < 20_000 {
        if next(5) == 0 && !users.is_empty() {
            let mut near = users[next(users.len() as u64) as usize].clone();
            let i = next(near.len() as u64) as usize;
            near[i] = next(5_000) as u32;
            users.push(near);
        } else {
            users.push((0..4 + next(57)).map(|_| next(5_000) as u32).collect());
        }
    }
    for u in &mut users {
        u.sort_unstable();
        u.dedup();
    }
    users
}

fn bench(c: &mut Criterion) {
    let users = users();
    let hasher = MinHasher::new(128, 1).unwrap();
    let hashed: Vec<Vec<u32>> = users
        .iter()
        .map(|u| {
            u.iter()
                .map(|i| MinHasher::hash_item(i.to_string().as_bytes()))
                .collect()
        })
        .collect();

    let mut sign = c.benchmark_group("sign");
    sign.sample_size(10);
    sign.bench_function("prehashed", |b| b.iter(|| hasher.sign_all_par(&hashed)));
    sign.bench_function("sha1_per_item", |b| {
        b.iter(|| {
            users
                .iter()
                .map(|u| hasher.sign(u.iter().map(|i| i.to_string())))
                .collect::<Vec<_>>()
        })
    });
    sign.finish();

    let signatures = hasher.sign_all_par(&hashed);
    let params = LshParams::optimal(0.5, 128, 0.5, 0.5).unwrap();
    let index =
        LshIndex::build_par(params, &hasher, signatures.iter().cloned().enumerate()).unwrap();
    let exact = ExactJaccard::new(&users);
    let probes: Vec<usize> = (0..1_000).map(|i| i * users.len() / 1_000).collect();

    let mut query = c.benchmark_group("query");
    query.bench_function("lsh", |b| {
        b.iter(|| {
            probes
                .iter()
                .map(|&q| index.query(&signatures[q]).unwrap().len())
                .sum::<usize>()
        })
    });
    query.bench_function("exact_inverted_index", |b| {
        b.iter(|| {
            probes
                .iter()
                .map(|&q| exact.neighbours(q, 0.5).len())
                .sum::<usize>()
        })
    });
    query.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
