//! The original system's session record, expanded to the events a tracker sends.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{DeadLetter, DeadLetterReason, DecodeContext};
use crate::event::{
    CompactString, Event, MessageType, Money, Page, ProductItem, Properties, Timestamps,
    ToCompactString, format_compact, names,
};
use crate::model::{Action, ProductId, Referrer, Session};
use crate::record::SessionRecord;

/// The origin of the page URLs given to expanded sessions.
pub const SHOP_ORIGIN: &str = "https://shop.example";

/// The currency of expanded sessions' orders: the original records' amounts are dollars.
pub const ORIGINAL_CURRENCY: &str = "USD";

/// Decodes one original session record and expands it with [`session_events`]. Names,
/// prices and categories come from the record itself.
pub fn decode_original(raw: &[u8], context: &DecodeContext) -> Result<Vec<Event>, DeadLetter> {
    if raw.len() > context.limits.max_batch_bytes {
        return Err(DeadLetter::new(
            raw,
            DeadLetterReason::TooLarge(format!("record is {} bytes", raw.len())),
        ));
    }
    let record: SessionRecord = serde_json::from_slice(raw)
        .map_err(|e| DeadLetter::new(raw, DeadLetterReason::of_json(&e)))?;
    let session = record.to_session().map_err(|e| {
        DeadLetter::new(
            raw,
            DeadLetterReason::Invalid(crate::event::clip(&e.to_string())),
        )
    })?;
    let products: Vec<(u32, ProductItem)> = record
        .product_ids
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let price = record.product_prices[i].0.to_string().parse::<Money>().ok();
            let item = ProductItem {
                product_id: Some(id.to_compact_string()),
                name: Some(record.product_names[i].as_str().into()),
                category: Some(record.product_categories[i].to_compact_string()),
                price,
                ..ProductItem::default()
            };
            (id, item)
        })
        .collect();
    let lookup = |id: ProductId| {
        products
            .iter()
            .find(|(p, _)| *p == id.0)
            .map(|(_, item)| item.clone())
            .unwrap_or_else(|| ProductItem {
                product_id: Some(id.to_compact_string()),
                ..ProductItem::default()
            })
    };
    let mut traits = serde_json::Map::new();
    if !context.drop_traits {
        traits.insert("name".into(), json!(record.name));
        traits.insert("email".into(), json!(record.email));
        traits.insert("gender".into(), json!(record.gender.as_str()));
    }
    Ok(session_events(&session, &lookup, traits))
}

fn referrer_url(referrer: Referrer) -> Option<&'static str> {
    match referrer {
        Referrer::Google => Some("https://www.google.com/"),
        Referrer::Facebook => Some("https://l.facebook.com/"),
        Referrer::Instagram => Some("https://l.instagram.com/"),
        Referrer::WorldMarket => Some("https://www.worldmarket.com/"),
        Referrer::Direct | Referrer::Unknown => None,
    }
}

/// A URL path segment for a name.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// `parts` end to end, allocated once at their length: `format_compact!` grows its buffer
/// a step at a time past the inline 24 bytes, and every generated message has such ids.
fn joined(parts: &[&str]) -> CompactString {
    let mut text = CompactString::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

/// The events a browser SDK would have sent for `session`: for each page a `page` call and
/// its e-commerce `track` call (`Product Viewed`, `Product Added`, `Products Searched`,
/// `Checkout Started`); a purchase adds `identify` (with `traits`), `Payment Info Entered`
/// and `Order Completed`; each review a `Product Reviewed`. Message ids are
/// `{session id}-{n}`; the user id is the session's (its `anonymousId` is derived from it);
/// times, IP and user agent are the session's. Dwell and clicks are not sent: real trackers
/// do not send them (dwell is the time to the next page).
pub fn session_events(
    session: &Session,
    product: &dyn Fn(ProductId) -> ProductItem,
    traits: serde_json::Map<String, Value>,
) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::with_capacity(2 * session.events.len() + 4);
    let anonymous = format!("anon-{}", session.user.id);
    let referrer = referrer_url(session.referrer).map(CompactString::const_new);
    let cart: Vec<ProductItem> = session
        .cart_products()
        .into_iter()
        .map(|p| ProductItem {
            quantity: Some(1),
            ..product(p)
        })
        .collect();
    let push = |out: &mut Vec<Event>,
                kind: MessageType,
                name: Option<&str>,
                at: DateTime<Utc>,
                page: &Page,
                properties: Properties,
                identified: bool| {
        let n = out.len();
        out.push(Event {
            message_id: joined(&[session.id.as_str(), "-", &n.to_compact_string()]),
            kind,
            name: name.map(CompactString::from),
            time: at,
            timestamps: Timestamps {
                timestamp: Some(at),
                ..Timestamps::default()
            },
            anonymous_id: Some(anonymous.as_str().into()),
            user_id: identified.then(|| session.user.id.0.as_str().into()),
            previous_id: None,
            session_id: None,
            page: page.clone(),
            campaign: Default::default(),
            user_agent: Some(session.user_agent.as_str().into()),
            ip: Some(session.ip),
            locale: None,
            properties,
            traits: Default::default(),
            denied_consent: Vec::new(),
            library: None,
            address_key: None,
        });
    };
    // Made where used: most sessions never reach the checkout.
    let checkout_id = || Some(joined(&[session.id.as_str(), "-checkout"]));
    let order = session.order.as_ref();
    let last_checkout = session
        .events
        .iter()
        .rposition(|e| e.action == Action::Checkout);
    for (i, e) in session.events.iter().enumerate() {
        let item = e.product.map(product);
        let title = match (&item, e.action) {
            (_, Action::Search) => CompactString::const_new("Search"),
            (_, Action::Checkout) => CompactString::const_new("Checkout"),
            (Some(item), _) => item.name.clone().unwrap_or_else(|| "Product".into()),
            (None, _) => CompactString::const_new("Home"),
        };
        let path = match (&item, e.action) {
            (_, Action::Search) => format!(
                "/search?q={}",
                url::form_urlencoded::byte_serialize(
                    e.search_query.as_deref().unwrap_or("").as_bytes()
                )
                .collect::<String>()
            ),
            (_, Action::Checkout) => "/checkout".to_owned(),
            (Some(item), _) => format!(
                "/products/{}",
                slug(
                    item.name
                        .as_deref()
                        .or(item.product_id.as_deref())
                        .unwrap_or("")
                )
            ),
            (None, _) => "/".to_owned(),
        };
        let (path_only, search) = match path.split_once('?') {
            Some((p, q)) => (p.into(), Some(format_compact!("?{q}"))),
            None => (path.as_str().into(), None),
        };
        let page = Page {
            url: Some(joined(&[SHOP_ORIGIN, &path])),
            path: Some(path_only),
            title: Some(title.clone()),
            referrer: if i == 0 {
                referrer.clone()
            } else {
                Some(format_compact!("{SHOP_ORIGIN}/"))
            },
            search,
        };
        let identified = order.is_some() && last_checkout.is_some_and(|c| i >= c);
        if identified && Some(i) == last_checkout {
            push(
                &mut out,
                MessageType::Identify,
                None,
                e.at,
                &page,
                Properties::default(),
                true,
            );
            if let Some(identify) = out.last_mut() {
                identify.traits = traits.clone();
            }
        }
        push(
            &mut out,
            MessageType::Page,
            Some(&title),
            e.at,
            &page,
            Properties::default(),
            identified,
        );
        let (name, properties) = match e.action {
            Action::ViewItem => (
                names::PRODUCT_VIEWED,
                Properties {
                    products: item.into_iter().collect(),
                    ..Properties::default()
                },
            ),
            Action::AddToCart => (
                names::PRODUCT_ADDED,
                Properties {
                    products: item
                        .map(|i| ProductItem {
                            quantity: Some(1),
                            ..i
                        })
                        .into_iter()
                        .collect(),
                    ..Properties::default()
                },
            ),
            Action::Search => (
                names::PRODUCTS_SEARCHED,
                Properties {
                    query: e.search_query.as_deref().map(CompactString::from),
                    ..Properties::default()
                },
            ),
            Action::Checkout => (
                names::CHECKOUT_STARTED,
                Properties {
                    products: cart.clone(),
                    checkout_id: checkout_id(),
                    ..Properties::default()
                },
            ),
        };
        push(
            &mut out,
            MessageType::Track,
            Some(name),
            e.at,
            &page,
            properties,
            identified,
        );
        if let (Some(order), true) = (order, Some(i) == last_checkout) {
            let amount = order.amount.to_string().parse::<Money>().ok();
            let payment = order.payment.as_str().to_owned();
            push(
                &mut out,
                MessageType::Track,
                Some(names::PAYMENT_INFO_ENTERED),
                e.at,
                &page,
                Properties {
                    checkout_id: checkout_id(),
                    payment_method: Some(payment.as_str().into()),
                    ..Properties::default()
                },
                true,
            );
            let mut bought: Vec<ProductItem> = Vec::new();
            for &p in &order.products {
                match bought
                    .iter_mut()
                    .find(|b| b.product_id == product(p).product_id)
                {
                    Some(b) => b.quantity = Some(b.units() + 1),
                    None => bought.push(ProductItem {
                        quantity: Some(1),
                        ..product(p)
                    }),
                }
            }
            push(
                &mut out,
                MessageType::Track,
                Some(names::ORDER_COMPLETED),
                e.at,
                &page,
                Properties {
                    products: bought,
                    order_id: Some(joined(&[session.id.as_str(), "-order"])),
                    checkout_id: checkout_id(),
                    revenue: amount,
                    currency: Some(ORIGINAL_CURRENCY.into()),
                    payment_method: Some(payment.into()),
                    ..Properties::default()
                },
                true,
            );
        }
    }
    let end = session.events.last().map_or(session.started_at, |e| e.at);
    for review in &session.reviews {
        let item = product(review.product);
        let page = Page {
            url: Some(format_compact!("{SHOP_ORIGIN}/account/reviews")),
            path: Some("/account/reviews".into()),
            ..Page::default()
        };
        push(
            &mut out,
            MessageType::Track,
            Some(names::PRODUCT_REVIEWED),
            end,
            &page,
            Properties {
                products: vec![item],
                review_body: Some(review.text.as_str().into()),
                ..Properties::default()
            },
            order.is_some(),
        );
    }
    out
}
