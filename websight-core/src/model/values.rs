//! Closed value sets of the original system, as enums.
//!
//! Each enum serialises to exactly the spelling the original data used, so a record in the
//! original shape decodes into them and re-encodes unchanged. A value outside the set is a
//! decode error, never a silent default.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Declares a closed enum with its wire spellings, `ALL`, `as_str`, `Display` and `FromStr`.
macro_rules! closed_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $field:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = CoreError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    other => Err(CoreError::invalid($field, format!("unknown value {other:?}"))),
                }
            }
        }
    };
}

closed_enum! {
    /// The kind of device a session came from.
    DeviceType, "deviceType" {
        /// A phone.
        Mobile => "mobile",
        /// A desktop or laptop computer.
        Desktop => "desktop",
        /// A tablet.
        Tablet => "tablet",
        /// The client did not say (the original security rule distrusts this for new users).
        Unknown => "unknown",
    }
}

closed_enum! {
    /// What a visitor did on a page.
    Action, "actions" {
        /// Looked at a product page.
        ViewItem => "view_item",
        /// Put a product in the cart.
        AddToCart => "add_to_cart",
        /// Searched the shop.
        Search => "search",
        /// Opened the checkout page.
        Checkout => "checkout",
    }
}

impl Action {
    /// Position in the view → cart → checkout funnel (search counts as browsing).
    pub const fn funnel_rank(self) -> u8 {
        match self {
            Action::ViewItem => 0,
            Action::Search => 1,
            Action::AddToCart => 2,
            Action::Checkout => 3,
        }
    }
}

closed_enum! {
    /// Where a session came from.
    Referrer, "referrer" {
        /// Google search.
        Google => "Google",
        /// Facebook.
        Facebook => "Facebook",
        /// Instagram.
        Instagram => "Instagram",
        /// The WorldMarket marketplace.
        WorldMarket => "WorldMarket",
        /// Typed the address or used a bookmark.
        Direct => "Direct",
        /// No referrer was reported (the original security rule distrusts this for new users).
        Unknown => "unknown",
    }
}

closed_enum! {
    /// How an order was paid; `None` when no purchase was made (abandoned or browsing only).
    PaymentMethod, "paymentMethodType" {
        /// Credit card.
        CreditCard => "CreditCard",
        /// PayPal.
        PayPal => "PayPal",
        /// No payment: the session did not buy.
        None => "None",
    }
}

closed_enum! {
    /// A visitor's gender as recorded by the original system.
    Gender, "gender" {
        /// Male.
        Male => "Male",
        /// Female.
        Female => "Female",
        /// Other or not stated.
        Other => "Other",
    }
}

closed_enum! {
    /// The sentiment of a review, with the original system's three classes.
    Sentiment, "sentiment" {
        /// Positive (VADER compound > 0.05 in the original).
        Positive => "positive",
        /// Neutral.
        Neutral => "neutral",
        /// Negative (VADER compound < −0.05 in the original).
        Negative => "negative",
    }
}

impl Sentiment {
    /// The original system's cut-offs on a VADER compound score.
    pub fn from_compound(compound: f64) -> Sentiment {
        if compound > 0.05 {
            Sentiment::Positive
        } else if compound < -0.05 {
            Sentiment::Negative
        } else {
            Sentiment::Neutral
        }
    }
}

/// Weekday names, Monday first.
pub const WEEKDAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

closed_enum! {
    /// Part of the day, with the original system's boundaries.
    PartOfDay, "part_of_day" {
        /// 05:00–11:59.
        Morning => "Morning",
        /// 12:00–16:59.
        Afternoon => "Afternoon",
        /// 17:00–20:59.
        Evening => "Evening",
        /// 21:00–04:59.
        Night => "Night",
    }
}

impl PartOfDay {
    /// The part of day an hour (0–23) falls in: Morning 5–12, Afternoon 12–17,
    /// Evening 17–21, else Night.
    pub const fn from_hour(hour: u32) -> PartOfDay {
        match hour {
            5..=11 => PartOfDay::Morning,
            12..=16 => PartOfDay::Afternoon,
            17..=20 => PartOfDay::Evening,
            _ => PartOfDay::Night,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spellings_round_trip() {
        for r in Referrer::ALL {
            let json = serde_json::to_string(r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<Referrer>(&json).unwrap(), *r);
            assert_eq!(r.as_str().parse::<Referrer>().unwrap(), *r);
        }
        assert!("Bing".parse::<Referrer>().is_err());
        assert!(serde_json::from_str::<DeviceType>("\"phone\"").is_err());
    }

    #[test]
    fn part_of_day_boundaries() {
        let parts: Vec<_> = (0..24).map(PartOfDay::from_hour).collect();
        assert_eq!(parts[4], PartOfDay::Night);
        assert_eq!(parts[5], PartOfDay::Morning);
        assert_eq!(parts[12], PartOfDay::Afternoon);
        assert_eq!(parts[17], PartOfDay::Evening);
        assert_eq!(parts[21], PartOfDay::Night);
    }

    #[test]
    fn sentiment_cut_offs_are_strict() {
        assert_eq!(Sentiment::from_compound(0.05), Sentiment::Neutral);
        assert_eq!(Sentiment::from_compound(0.0501), Sentiment::Positive);
        assert_eq!(Sentiment::from_compound(-0.05), Sentiment::Neutral);
        assert_eq!(Sentiment::from_compound(-0.0501), Sentiment::Negative);
    }
}
