//! A Segment message as it arrives, read in one pass without building a `serde_json::Value`:
//! strings without escapes are borrowed from the input, fields we do not read are skipped
//! unparsed, and only properties we do not type become `Value`s (they are kept verbatim).
//! Wrong types are not refused here — they are kept ([`Scalar::Other`], [`Field::Other`]) so
//! the decoder can say which field was wrong.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

/// A JSON value where the spec expects a string, number or boolean.
#[derive(Debug, Clone)]
pub(super) enum Scalar<'a> {
    Null,
    Str(Cow<'a, str>),
    Num(Number),
    Bool(bool),
    /// An object or an array (boxed: rare, and it keeps every field small).
    Other(Box<Value>),
}

impl Scalar<'_> {
    /// The value as `serde_json` would have read it.
    pub(super) fn into_value(self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Str(s) => Value::String(s.into_owned()),
            Scalar::Num(n) => Value::Number(n),
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Other(v) => *v,
        }
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Num(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Num(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
        // As `Value` does: a non-finite number (not JSON) is null.
        Ok(Number::from_f64(v).map_or(Scalar::Null, Scalar::Num))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar<'de>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(|v| Scalar::Other(Box::new(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar<'de>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(|v| Scalar::Other(Box::new(v)))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// A field that should hold an object: `T` when it does, `Other` (skipped) when it does not.
#[derive(Debug, Clone)]
pub(super) enum Field<T> {
    Object(T),
    Other,
}

impl<T> Field<T> {
    /// `Some(T)` for an object; `Err(())` for anything else.
    pub(super) fn object(this: Option<Self>) -> Result<Option<T>, ()> {
        match this {
            None => Ok(None),
            Some(Field::Object(t)) => Ok(Some(t)),
            Some(Field::Other) => Err(()),
        }
    }
}

struct FieldVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for FieldVisitor<T> {
    type Value = Field<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Field::Object)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Field<T>, E> {
        Ok(Field::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<Field<T>, E> {
        Ok(Field::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Field<T>, E> {
        Ok(Field::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Field<T>, E> {
        Ok(Field::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Field<T>, E> {
        Ok(Field::Other)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Field<T>, E> {
        Ok(Field::Other)
    }
    fn visit_unit<E>(self) -> Result<Field<T>, E> {
        Ok(Field::Other)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor(PhantomData))
    }
}

/// A value's JSON text, checked as JSON but read only when wanted: traits, personal data
/// that privacy drops whole (RudderStack's SDK copies them into every message's context).
#[derive(Debug, Clone, Copy)]
pub(super) struct Unread<'a>(pub &'a str);

impl<'de: 'a, 'a> Deserialize<'de> for Unread<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(d).map(|raw| Unread(raw.get()))
    }
}

/// A message, or with `batch` a batch whose `sentAt` and `context` its messages share.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Message<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Option<Scalar<'a>>,
    #[serde(rename = "messageId", borrow)]
    pub message_id: Option<Scalar<'a>>,
    #[serde(rename = "userId", borrow)]
    pub user_id: Option<Scalar<'a>>,
    #[serde(rename = "anonymousId", borrow)]
    pub anonymous_id: Option<Scalar<'a>>,
    #[serde(rename = "previousId", borrow)]
    pub previous_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub event: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub name: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub timestamp: Option<Scalar<'a>>,
    #[serde(rename = "originalTimestamp", borrow)]
    pub original_timestamp: Option<Scalar<'a>>,
    #[serde(rename = "sentAt", borrow)]
    pub sent_at: Option<Scalar<'a>>,
    #[serde(rename = "receivedAt", borrow)]
    pub received_at: Option<Scalar<'a>>,
    // Boxed, as the message's largest parts: moved by pointer, not copied.
    #[serde(borrow)]
    pub context: Option<Field<Box<Context<'a>>>>,
    #[serde(borrow)]
    pub properties: Option<Field<Box<Props<'a>>>>,
    #[serde(borrow)]
    pub traits: Option<Unread<'a>>,
    #[serde(borrow)]
    pub batch: Option<Batch<'a>>,
    /// Keys only the original system's session records have at the top: with both,
    /// [`Format::Auto`](super::Format::Auto) hands the line to the original decoder.
    #[serde(rename = "sessionId")]
    pub record_session_id: Option<serde::de::IgnoredAny>,
    #[serde(rename = "productIds")]
    pub record_product_ids: Option<serde::de::IgnoredAny>,
}

/// `context`: the fields we read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct Context<'a> {
    #[serde(rename = "sessionId", borrow)]
    pub session_id: Option<Scalar<'a>>,
    /// RudderStack's spelling.
    #[serde(rename = "session_id", borrow)]
    pub session_id_snake: Option<Scalar<'a>>,
    #[serde(rename = "userAgent", borrow)]
    pub user_agent: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub ip: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub locale: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub page: Option<Field<PageFields<'a>>>,
    #[serde(borrow)]
    pub campaign: Option<Field<CampaignFields<'a>>>,
    #[serde(borrow)]
    pub traits: Option<Unread<'a>>,
    /// Segment's and Jitsu's consent: `{"categoryPreferences": {"Analytics": false, …}}`.
    pub consent: Option<Field<ConsentFields>>,
    /// RudderStack's: `{"deniedConsentIds": ["C0002", …], …}`.
    #[serde(rename = "consentManagement")]
    pub consent_management: Option<Field<ConsentManagement>>,
    #[serde(borrow)]
    pub library: Option<Field<LibraryFields<'a>>>,
}

/// `context.library`: the SDK that made the message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct LibraryFields<'a> {
    #[serde(borrow)]
    pub name: Option<Scalar<'a>>,
}

/// `context.consent`: the fields we read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct ConsentFields {
    #[serde(rename = "categoryPreferences")]
    pub preferences: Option<Field<Preferences>>,
}

/// `categoryPreferences`: each category with its value, `None` when that is no boolean.
/// Read without a map of `Value`s: consent tools stamp it on every event.
#[derive(Debug, Clone, Default)]
pub(super) struct Preferences(pub Vec<(compact_str::CompactString, Option<bool>)>);

impl<'de> Deserialize<'de> for Preferences {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PreferencesVisitor;
        impl<'de> Visitor<'de> for PreferencesVisitor {
            type Value = Preferences;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Preferences, A::Error> {
                let mut all = Vec::new();
                while let Some(category) = map.next_key()? {
                    let granted = match map.next_value::<Value>()? {
                        Value::Bool(b) => Some(b),
                        _ => None,
                    };
                    all.push((category, granted));
                }
                Ok(Preferences(all))
            }
        }
        d.deserialize_map(PreferencesVisitor)
    }
}

/// `context.consentManagement`: the fields we read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct ConsentManagement {
    #[serde(rename = "deniedConsentIds")]
    pub denied: Option<Value>,
}

impl<'a> Context<'a> {
    /// Puts a batch's shared context under this one: each field this one lacks is taken
    /// from `shared` (Segment's batch semantics, field by field).
    pub(super) fn inherit(&mut self, shared: &Context<'a>) {
        fn or<T: Clone>(own: &mut Option<T>, theirs: &Option<T>) {
            if own.is_none() {
                own.clone_from(theirs);
            }
        }
        or(&mut self.session_id, &shared.session_id);
        or(&mut self.session_id_snake, &shared.session_id_snake);
        or(&mut self.user_agent, &shared.user_agent);
        or(&mut self.ip, &shared.ip);
        or(&mut self.locale, &shared.locale);
        or(&mut self.page, &shared.page);
        or(&mut self.campaign, &shared.campaign);
        or(&mut self.traits, &shared.traits);
        or(&mut self.consent, &shared.consent);
        or(&mut self.consent_management, &shared.consent_management);
        or(&mut self.library, &shared.library);
    }
}

/// `context.page`, or the page fields of a `page` call's properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct PageFields<'a> {
    #[serde(borrow)]
    pub url: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub path: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub title: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub referrer: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub search: Option<Scalar<'a>>,
}

/// `context.campaign`, in either spelling (`source` or `utm_source`, …).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct CampaignFields<'a> {
    #[serde(borrow)]
    pub source: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub utm_source: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub medium: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub utm_medium: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub name: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub utm_campaign: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub term: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub utm_term: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub content: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub utm_content: Option<Scalar<'a>>,
}

/// One product: an entry of `properties.products`, or a product event's own properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct ProductFields<'a> {
    #[serde(borrow)]
    pub product_id: Option<Scalar<'a>>,
    /// Some SDKs' spelling of `product_id` in `products` entries.
    #[serde(borrow)]
    pub id: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub sku: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub name: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub category: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub brand: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub price: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub quantity: Option<Scalar<'a>>,
}

impl<'a> ProductFields<'a> {
    /// Whether a product id or SKU is given (what marks properties as a product's).
    pub(super) fn identified(&self) -> bool {
        self.product_id.is_some() || self.sku.is_some()
    }

    /// Each field under its name (what the derived reading matches, too).
    pub(super) fn fields(&mut self) -> [(&'static str, &mut Option<Scalar<'a>>); 8] {
        [
            ("product_id", &mut self.product_id),
            ("id", &mut self.id),
            ("sku", &mut self.sku),
            ("name", &mut self.name),
            ("category", &mut self.category),
            ("brand", &mut self.brand),
            ("price", &mut self.price),
            ("quantity", &mut self.quantity),
        ]
    }

    /// The fields as properties, under their own names (for properties that turn out not to
    /// describe a product). `id` is only ever read from `products` entries, never from
    /// properties, so it is never set here.
    pub(super) fn into_extra(mut self, extra: &mut Map<String, Value>) {
        into_extra(self.fields(), extra);
    }
}

impl<'a> PageFields<'a> {
    /// Each field under its name (what the derived reading matches, too).
    pub(super) fn fields(&mut self) -> [(&'static str, &mut Option<Scalar<'a>>); 5] {
        [
            ("url", &mut self.url),
            ("path", &mut self.path),
            ("title", &mut self.title),
            ("referrer", &mut self.referrer),
            ("search", &mut self.search),
        ]
    }

    /// The fields as properties, under their own names (for events other than `page`).
    pub(super) fn into_extra(mut self, extra: &mut Map<String, Value>) {
        into_extra(self.fields(), extra);
    }
}

/// Each set field into `extra` under its name.
fn into_extra<const N: usize>(
    fields: [(&str, &mut Option<Scalar<'_>>); N],
    extra: &mut Map<String, Value>,
) {
    for (key, value) in fields {
        if let Some(v) = value.take() {
            extra.insert(key.into(), v.into_value());
        }
    }
}

impl<'a> CampaignFields<'a> {
    /// Each field under its name (what the derived reading matches, too).
    pub(super) fn fields(&mut self) -> [(&'static str, &mut Option<Scalar<'a>>); 10] {
        [
            ("source", &mut self.source),
            ("utm_source", &mut self.utm_source),
            ("medium", &mut self.medium),
            ("utm_medium", &mut self.utm_medium),
            ("name", &mut self.name),
            ("utm_campaign", &mut self.utm_campaign),
            ("term", &mut self.term),
            ("utm_term", &mut self.utm_term),
            ("content", &mut self.content),
            ("utm_content", &mut self.utm_content),
        ]
    }
}

/// A field that should hold a list: its items, or the value when it is not a list.
#[derive(Debug)]
pub(super) enum ListOr<'a, T> {
    List(Vec<T>),
    Other(Scalar<'a>),
}

struct ListVisitor<T>(PhantomData<T>);

macro_rules! not_a_list {
    ($($method:ident($($arg:ident: $ty:ty)?)),*) => {$(
        fn $method<E: serde::de::Error>(self, $($arg: $ty)?) -> Result<Self::Value, E> {
            ScalarVisitor.$method($($arg)?).map(ListOr::Other)
        }
    )*};
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = ListOr<'de, T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(ListOr::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ScalarVisitor.visit_map(map).map(ListOr::Other)
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        ScalarVisitor.visit_borrowed_str(v).map(ListOr::Other)
    }
    not_a_list!(
        visit_str(v: &str),
        visit_string(v: String),
        visit_u64(v: u64),
        visit_i64(v: i64),
        visit_f64(v: f64),
        visit_bool(v: bool),
        visit_unit()
    );
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for ListOr<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData))
    }
}

/// `properties.products`: product objects (or not), or a value kept as a plain property.
pub(super) type Products<'a> = ListOr<'a, Field<ProductFields<'a>>>;

/// `batch`: the messages' raw texts, each decoded on its own so one bad message is one dead
/// letter.
pub(super) type Batch<'a> = ListOr<'a, &'a RawValue>;

/// `properties`: typed where the e-commerce spec types them, everything else kept in `extra`.
#[derive(Debug, Default)]
pub(super) struct Props<'a> {
    pub products: Option<Products<'a>>,
    /// A product event's own product fields.
    pub product: ProductFields<'a>,
    /// A `page` call's page fields.
    pub page: PageFields<'a>,
    pub order_id: Option<Scalar<'a>>,
    pub checkout_id: Option<Scalar<'a>>,
    pub revenue: Option<Scalar<'a>>,
    pub total: Option<Scalar<'a>>,
    pub currency: Option<Scalar<'a>>,
    pub payment_method: Option<Scalar<'a>>,
    pub review_id: Option<Scalar<'a>>,
    pub review_body: Option<Scalar<'a>>,
    pub rating: Option<Scalar<'a>>,
    pub query: Option<Scalar<'a>>,
    pub extra: Map<String, Value>,
}

impl<'a> Props<'a> {
    /// The typed slot a property fills (`products` and untyped keys have none). A repeated
    /// key overwrites; `null` is kept as a value.
    pub(super) fn slot(&mut self, key: &str) -> Option<&mut Option<Scalar<'a>>> {
        Some(match key {
            "product_id" => &mut self.product.product_id,
            "sku" => &mut self.product.sku,
            "name" => &mut self.product.name,
            "category" => &mut self.product.category,
            "brand" => &mut self.product.brand,
            "price" => &mut self.product.price,
            "quantity" => &mut self.product.quantity,
            "url" => &mut self.page.url,
            "path" => &mut self.page.path,
            "title" => &mut self.page.title,
            "referrer" => &mut self.page.referrer,
            "search" => &mut self.page.search,
            "order_id" => &mut self.order_id,
            "checkout_id" => &mut self.checkout_id,
            "revenue" => &mut self.revenue,
            "total" => &mut self.total,
            "currency" => &mut self.currency,
            "payment_method" => &mut self.payment_method,
            "review_id" => &mut self.review_id,
            "review_body" => &mut self.review_body,
            "rating" => &mut self.rating,
            "query" => &mut self.query,
            _ => return None,
        })
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ScalarVisitor)? {
            Scalar::Str(s) => Ok(Key(s)),
            other => Ok(Key(Cow::Owned(other.into_value().to_string()))),
        }
    }
}

struct PropsVisitor;

impl<'de> Visitor<'de> for PropsVisitor {
    type Value = Props<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Props<'de>, A::Error> {
        let mut p = Props::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == "products" {
                p.products = Some(map.next_value()?);
            } else if let Some(slot) = p.slot(&key) {
                *slot = Some(map.next_value()?);
            } else {
                p.extra.insert(key.into_owned(), map.next_value()?);
            }
        }
        Ok(p)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Props<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PropsVisitor)
    }
}
