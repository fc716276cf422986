//! Free-text product reviews with a known sentiment.
//!
//! A small grammar combines openers, product aspects, intensifiers, negations, contrasts with
//! "but", capitals, punctuation and emoji, so the texts vary the way real reviews do and
//! exercise every rule of a sentiment analyser. The sentiment is chosen first and every
//! sentence is written to carry it; neutral reviews state facts without opinion words.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::model::{Category, Sentiment, WEEKDAY_NAMES};

const INTENSIFIERS: &[&str] = &[
    "",
    "",
    "very ",
    "really ",
    "extremely ",
    "incredibly ",
    "so ",
    "super ",
];
const POSITIVE_ADJECTIVES: &[&str] = &[
    "comfortable",
    "sturdy",
    "beautiful",
    "gorgeous",
    "solid",
    "excellent",
    "great",
    "lovely",
    "perfect",
    "elegant",
    "well made",
    "stylish",
    "amazing",
];
const NEGATIVE_ADJECTIVES: &[&str] = &[
    "flimsy",
    "wobbly",
    "uncomfortable",
    "cheap",
    "awful",
    "terrible",
    "disappointing",
    "ugly",
    "poor",
    "horrible",
    "useless",
];
const POSITIVE_ENDINGS: &[&str] = &[
    "Highly recommend!",
    "Worth every penny.",
    "Five stars.",
    "Love it!",
    "Would buy again.",
    "Happy with this purchase.",
    "My family loves it.",
    "Best purchase this year!",
];
const NEGATIVE_ENDINGS: &[&str] = &[
    "Would not recommend.",
    "Waste of money.",
    "Very disappointed.",
    "Returning it.",
    "Never again.",
    "Avoid.",
    "Sad and annoyed.",
    "Worst purchase this year.",
];
const POSITIVE_EMOJI: &[&str] = &["😍", "👍", "❤️", "😊", "🙂", "✨"];
const NEGATIVE_EMOJI: &[&str] = &["😡", "👎", "😞", "😠", "💔"];
const ENDS: &[&str] = &[".", ".", "!", "!!", "!!!"];
const GENERIC_ASPECTS: &[&str] = &[
    "delivery",
    "assembly",
    "packaging",
    "instructions",
    "finish",
];
const COLOURS: &[&str] = &[
    "grey", "oak", "walnut", "navy", "white", "black", "beige", "green",
];
const ROOMS: &[&str] = &[
    "guest room",
    "new flat",
    "study",
    "kitchen",
    "cabin",
    "apartment",
];

fn aspects(category: &Category) -> &'static [&'static str] {
    match category {
        Category::LivingRoom => &["cushions", "fabric", "frame", "legs", "colour"],
        Category::Bedroom => &["drawers", "headboard", "frame", "wood", "handles"],
        Category::Office => &[
            "back support",
            "height adjustment",
            "surface",
            "wheels",
            "armrests",
        ],
        Category::DiningRoom => &["tabletop", "seats", "legs", "wood", "surface"],
        Category::Other(_) => GENERIC_ASPECTS,
    }
}

fn pick<'a>(rng: &mut ChaCha8Rng, pool: &[&'a str]) -> &'a str {
    pool.choose(rng).copied().expect("non-empty pool")
}

/// Writes one review of `product` (of `category`) carrying `sentiment`.
pub(crate) fn write_review(
    rng: &mut ChaCha8Rng,
    product: &str,
    category: &Category,
    sentiment: Sentiment,
) -> String {
    let sentences = rng.gen_range(1..=3);
    let mut out: Vec<String> = Vec::with_capacity(sentences + 1);
    for _ in 0..sentences {
        out.push(match sentiment {
            Sentiment::Positive => positive_sentence(rng, product, category),
            Sentiment::Negative => negative_sentence(rng, product, category),
            Sentiment::Neutral => neutral_sentence(rng, product, category),
        });
    }
    let emoji = match sentiment {
        Sentiment::Positive => POSITIVE_EMOJI,
        Sentiment::Negative => NEGATIVE_EMOJI,
        Sentiment::Neutral => &[],
    };
    if !emoji.is_empty() && rng.gen_bool(0.25) {
        out.push(pick(rng, emoji).to_owned());
    }
    out.join(" ")
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Picks a word and sometimes shouts it, as reviewers do ("LOVE", "TERRIBLE").
fn pick_maybe_shouted(rng: &mut ChaCha8Rng, pool: &[&str]) -> String {
    let word = pick(rng, pool);
    if rng.gen_bool(0.15) {
        word.to_uppercase()
    } else {
        word.to_owned()
    }
}

fn positive_sentence(rng: &mut ChaCha8Rng, product: &str, category: &Category) -> String {
    let end = pick(rng, ENDS);
    let intens = pick(rng, INTENSIFIERS);
    let adj = pick_maybe_shouted(rng, POSITIVE_ADJECTIVES);
    match rng.gen_range(0..6) {
        0 => capitalised(&format!("{intens}{adj} {product}{end}")),
        1 => format!(
            "I {} this {product}{end}",
            pick_maybe_shouted(rng, &["love", "adore", "really like", "enjoy"])
        ),
        2 => format!("The {} is {intens}{adj}{end}", pick(rng, aspects(category))),
        3 => pick(rng, POSITIVE_ENDINGS).to_owned(),
        4 => format!(
            "Not bad at all, the {} is {adj}{end}",
            pick(rng, aspects(category))
        ),
        _ => format!(
            "The {} was a bit slow, but the {product} is {intens}{adj}{end}",
            pick(rng, GENERIC_ASPECTS)
        ),
    }
}

fn negative_sentence(rng: &mut ChaCha8Rng, product: &str, category: &Category) -> String {
    let end = pick(rng, ENDS);
    let intens = pick(rng, INTENSIFIERS);
    let adj = pick_maybe_shouted(rng, NEGATIVE_ADJECTIVES);
    match rng.gen_range(0..6) {
        0 => format!("The {} is {intens}{adj}{end}", pick(rng, aspects(category))),
        1 => format!(
            "The {product} is not {}{end}",
            pick(rng, POSITIVE_ADJECTIVES)
        ),
        2 => format!(
            "Looks nice in photos, but the {} is {intens}{adj}{end}",
            pick(rng, aspects(category))
        ),
        3 => pick(rng, NEGATIVE_ENDINGS).to_owned(),
        4 => format!(
            "I {} this {product}{end}",
            pick_maybe_shouted(rng, &["hate", "regret buying", "dislike"])
        ),
        _ => capitalised(&format!(
            "{intens}{adj} {product}, the {} broke within a week{end}",
            pick(rng, aspects(category))
        )),
    }
}

fn neutral_sentence(rng: &mut ChaCha8Rng, product: &str, category: &Category) -> String {
    match rng.gen_range(0..6) {
        0 => format!(
            "The {product} arrived on {}.",
            pick(rng, &WEEKDAY_NAMES[..6])
        ),
        1 => format!("Ordered the {} {product}.", pick(rng, COLOURS)),
        2 => format!("Assembly took about {} minutes.", rng.gen_range(10..90)),
        3 => format!("It is {} cm wide.", rng.gen_range(40..240)),
        4 => format!("Bought it for the {}.", pick(rng, ROOMS)),
        _ => format!(
            "The {} is {} as described.",
            pick(rng, aspects(category)),
            pick(rng, COLOURS)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn reviews_vary() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut texts = std::collections::BTreeSet::new();
        for i in 0..300 {
            let s = Sentiment::ALL[i % 3];
            let text = write_review(&mut rng, "sofa", &Category::LivingRoom, s);
            assert!(!text.is_empty());
            texts.insert(text);
        }
        assert!(texts.len() > 250, "only {} distinct reviews", texts.len());
    }
}
