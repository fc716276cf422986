//! Purchase features of visits: no leakage from checkout, no dropped columns, a fitted
//! vocabulary, a split by person.

use websight_core::analytics::{ProductCatalogue, Visit};
use websight_core::event::names;
use websight_core::features::{
    PurchaseData, PurchaseFeatures, VisitDigest, dedup_visits, returning_flags, split_by_user,
};
use websight_core::model::Catalogue;
use websight_testkit::{documents_of, generator};

fn visits() -> Vec<Visit> {
    documents_of(&generator(3_000, 13)).visits
}

fn catalogue() -> ProductCatalogue {
    ProductCatalogue::from_catalogue(&Catalogue::furniture())
}

#[test]
fn checkout_and_the_order_never_reach_the_features() {
    let all = visits();
    let digests: Vec<VisitDigest> = all.iter().map(VisitDigest::of).collect();
    let features = PurchaseFeatures::fit(&digests, &catalogue(), 30);
    let row = |v: &Visit| features.row(&VisitDigest::of(v), true);
    let mut checked = 0;
    for v in all.iter().filter(|v| v.purchased()) {
        let checkout = v
            .events
            .iter()
            .find(|e| e.is_track(names::CHECKOUT_STARTED) || e.is_track(names::ORDER_COMPLETED))
            .unwrap()
            .time;
        let mut stripped = v.clone();
        // Nothing from the moment of checkout on, not even the checkout page or a login.
        stripped.events.retain(|e| e.time < checkout);
        assert_eq!(row(v), row(&stripped));
        checked += 1;
    }
    assert!(checked > 20, "{checked} purchases checked");
}

#[test]
fn every_value_has_a_column_and_the_encoder_round_trips() {
    let all: Vec<VisitDigest> = visits().iter().map(VisitDigest::of).collect();
    let features = PurchaseFeatures::fit(&all[..200], &catalogue(), 5);
    let names = features.names();
    assert_eq!(names.iter().filter(|n| n.starts_with("viewed=")).count(), 5);
    assert!(
        names
            .iter()
            .all(|n| !n.contains("gender") && !n.contains("state"))
    );
    for v in &all {
        let row = features.row(v, false);
        assert_eq!(row.len(), names.len());
        assert!(row.iter().all(|x| x.is_finite()));
        // One-hot groups have exactly one 1.
        for group in ["channel=", "device=", "part_of_day=", "last_viewed="] {
            let ones: f64 = names
                .iter()
                .zip(&row)
                .filter(|(n, _)| n.starts_with(group))
                .map(|(_, x)| x)
                .sum();
            assert_eq!(ones, 1.0, "{group}");
        }
    }
    let json = serde_json::to_string(&features).unwrap();
    assert_eq!(
        serde_json::from_str::<PurchaseFeatures>(&json).unwrap(),
        features
    );
}

#[test]
fn duplicates_are_dropped_and_persons_stay_on_one_side() {
    let all = visits();
    let digests: Vec<VisitDigest> = all.iter().map(VisitDigest::of).collect();
    let kept = dedup_visits(digests.iter().chain(&digests).cloned());
    assert_eq!(kept.len(), all.len());
    assert!(kept.windows(2).all(|w| w[0].started_at <= w[1].started_at));
    let returning = returning_flags(&kept);
    assert!(returning.iter().any(|r| *r) && returning.iter().any(|r| !*r));
    let persons: Vec<&str> = kept.iter().map(|v| v.person.as_str()).collect();
    let labels: Vec<bool> = kept.iter().map(|v| v.purchased).collect();
    let (train, test) = split_by_user(&persons, &labels, 0.2, 7);
    assert_eq!(train.len() + test.len(), kept.len());
    let train_persons: std::collections::HashSet<_> = train.iter().map(|&i| persons[i]).collect();
    assert!(test.iter().all(|&i| !train_persons.contains(persons[i])));
    let share = test.len() as f64 / kept.len() as f64;
    assert!((0.12..0.28).contains(&share), "test share {share}");

    let data = PurchaseData::build(&all, &catalogue(), 0.2, 7);
    assert_eq!(data.data.x.nrows(), all.len());
    // The same data from the digests a streaming reader keeps.
    let streamed = PurchaseData::from_digests(digests, &catalogue(), 0.2, 7);
    assert_eq!(streamed.data, data.data);
    assert_eq!(streamed.visits, data.visits);
    assert_eq!(data.data.feature_names, data.features.names());
    let (buyers, others) = data.persons();
    assert!(buyers > 0 && others > buyers);
}

#[test]
fn a_person_labelled_twice_is_one_person_in_the_split() {
    let all = visits();
    let labels = |d: &[VisitDigest]| d.iter().map(|v| v.person.clone()).collect::<Vec<_>>();
    // The stream names a person by the id seen first, so a visit before a login and one
    // after carry one label already: linking changes none.
    let mut streamed: Vec<VisitDigest> = all.iter().map(VisitDigest::of).collect();
    let named = labels(&streamed);
    websight_core::features::link_persons(&mut streamed);
    assert_eq!(labels(&streamed), named);
    // Labels by an order of ids rather than by time, as versions before wrote them (the
    // smallest id known when each visit closed): a visit before a login and one after
    // disagree when the user id sorts first — here it always does — until linked.
    let labelled_by_user = |visits: &mut dyn Iterator<Item = &Visit>| {
        let mut digests: Vec<VisitDigest> = visits.map(VisitDigest::of).collect();
        for v in &mut digests {
            if let Some(user) = v.ids.first_mut() {
                std::mem::swap(&mut v.person, user);
            }
        }
        digests
    };
    let mut digests = labelled_by_user(&mut all.iter());
    let before = labels(&digests);
    websight_core::features::link_persons(&mut digests);
    let after = labels(&digests);
    let relabelled = before.iter().zip(&after).filter(|(b, a)| b != a).count();
    assert!(
        relabelled > 0,
        "the generated shop has persons who log in later"
    );
    let distinct = |l: &[String]| l.iter().collect::<std::collections::HashSet<_>>().len();
    assert!(distinct(&after) < distinct(&before));
    assert_eq!(
        distinct(&after),
        distinct(&named),
        "as many persons as the stream names"
    );
    // Every id of a visit names the same person as its label, whatever the visits' order.
    let mut by_id: std::collections::HashMap<String, String> = Default::default();
    for v in &digests {
        for id in std::iter::once(&v.person).chain(&v.ids) {
            assert_eq!(
                by_id.entry(id.clone()).or_insert(v.person.clone()),
                &v.person
            );
        }
    }
    let mut reversed = labelled_by_user(&mut all.iter().rev());
    websight_core::features::link_persons(&mut reversed);
    reversed.reverse();
    assert_eq!(labels(&reversed), after);
    // Visits that share any id stay on one side of the split.
    let data = PurchaseData::build(&all, &catalogue(), 0.2, 7);
    let mut side: std::collections::HashMap<&str, bool> = Default::default();
    for (i, v) in data.visits.iter().enumerate() {
        let in_test = data.test.contains(&i);
        for id in v.ids.iter().chain([&v.person]) {
            assert_eq!(
                *side.entry(id).or_insert(in_test),
                in_test,
                "{id} on both sides"
            );
        }
    }
}
