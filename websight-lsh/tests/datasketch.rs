//! Agreement with datasketch 2.0 (golden values in tests/fixtures/datasketch).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;

use serde_json::Value;
use websight_lsh::exact::{ExactJaccard, read_sets, recall_precision};
use websight_lsh::hashing::datasketch_permutations;
use websight_lsh::{LshIndex, LshParams, MinHasher};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/datasketch/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_reader(BufReader::new(File::open(path).unwrap())).unwrap()
}

fn users() -> Vec<Vec<u32>> {
    let path = format!(
        "{}/tests/fixtures/datasketch/users.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    read_sets(BufReader::new(File::open(path).unwrap())).unwrap()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// Items are hashed as datasketch's fixture did: the decimal id's ASCII bytes.
fn item_hashes(set: &[u32]) -> Vec<u32> {
    set.iter()
        .map(|i| MinHasher::hash_item(i.to_string().as_bytes()))
        .collect()
}

#[test]
fn permutations_equal_datasketch() {
    let params = fixture("minhash_params.json");
    let (a, b) = datasketch_permutations(128, 1);
    assert_eq!(a, u32s(&params["a"]));
    assert_eq!(b, u32s(&params["b"]));
}

#[test]
fn signatures_of_the_first_100_users_are_bit_for_bit_equal() {
    let params = fixture("minhash_params.json");
    let hasher = MinHasher::new(128, 1).unwrap();
    let users = users();
    let first = params["first_users"].as_object().unwrap();
    assert_eq!(first.len(), 100);
    for (user, expected) in first {
        let i: usize = user.parse().unwrap();
        let ours = hasher.sign_hashes(&item_hashes(&users[i]));
        assert_eq!(ours.values(), u32s(expected).as_slice(), "user {i}");
        // Signing the items directly gives the same.
        assert_eq!(hasher.sign(users[i].iter().map(|x| x.to_string())), ours);
    }
}

#[test]
fn other_seeds_lengths_and_unicode_tokens_match() {
    let extra = fixture("extra.json");
    for case in extra["signatures"].as_array().unwrap() {
        let hasher = MinHasher::new(
            case["num_perm"].as_u64().unwrap() as usize,
            case["seed"].as_u64().unwrap() as u32,
        )
        .unwrap();
        let tokens: Vec<&str> = case["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let ours = hasher.sign(&tokens);
        assert_eq!(
            ours.values(),
            u32s(&case["hashvalues"]).as_slice(),
            "{case}"
        );
        assert_eq!(ours.is_empty_set(), tokens.is_empty());
    }
}

#[test]
fn optimal_bands_and_rows_equal_datasketch() {
    let extra = fixture("extra.json");
    let cases = extra["optimal_params"].as_array().unwrap();
    assert!(cases.len() >= 75);
    for case in cases {
        let w = case["weights"].as_array().unwrap();
        let p = LshParams::optimal(
            case["threshold"].as_f64().unwrap(),
            case["num_perm"].as_u64().unwrap() as usize,
            w[0].as_f64().unwrap(),
            w[1].as_f64().unwrap(),
        )
        .unwrap();
        assert_eq!(
            (p.bands as u64, p.rows as u64),
            (case["b"].as_u64().unwrap(), case["r"].as_u64().unwrap()),
            "{case}"
        );
    }
    let params = fixture("minhash_params.json");
    let p = LshParams::optimal(0.5, 128, 0.5, 0.5).unwrap();
    assert_eq!(
        (p.bands as u64, p.rows as u64),
        (
            params["lsh_b"].as_u64().unwrap(),
            params["lsh_r"].as_u64().unwrap()
        )
    );
}

#[test]
fn query_candidates_equal_datasketch_and_so_do_recall_and_precision() {
    let users = users();
    let hasher = MinHasher::new(128, 1).unwrap();
    let params = LshParams::optimal(0.5, 128, 0.5, 0.5).unwrap();
    let hashed: Vec<Vec<u32>> = users.iter().map(|u| item_hashes(u)).collect();
    let signatures = hasher.sign_all_par(&hashed);
    let index =
        LshIndex::build_par(params, &hasher, signatures.iter().cloned().enumerate()).unwrap();

    let results = fixture("lsh_results.json");
    let exact = ExactJaccard::new(&users);
    let (mut candidates, mut truth) = (Vec::new(), Vec::new());
    for q in results["per_query_first200"].as_array().unwrap() {
        let user = q["user"].as_u64().unwrap() as usize;
        let mut ours: Vec<usize> = index
            .query(&signatures[user])
            .unwrap()
            .into_iter()
            .copied()
            .filter(|&c| c != user)
            .collect();
        ours.sort_unstable();
        let theirs: Vec<usize> = q["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(ours, theirs, "candidates of user {user}");
        let neighbours = exact.neighbours(user, 0.5);
        let expected: Vec<usize> = q["exact_neighbours"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(neighbours, expected, "exact neighbours of user {user}");
        candidates.push(ours);
        truth.push(neighbours);
    }
    let (recall, precision) = recall_precision(&candidates, &truth);
    let summary = fixture("summary.json");
    let run = &summary["runs"][0];
    assert!(
        (recall - run["recall"].as_f64().unwrap()).abs() < 1e-12,
        "recall {recall}"
    );
    assert!(
        (precision - run["precision"].as_f64().unwrap()).abs() < 1e-12,
        "precision {precision}"
    );
}

#[test]
fn index_supports_remove_top_k_union_and_persistence() {
    let users = users();
    let hasher = MinHasher::new(128, 1).unwrap();
    let params = LshParams::optimal(0.5, 128, 0.5, 0.5).unwrap();
    let mut index = LshIndex::new(params, &hasher).unwrap();
    for (i, u) in users.iter().enumerate().take(500) {
        index
            .insert(i, hasher.sign_hashes(&item_hashes(u)))
            .unwrap();
    }
    assert!(
        index
            .insert(0, hasher.sign_hashes(&item_hashes(&users[0])))
            .is_err(),
        "duplicate key"
    );
    assert!(
        index
            .insert(9_999, MinHasher::new(64, 1).unwrap().sign(["x"]))
            .is_err(),
        "wrong length"
    );
    assert!(
        index
            .insert(9_999, MinHasher::new(128, 2).unwrap().sign(["x"]))
            .is_err(),
        "other seed"
    );

    // Every candidate ranked by estimated Jaccard, best first, itself excluded.
    let mut found_any = false;
    for user in 0..500 {
        let top = index.similar_to(&user, 3).unwrap();
        assert!(top.iter().all(|(k, _)| **k != user));
        assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
        found_any |= !top.is_empty();
    }
    assert!(found_any);

    // Persistence round trip: same answers.
    let json = serde_json::to_string(&index).unwrap();
    let loaded: LshIndex<usize> = serde_json::from_str(&json).unwrap();
    let probe = index.signature(&7).unwrap();
    assert_eq!(loaded.query(&probe).unwrap(), index.query(&probe).unwrap());

    // Removal: the key never comes back, and removing twice is an error.
    let removed = index.remove(&7).unwrap();
    assert_eq!(removed, probe);
    assert!(!index.query(&probe).unwrap().contains(&&7));
    assert!(index.remove(&7).is_err());
    assert_eq!(index.len(), 499);

    // Union of signatures = signature of the union of sets.
    let mut merged = hasher.sign_hashes(&item_hashes(&users[1]));
    merged
        .merge(&hasher.sign_hashes(&item_hashes(&users[2])))
        .unwrap();
    let mut union: Vec<u32> = users[1].iter().chain(&users[2]).copied().collect();
    union.sort_unstable();
    union.dedup();
    assert_eq!(merged, hasher.sign_hashes(&item_hashes(&union)));
}

#[test]
fn estimates_track_exact_jaccard() {
    let users = users();
    let hasher = MinHasher::new(256, 1).unwrap();
    let mut errors = BTreeMap::new();
    for i in 0..200 {
        let j = (i * 7 + 3) % users.len();
        let exact = websight_lsh::exact::jaccard_sorted(&users[i], &users[j]);
        let est = hasher
            .sign_hashes(&item_hashes(&users[i]))
            .jaccard(&hasher.sign_hashes(&item_hashes(&users[j])))
            .unwrap();
        errors.insert(i, (est - exact).abs());
    }
    let mean: f64 = errors.values().sum::<f64>() / errors.len() as f64;
    // Standard error of a 256-slot estimate is at most 1/(2·16) ≈ 0.031.
    assert!(mean < 0.03, "mean absolute error {mean}");
}

#[test]
fn evaluation_output_has_the_documented_shape() {
    let users = users();
    let e = websight_lsh::evaluate::evaluate(&users, 128, 0.5, 50).unwrap();
    let json: Value = serde_json::to_value(&e).unwrap();
    assert_eq!(json["b"], 25);
    assert_eq!(json["r"], 5);
    let params = fixture("minhash_params.json");
    assert_eq!(json["signatures"], params["first_users"]);
    let queries = json["queries"].as_object().unwrap();
    assert_eq!(queries.len(), 50);
    assert!(queries.contains_key("0") && queries.contains_key("40"));
    for key in ["recall", "precision"] {
        let v = json[key].as_f64().unwrap();
        assert!((0.5..=1.0).contains(&v), "{key} {v}");
    }
}
