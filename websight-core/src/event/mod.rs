//! The open event model: what real shops send from real tracking SDKs.
//!
//! An [`Event`] is one message of the [Segment Spec](https://segment.com/docs/connections/spec/)
//! (`page`, `track`, `identify`, `alias`, `screen`, `group`), the de facto wire format of
//! Segment, RudderStack, Jitsu and many others. Its common fields are typed (ids, the four
//! timestamps, page, campaign, user agent, IP, locale); its properties are typed for the
//! [e-commerce spec v2](https://segment.com/docs/connections/spec/ecommerce/v2/) (products
//! with string ids, prices, quantities; order id, revenue, total, currency, payment method;
//! review body and rating; search query) and **every other property is kept** in
//! [`Properties::extra`], never refused.
//!
//! Text fields are [`CompactString`]s (re-exported from `compact_str`): a `String` that keeps
//! up to 24 bytes inline, so most of an event's fields — paths, titles, names, locales, product
//! ids — cost no allocation; they deref to `&str` and convert from `&str` and `String`.
//!
//! Money is exact ([`Money`]: fixed-point, four decimals, read from the JSON text). Event time
//! follows the spec: an explicit `timestamp` is used as given; otherwise
//! `receivedAt − (sentAt − originalTimestamp)` corrects the device's clock
//! ([`Timestamps::event_time`]).
//!
//! Bytes become events in [`crate::decode`].
//!
//! ```
//! use websight_core::decode::{decode_segment, DecodeContext};
//! use websight_core::event::MessageType;
//!
//! let line = br#"{"type":"track","event":"Order Completed","messageId":"m1","anonymousId":"a1",
//!   "timestamp":"2026-03-01T10:00:00Z",
//!   "properties":{"order_id":"o-17","revenue":"59.90","currency":"EUR","coupon_batch":7,
//!                 "products":[{"product_id":507,"price":29.95,"quantity":2}]}}"#;
//! let events = decode_segment(line, &DecodeContext::default());
//! let order = events[0].as_ref().unwrap();
//! assert_eq!(order.kind, MessageType::Track);
//! assert_eq!(order.properties.revenue.unwrap().to_string(), "59.90");
//! assert_eq!(order.properties.products[0].product_id.as_deref(), Some("507"));
//! assert!(order.properties.extra.contains_key("coupon_batch"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(test)]
pub(crate) mod arbitrary;
mod money;
pub(crate) mod rfc3339;
pub(crate) mod sorted;

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

pub use compact_str::{CompactString, ToCompactString, format_compact};
pub use money::{Money, MoneyError};

/// The Segment message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// A page view (browser).
    Page,
    /// A named action with properties.
    Track,
    /// Ties the current anonymous id to a user id, with traits.
    Identify,
    /// Merges a previous id into a user id.
    Alias,
    /// A screen view (mobile apps).
    Screen,
    /// Associates a user with a group (account, company).
    Group,
}

impl MessageType {
    /// Every type.
    pub const ALL: [MessageType; 6] = [
        MessageType::Page,
        MessageType::Track,
        MessageType::Identify,
        MessageType::Alias,
        MessageType::Screen,
        MessageType::Group,
    ];

    /// The spelling of the `type` field.
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageType::Page => "page",
            MessageType::Track => "track",
            MessageType::Identify => "identify",
            MessageType::Alias => "alias",
            MessageType::Screen => "screen",
            MessageType::Group => "group",
        }
    }

    /// Parses the `type` field (case-insensitive, as SDKs vary).
    pub fn parse(text: &str) -> Option<MessageType> {
        MessageType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text))
    }

    /// Page and screen views.
    pub const fn is_view(self) -> bool {
        matches!(self, MessageType::Page | MessageType::Screen)
    }
}

/// The four timestamps of the spec, as sent (and stamped on arrival).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamps {
    /// `timestamp`: the event time when the caller set it (server SDKs, imports).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339::serialize_option"
    )]
    pub timestamp: Option<DateTime<Utc>>,
    /// `originalTimestamp`: the device's clock at the call.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339::serialize_option"
    )]
    pub original_timestamp: Option<DateTime<Utc>>,
    /// `sentAt`: the device's clock when the batch was sent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339::serialize_option"
    )]
    pub sent_at: Option<DateTime<Utc>>,
    /// `receivedAt`: the collector's clock on arrival.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339::serialize_option"
    )]
    pub received_at: Option<DateTime<Utc>>,
}

impl Timestamps {
    /// The event time by the spec: `timestamp` if set; else `receivedAt − (sentAt −
    /// originalTimestamp)` (the device clock's error removed); else `originalTimestamp`;
    /// else `receivedAt`. `None` when nothing dates the event or the correction overflows.
    pub fn event_time(&self) -> Option<DateTime<Utc>> {
        if let Some(t) = self.timestamp {
            return Some(t);
        }
        match (self.received_at, self.sent_at, self.original_timestamp) {
            (Some(received), Some(sent), Some(original)) => {
                let skew: TimeDelta = sent.signed_duration_since(original);
                received.checked_sub_signed(skew)
            }
            (_, _, Some(original)) => Some(original),
            (received, _, None) => received,
        }
    }
}

/// `context.page` (or a `page` call's properties).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Full URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<CompactString>,
    /// Path, e.g. `/products/sofa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<CompactString>,
    /// Document title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<CompactString>,
    /// `document.referrer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<CompactString>,
    /// Query string, with its `?`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<CompactString>,
}

impl Page {
    /// No field set.
    pub fn is_empty(&self) -> bool {
        let Page {
            url,
            path,
            title,
            referrer,
            search,
        } = self;
        [url, path, title, referrer, search]
            .iter()
            .all(|f| f.is_none())
    }
}

/// UTM campaign parameters (`context.campaign`, else parsed from the page URL).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Campaign {
    /// `utm_source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<CompactString>,
    /// `utm_medium`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<CompactString>,
    /// `utm_campaign` (`name` in `context.campaign`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<CompactString>,
    /// `utm_term`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<CompactString>,
    /// `utm_content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<CompactString>,
}

impl Campaign {
    /// No parameter set.
    pub fn is_empty(&self) -> bool {
        let Campaign {
            source,
            medium,
            name,
            term,
            content,
        } = self;
        [source, medium, name, term, content]
            .iter()
            .all(|f| f.is_none())
    }
}

/// One product of an e-commerce event (`properties` of `Product Viewed`, or an entry of
/// `properties.products`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductItem {
    /// `product_id` (numbers are read as their decimal text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<CompactString>,
    /// `sku`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<CompactString>,
    /// `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<CompactString>,
    /// `category`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<CompactString>,
    /// `brand`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<CompactString>,
    /// `price` per unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    /// `quantity` (1 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
}

impl ProductItem {
    /// The product's key: `product_id`, else `sku`, else `name`.
    pub fn key(&self) -> Option<&str> {
        self.product_id
            .as_deref()
            .or(self.sku.as_deref())
            .or(self.name.as_deref())
    }

    /// Units (1 when absent).
    pub fn units(&self) -> u32 {
        self.quantity.unwrap_or(1)
    }
}

/// Properties, typed for the e-commerce spec; the rest kept verbatim in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Properties {
    /// The products concerned: one for product events, the order's for order events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<ProductItem>,
    /// `order_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<CompactString>,
    /// `checkout_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout_id: Option<CompactString>,
    /// `revenue` (order value without shipping and tax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<Money>,
    /// `total` (what the customer paid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    /// `currency` (ISO 4217, upper case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<CompactString>,
    /// `payment_method`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<CompactString>,
    /// `review_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<CompactString>,
    /// `review_body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_body: Option<CompactString>,
    /// `rating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    /// `query` of `Products Searched`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<CompactString>,
    /// Every other property, as sent (written with its keys in byte order).
    #[serde(
        default,
        skip_serializing_if = "serde_json::Map::is_empty",
        serialize_with = "sorted::serialize_map"
    )]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Properties {
    /// The order's value: `revenue`, else `total`.
    pub fn order_value(&self) -> Option<Money> {
        self.revenue.or(self.total)
    }
}

/// One tracking message. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `messageId`: unique per message, the de-duplication key.
    pub message_id: CompactString,
    /// `type`.
    pub kind: MessageType,
    /// `event` of a track call, `name` of a page or screen call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<CompactString>,
    /// Resolved event time ([`Timestamps::event_time`]).
    #[serde(serialize_with = "rfc3339::serialize")]
    pub time: DateTime<Utc>,
    /// The raw timestamps.
    pub timestamps: Timestamps,
    /// `anonymousId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<CompactString>,
    /// `userId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<CompactString>,
    /// `previousId` of an alias call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<CompactString>,
    /// A client session id (`context.sessionId`, RudderStack's spelling), honoured when
    /// present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<CompactString>,
    /// The page the event happened on.
    #[serde(default, skip_serializing_if = "is_default")]
    pub page: Page,
    /// UTM parameters.
    #[serde(default, skip_serializing_if = "Campaign::is_empty")]
    pub campaign: Campaign,
    /// `context.userAgent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<CompactString>,
    /// `context.ip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// `context.locale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<CompactString>,
    /// `properties`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub properties: Properties,
    /// `traits` of identify calls and `context.traits`: personal data, dropped by
    /// [`crate::privacy`] before anything is stored ([`crate::flow::Ingest`] leaves them
    /// unread unless its privacy keeps some: [`crate::decode::DecodeContext::drop_traits`]).
    #[serde(
        default,
        skip_serializing_if = "serde_json::Map::is_empty",
        serialize_with = "sorted::serialize_map"
    )]
    pub traits: serde_json::Map<String, serde_json::Value>,
    /// The consent categories the visitor denied: those set to `false` in
    /// `context.consent.categoryPreferences` (Segment's and Jitsu's spelling) and those in
    /// `context.consentManagement.deniedConsentIds` (RudderStack's), sorted, at most 64.
    /// [`crate::privacy::PrivacyConfig::consent_category`] withholds events by them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_consent: Vec<CompactString>,
    /// `context.library.name`: the SDK that made the message (`analytics.js`,
    /// `@segment/analytics-node`, `analytics-python`, `@jitsu/js`, …). Every SDK names
    /// itself; server-side and mobile ones send no user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<CompactString>,
    /// A keyed hash of the sender's whole address (an IPv6 address's /64), set by
    /// [`crate::privacy`] before it truncates [`Event::ip`]: the gate's per-address rate
    /// counts by it, so visitors who share a /24 are not one sender. The gate takes it
    /// (nothing after the gate holds it) and it is never serialised.
    #[serde(skip)]
    pub address_key: Option<u64>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    value == &T::default()
}

impl Event {
    /// The id sessions and visitors are keyed by before identity stitching: `userId`, else
    /// `anonymousId`.
    pub fn person(&self) -> Option<&str> {
        self.user_id.as_deref().or(self.anonymous_id.as_deref())
    }

    /// The ids that tie this event to a person, in this order: `userId`, `anonymousId`, and
    /// an `alias` call's `previousId` (identity stitching joins them).
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        let alias = (self.kind == MessageType::Alias)
            .then_some(self.previous_id.as_deref())
            .flatten();
        [self.user_id.as_deref(), self.anonymous_id.as_deref(), alias]
            .into_iter()
            .flatten()
    }

    /// Whether this is a `track` call named `name`.
    pub fn is_track(&self, name: &str) -> bool {
        self.kind == MessageType::Track && self.name.as_deref() == Some(name)
    }
}

/// The e-commerce spec's event names that websight's analytics read.
pub mod names {
    /// A product page view.
    pub const PRODUCT_VIEWED: &str = "Product Viewed";
    /// A cart add.
    pub const PRODUCT_ADDED: &str = "Product Added";
    /// A search.
    pub const PRODUCTS_SEARCHED: &str = "Products Searched";
    /// The checkout opened.
    pub const CHECKOUT_STARTED: &str = "Checkout Started";
    /// Payment details given.
    pub const PAYMENT_INFO_ENTERED: &str = "Payment Info Entered";
    /// A purchase.
    pub const ORDER_COMPLETED: &str = "Order Completed";
    /// A review.
    pub const PRODUCT_REVIEWED: &str = "Product Reviewed";
}

/// At most 200 characters of `text` (on a char boundary), for error messages.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return text.to_owned();
    }
    format!("{}… ({} bytes)", prefix(text, MAX), text.len())
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
pub(crate) fn prefix(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` as [`str::trim`] leaves it, without a search when both ends are printable ASCII
/// (almost every field).
pub(crate) fn trim(text: &str) -> &str {
    match text.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        [only] if only.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// A short text written on the stack (a time's, at most 40 bytes): writes past the end fail
/// rather than cut anything silently.
pub(crate) struct StackText {
    bytes: [u8; 40],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl StackText {
    /// The text written so far (ASCII or whole `str`s only, so always UTF-8).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    /// The bytes written so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Appends bytes: ASCII or whole `str`s, UTF-8 checked once by [`StackText::as_str`],
    /// not piece by piece; `false` when they do not fit.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) -> bool {
        let end = self.len + bytes.len();
        let Some(slot) = self.bytes.get_mut(self.len..end) else {
            return false;
        };
        slot.copy_from_slice(bytes);
        self.len = end;
        true
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn trim_is_str_trim(text in "[ a\t\n\u{a0}\u{2003}é~!]{0,6}") {
            prop_assert_eq!(super::trim(&text), text.trim());
        }
    }
}
