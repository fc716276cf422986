//! Sentiment of review text: VADER (Hutto & Gilbert 2014), ported from vaderSentiment 3.3.2
//! and checked against it (tests/fixtures/vader.json).
//!
//! ```
//! use websight_core::model::Sentiment;
//! use websight_core::sentiment::Vader;
//!
//! let vader = Vader::new();
//! let scores = vader.polarity_scores("The sofa is VERY comfortable, but the legs are wobbly!");
//! assert!(scores.compound.abs() <= 1.0);
//! assert_eq!(vader.polarity_scores("Worth every penny. 😍").label(), Sentiment::Positive);
//! ```

mod rules;
mod vader;

pub use vader::{PolarityScores, Vader};
