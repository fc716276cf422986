//! VADER against vaderSentiment 3.3.2 (tests/fixtures/vader.json, made by
//! scripts/vader_fixtures.py).

use serde_json::Value;
use websight_core::model::Sentiment;
use websight_core::sentiment::Vader;

#[test]
fn scores_equal_vader_sentiment_on_the_fixture() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vader.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let rows = fixture["rows"].as_array().unwrap();
    assert!(rows.len() >= 200);
    let vader = Vader::new();
    let mut failures = Vec::new();
    for row in rows {
        let text = row["text"].as_str().unwrap();
        let ours = vader.polarity_scores(text);
        let theirs = |k: &str| row[k].as_f64().unwrap();
        let pairs = [
            (ours.neg, theirs("neg")),
            (ours.neu, theirs("neu")),
            (ours.pos, theirs("pos")),
            (ours.compound, theirs("compound")),
        ];
        if pairs.iter().any(|(a, b)| (a - b).abs() > 1e-4) {
            failures.push(format!("{text:?}: ours {ours:?}, theirs {row}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn labels_use_the_original_cut_offs() {
    let vader = Vader::new();
    assert_eq!(
        vader.polarity_scores("I love this sofa!").label(),
        Sentiment::Positive
    );
    assert_eq!(
        vader
            .polarity_scores("This chair is terrible and ugly.")
            .label(),
        Sentiment::Negative
    );
    assert_eq!(
        vader.polarity_scores("It arrived on Tuesday.").label(),
        Sentiment::Neutral
    );
    assert!(vader.vocabulary().len() > 7_000);
}
