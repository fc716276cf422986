//! Tokenising sessions and finding similar users; weighted signatures.

use std::collections::{BTreeMap, BTreeSet};

use websight_core::analytics::{ProductCatalogue, Visit};
use websight_core::model::Catalogue;
use websight_lsh::{MinHasher, SimilarUsers, SimilarUsersBuilder, session_tokens};

fn sessions() -> Vec<Visit> {
    let config = websight_core::synth::SynthConfig {
        sessions: 3_000,
        users: 400,
        seed: 4,
        ..Default::default()
    };
    let generator = websight_core::synth::Generator::new(config).unwrap();
    websight_testkit::documents_of(&generator).visits
}

fn catalogue() -> ProductCatalogue {
    ProductCatalogue::from_catalogue(&Catalogue::furniture())
}

#[test]
fn tokens_name_their_feature() {
    let catalogue = catalogue();
    for v in sessions().iter().take(200) {
        let tokens = session_tokens(v, &catalogue);
        assert!(tokens.iter().all(|t| {
            t.split_once('=')
                .is_some_and(|(k, v)| !k.is_empty() && !v.is_empty())
        }));
        for item in v.product_views() {
            let name = catalogue.name(item.key().unwrap());
            assert!(tokens.contains(&format!("viewed={name}")));
        }
        assert!(tokens.contains(&format!("device={}", v.agent.device_type)));
        assert!(tokens.contains(&format!("channel={}", v.acquisition.channel)));
    }
}

#[test]
fn similar_users_are_users_with_overlapping_token_sets() {
    let catalogue = catalogue();
    let sessions = sessions();
    let similar = SimilarUsers::build(&sessions, &catalogue, 128, 0.5).unwrap();

    let mut user_tokens: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in &sessions {
        user_tokens
            .entry(s.person.to_string())
            .or_default()
            .extend(session_tokens(s, &catalogue));
    }
    assert_eq!(similar.index().len(), user_tokens.len());
    let hasher = MinHasher::new(128, 1).unwrap();
    let (mut checked, mut exact_sum) = (0, 0.0);
    for (user, tokens) in user_tokens.iter().take(150) {
        // A user's signature is the merge of their sessions' signatures = that of the union.
        assert_eq!(
            similar.index().signature(user).unwrap(),
            hasher.sign(tokens)
        );
        for (other, estimate) in similar.similar_to(user, 5).unwrap() {
            assert_ne!(other, user);
            let theirs = &user_tokens[other];
            let exact =
                tokens.intersection(theirs).count() as f64 / tokens.union(theirs).count() as f64;
            assert!(
                (estimate - exact).abs() < 0.25,
                "estimate {estimate} vs exact {exact}"
            );
            exact_sum += exact;
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} neighbours found");
    assert!(
        exact_sum / checked as f64 > 0.35,
        "neighbours are not similar: {}",
        exact_sum / checked as f64
    );
    assert!(similar.similar_to("nobody", 3).is_err());
}

#[test]
fn persons_joined_are_one_user_of_both_token_sets() {
    let catalogue = catalogue();
    let sessions = sessions();
    let persons: BTreeSet<&str> = sessions.iter().map(|s| s.person.as_str()).collect();
    let (a, b) = (persons.first().unwrap(), persons.last().unwrap());
    let mut joined = SimilarUsersBuilder::new(&catalogue, 128, 0.5).unwrap();
    let mut relabelled = SimilarUsersBuilder::new(&catalogue, 128, 0.5).unwrap();
    for s in &sessions {
        joined.add(s).unwrap();
        let mut s = s.clone();
        if s.person == *a {
            s.person = (*b).into();
        }
        relabelled.add(&s).unwrap();
    }
    joined.join(a, b).unwrap();
    joined.join("nobody", b).unwrap();
    joined.join(b, b).unwrap();
    let (joined, relabelled) = (joined.finish().unwrap(), relabelled.finish().unwrap());
    assert_eq!(joined.index().len(), persons.len() - 1);
    assert!(joined.index().signature(&a.to_string()).is_none());
    assert_eq!(
        joined.index().signature(&b.to_string()),
        relabelled.index().signature(&b.to_string())
    );
}

#[cfg(feature = "probminhash")]
#[test]
fn weighted_signatures_estimate_the_probability_jaccard_index() {
    use websight_lsh::weighted::{WeightedMinHasher, dwell_weights, probability_jaccard};
    let hasher = WeightedMinHasher::new(512).unwrap();
    let mut errors = Vec::new();
    let sessions = sessions();
    let weighted: Vec<_> = sessions
        .iter()
        .map(dwell_weights)
        .filter(|w| w.len() >= 2)
        .take(120)
        .collect();
    for pair in weighted.windows(2) {
        let exact = probability_jaccard(&pair[0], &pair[1]);
        let est = hasher
            .sign(&pair[0])
            .unwrap()
            .jaccard(&hasher.sign(&pair[1]).unwrap())
            .unwrap();
        errors.push((est - exact).abs());
    }
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    assert!(mean < 0.03, "mean absolute error {mean}");
    // Same weights, same signature; different weights on the same items, lower similarity.
    let a = hasher.sign(&[(1, 100.0), (2, 1.0)]).unwrap();
    let b = hasher.sign(&[(1, 1.0), (2, 100.0)]).unwrap();
    assert_eq!(a, hasher.sign(&[(2, 1.0), (1, 100.0)]).unwrap());
    assert!(a.jaccard(&b).unwrap() < 0.1);
    assert!(hasher.sign(&[(1, f64::NAN)]).is_err());
    assert!(hasher.sign(&[(1, -1.0)]).is_err());
}

/// Every users file a fuzz target ever crashed on (`fuzz/regressions/lsh_users/`): read,
/// signed, indexed and queried without a panic or a runaway allocation.
#[test]
fn users_files_fuzzing_found_are_handled() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/lsh_users");
    let mut seen = 0;
    for file in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        if let Ok(sets) = websight_lsh::exact::read_sets(&bytes[..])
            && !sets.is_empty()
        {
            websight_lsh::evaluate::evaluate(&sets, 16, 0.5, 4).unwrap();
        }
        seen += 1;
    }
    assert!(seen >= 1);
}
