//! Purchase features: no leakage from checkout, no dropped columns, a fitted vocabulary.

use websight_core::features::{PurchaseFeatures, dedup_sessions, returning_flags, split_by_user};
use websight_core::model::{Action, Catalogue};
use websight_core::synth::{Generator, SynthConfig};

fn sessions() -> Vec<websight_core::model::Session> {
    let g = Generator::new(SynthConfig {
        sessions: 3_000,
        seed: 13,
        ..SynthConfig::default()
    })
    .unwrap();
    g.sessions()
        .filter(|s| s.truth.abuse.is_none())
        .map(|s| s.session)
        .collect()
}

#[test]
fn checkout_and_the_order_never_reach_the_features() {
    let all = sessions();
    let features = PurchaseFeatures::new(&Catalogue::furniture()).with_states(&all, 5);
    let mut checked = 0;
    for s in all.iter().filter(|s| s.purchased()) {
        let mut stripped = s.clone();
        let first_checkout = stripped
            .events
            .iter()
            .position(|e| e.action == Action::Checkout)
            .unwrap();
        stripped.events.truncate(first_checkout);
        stripped.order = None;
        stripped.reviews.clear();
        assert_eq!(features.row(s, true), features.row(&stripped, true));
        checked += 1;
    }
    assert!(checked > 50);
}

#[test]
fn every_value_has_a_column_and_the_encoder_round_trips() {
    let all = sessions();
    let features = PurchaseFeatures::new(&Catalogue::furniture()).with_states(&all[..100], 3);
    let names = features.names();
    let other = names.iter().position(|n| n == "state=other").unwrap();
    for s in &all {
        let row = features.row(s, false);
        assert_eq!(row.len(), names.len());
        let states: f64 = names
            .iter()
            .zip(&row)
            .filter(|(n, _)| n.starts_with("state="))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(states, 1.0, "exactly one state column is set");
        let exits: f64 = names
            .iter()
            .zip(&row)
            .filter(|(n, _)| n.starts_with("exit_page="))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(exits, 1.0);
    }
    assert!(
        all.iter().any(|s| features.row(s, false)[other] == 1.0),
        "unseen states go to state=other"
    );
    let json = serde_json::to_string(&features).unwrap();
    assert_eq!(
        serde_json::from_str::<PurchaseFeatures>(&json).unwrap(),
        features
    );
}

#[test]
fn duplicates_are_dropped_and_users_stay_on_one_side() {
    let all = sessions();
    let doubled: Vec<_> = all.iter().chain(all.iter().take(500)).collect();
    let kept = dedup_sessions(doubled.iter().copied());
    assert_eq!(kept.len(), all.len());
    let returning = returning_flags(&kept);
    assert!(!returning[0] && returning.iter().any(|&r| r));
    let users: Vec<_> = kept.iter().map(|s| &s.user.id).collect();
    let labels: Vec<bool> = kept.iter().map(|s| s.purchased()).collect();
    let (train, test) = split_by_user(&users, &labels, 0.2, 7);
    assert_eq!(train.len() + test.len(), kept.len());
    let train_users: std::collections::HashSet<_> = train.iter().map(|&i| users[i]).collect();
    assert!(test.iter().all(|&i| !train_users.contains(users[i])));
    let rate =
        |rows: &[usize]| rows.iter().filter(|&&i| labels[i]).count() as f64 / rows.len() as f64;
    assert!(
        (rate(&train) - rate(&test)).abs() < 0.03,
        "stratified: {} vs {}",
        rate(&train),
        rate(&test)
    );
}
