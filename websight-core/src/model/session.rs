//! Users, devices, locations, sessions and the page events inside them.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Action, DeviceType, Gender, PaymentMethod, ProductId, Referrer};

/// Declares a transparent string id newtype.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        // Hashes and compares as its text (the derives use the one field), so a map keyed
        // by it is searched with a `&str`, without allocating an id.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }
    };
}

string_id! {
    /// A user's persistent id (a UUID in the original system).
    UserId
}
string_id! {
    /// A session's id (a UUID in the original system).
    SessionId
}

/// The persistent attributes of a user. These are personal data: pseudonymise before
/// sharing (see `websight-dp`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserProfile {
    /// Persistent id.
    pub id: UserId,
    /// Full name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Gender.
    pub gender: Gender,
}

/// The device a session was made from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Device {
    /// Device kind.
    pub device_type: DeviceType,
    /// Operating system (free text; the original wrote a user-agent string here).
    pub operating_system: String,
    /// Browser (free text; the original wrote a user-agent string here).
    pub browser: String,
}

/// Where a session came from geographically.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Country name.
    pub country: String,
    /// State or region.
    pub state: String,
    /// City.
    pub city: String,
    /// Postal code, as text (leading zeros matter).
    pub zip_code: String,
}

/// One page event of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageEvent {
    /// When the page was opened (event time, UTC).
    pub at: DateTime<Utc>,
    /// What the visitor did.
    pub action: Action,
    /// The product concerned, if any (searches have none).
    pub product: Option<ProductId>,
    /// Seconds spent on the page.
    pub dwell_seconds: f64,
    /// Clicks on the page.
    pub clicks: u32,
    /// The search text, for [`Action::Search`].
    pub search_query: Option<String>,
}

/// A completed purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Total paid.
    pub amount: f64,
    /// How it was paid (never [`PaymentMethod::None`] for a real order).
    pub payment: PaymentMethod,
    /// The products bought, one entry per unit.
    pub products: Vec<ProductId>,
}

/// A product review written in a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Review {
    /// The product reviewed.
    pub product: ProductId,
    /// Free text.
    pub text: String,
}

/// One visit: who, from where and what device, and the ordered page events.
///
/// Invariants (checked by [`Session::validate`]): at least one event, events in time order,
/// the first at `started_at`, finite non-negative dwell times, and an order only with a
/// payment method other than `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Unique id.
    pub id: SessionId,
    /// The visitor.
    pub user: UserProfile,
    /// When the first page was opened.
    pub started_at: DateTime<Utc>,
    /// Device.
    pub device: Device,
    /// The raw `User-Agent` header.
    pub user_agent: String,
    /// Client IP address.
    pub ip: IpAddr,
    /// Traffic source.
    pub referrer: Referrer,
    /// Geolocation.
    pub location: Location,
    /// Page events in time order.
    pub events: Vec<PageEvent>,
    /// The purchase, when one was made.
    pub order: Option<Order>,
    /// Reviews written during the session.
    pub reviews: Vec<Review>,
}

impl Session {
    /// Number of pages opened (every event is one page).
    pub fn page_views(&self) -> usize {
        self.events.len()
    }

    /// Seconds from the first page opening to leaving the last page.
    pub fn duration_seconds(&self) -> f64 {
        match self.events.last() {
            Some(last) => seconds_between(self.started_at, last.at) + last.dwell_seconds,
            None => 0.0,
        }
    }

    /// Total clicks over all pages.
    pub fn clicks(&self) -> u64 {
        self.events.iter().map(|e| u64::from(e.clicks)).sum()
    }

    /// Whether a purchase was made.
    pub fn purchased(&self) -> bool {
        self.order.is_some()
    }

    /// Products viewed, distinct, in first-view order.
    pub fn viewed_products(&self) -> Vec<ProductId> {
        distinct_products(&self.events, Action::ViewItem)
    }

    /// Products added to the cart, distinct, in first-add order.
    pub fn cart_products(&self) -> Vec<ProductId> {
        distinct_products(&self.events, Action::AddToCart)
    }

    /// Number of events with the given action.
    pub fn count(&self, action: Action) -> usize {
        self.events.iter().filter(|e| e.action == action).count()
    }

    /// Seconds spent on product pages (view and cart pages) per product, in first-seen order.
    pub fn dwell_by_product(&self) -> Vec<(ProductId, f64)> {
        let mut out: Vec<(ProductId, f64)> = Vec::new();
        for e in &self.events {
            if let Some(p) = e.product {
                match out.iter_mut().find(|(id, _)| *id == p) {
                    Some((_, secs)) => *secs += e.dwell_seconds,
                    None => out.push((p, e.dwell_seconds)),
                }
            }
        }
        out
    }

    /// The furthest funnel step reached (view → search → cart → checkout).
    pub fn furthest_action(&self) -> Action {
        self.events
            .iter()
            .map(|e| e.action)
            .max_by_key(|a| a.funnel_rank())
            .unwrap_or(Action::ViewItem)
    }

    /// The product page the visitor left from, if the last page was a product page.
    pub fn exit_product(&self) -> Option<ProductId> {
        self.events.iter().rev().find_map(|e| e.product)
    }

    /// Payment method, `None` when nothing was bought.
    pub fn payment_method(&self) -> PaymentMethod {
        self.order
            .as_ref()
            .map_or(PaymentMethod::None, |o| o.payment)
    }

    /// Checks the invariants listed on the type, naming the first one broken.
    pub fn validate(&self) -> crate::Result<()> {
        use crate::CoreError;
        let first = self
            .events
            .first()
            .ok_or_else(|| CoreError::invalid("events", "a session has at least one event"))?;
        if first.at != self.started_at {
            return Err(CoreError::invalid(
                "started_at",
                "the first event must open the session",
            ));
        }
        if self.events.windows(2).any(|w| w[1].at < w[0].at) {
            return Err(CoreError::invalid("events", "events are not in time order"));
        }
        if let Some(e) = self
            .events
            .iter()
            .find(|e| !(e.dwell_seconds.is_finite() && e.dwell_seconds >= 0.0))
        {
            return Err(CoreError::invalid(
                "dwell_seconds",
                format!("{} is not a finite non-negative duration", e.dwell_seconds),
            ));
        }
        if let Some(order) = &self.order {
            if order.payment == PaymentMethod::None {
                return Err(CoreError::invalid(
                    "order",
                    "an order needs a payment method",
                ));
            }
            if !(order.amount.is_finite() && order.amount >= 0.0) {
                return Err(CoreError::invalid(
                    "order",
                    "amount must be finite and >= 0",
                ));
            }
        }
        Ok(())
    }
}

/// Signed seconds from `from` to `to`, with sub-second precision.
pub(crate) fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let d = to - from;
    d.num_microseconds()
        .map_or(d.num_seconds() as f64, |us| us as f64 / 1e6)
}

fn distinct_products(events: &[PageEvent], action: Action) -> Vec<ProductId> {
    let mut out = Vec::new();
    for e in events.iter().filter(|e| e.action == action) {
        if let Some(p) = e.product
            && !out.contains(&p)
        {
            out.push(p);
        }
    }
    out
}
