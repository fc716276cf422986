//! What a shop's tracking SDKs send for a generated session: Segment-spec messages.
//!
//! The base expansion is [`crate::decode::session_events`] (the same one the original
//! records get); on top of it a session gets what real traffic has: a concrete acquisition
//! (referrer URLs and UTM campaigns across GA4's channels, drawn from the session's
//! referrer), browser-side timestamps with the device's clock skew (`originalTimestamp`,
//! `sentAt`, `receivedAt`) and server-side `timestamp`s for orders, and the visible traces
//! of planted abuse (no user agent; absurd quantities).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, json};

use super::generator::{AbuseKind, SyntheticSession};
use super::rng::derived_rng;
use crate::decode::{SHOP_ORIGIN, campaign_from_url, session_events};
use crate::event::{
    CompactString, Event, MessageType, ProductItem, Properties, ToCompactString, format_compact,
    names,
};
use crate::hash::hash64;
use crate::model::{Catalogue, ProductId, Referrer};

/// The landing page's referrer and query for a session from `referrer`.
fn acquisition(rng: &mut ChaCha8Rng, referrer: Referrer) -> (Option<String>, Option<String>) {
    let pick = |rng: &mut ChaCha8Rng, xs: &[&str]| (*xs.choose(rng).expect("non-empty")).to_owned();
    let utm = |source: &str, medium: &str, campaign: &str| {
        Some(format!(
            "utm_source={source}&utm_medium={medium}&utm_campaign={}",
            campaign.replace(' ', "+")
        ))
    };
    let roll: f64 = rng.r#gen();
    match referrer {
        Referrer::Google => {
            if roll < 0.6 {
                let host = pick(
                    rng,
                    &[
                        "www.google.com",
                        "www.google.de",
                        "www.google.co.uk",
                        "www.google.fr",
                    ],
                );
                (Some(format!("https://{host}/")), None)
            } else if roll < 0.8 {
                let click = format!("gclid=Cj0K{:08x}", rng.r#gen::<u32>());
                (Some("https://www.google.com/".into()), Some(click))
            } else if roll < 0.9 {
                (
                    Some("https://www.google.com/".into()),
                    utm("google", "cpc", "shopping furniture"),
                )
            } else if roll < 0.95 {
                (Some("https://www.bing.com/".into()), None)
            } else {
                (Some("https://duckduckgo.com/".into()), None)
            }
        }
        Referrer::Facebook => {
            if roll < 0.6 {
                (
                    Some(pick(
                        rng,
                        &["https://l.facebook.com/", "https://m.facebook.com/"],
                    )),
                    None,
                )
            } else if roll < 0.95 {
                (
                    Some("https://l.facebook.com/".into()),
                    utm("facebook", "paid_social", "spring sale"),
                )
            } else {
                (None, utm("facebook", "cpc", "pmax cross-network"))
            }
        }
        Referrer::Instagram => {
            if roll < 0.7 {
                (Some("https://l.instagram.com/".into()), None)
            } else {
                (
                    Some("https://l.instagram.com/".into()),
                    utm("instagram", "cpc", "reels"),
                )
            }
        }
        Referrer::WorldMarket => {
            if roll < 0.5 {
                (Some("https://www.worldmarket.com/furniture".into()), None)
            } else if roll < 0.8 {
                (
                    Some("https://www.worldmarket.com/".into()),
                    utm("worldmarket", "affiliate", "partners"),
                )
            } else if roll < 0.87 {
                (None, utm("criteo", "display", "retargeting banner"))
            } else if roll < 0.93 {
                (None, utm("pricecompare", "ppc", "price comparison"))
            } else {
                (Some("https://www.ebay.com/".into()), None)
            }
        }
        Referrer::Direct => {
            if roll < 0.55 {
                (None, None)
            } else if roll < 0.8 {
                (None, utm("newsletter", "email", "weekly picks"))
            } else if roll < 0.87 {
                (None, utm("sms", "sms", "back in stock"))
            } else if roll < 0.92 {
                (None, utm("app", "web-push", "price drop"))
            } else if roll < 0.96 {
                (Some("https://www.youtube.com/".into()), None)
            } else if roll < 0.98 {
                (None, utm("youtube", "cpv", "showroom tour"))
            } else {
                (None, utm("podcast", "audio", "home talk"))
            }
        }
        Referrer::Unknown => {
            if roll < 0.9 {
                (None, None)
            } else {
                (None, Some("utm_source=partner".into()))
            }
        }
    }
}

/// A device clock that is off by up to ±10 minutes for 30% of users (the rest are right).
fn clock_skew(rng: &mut ChaCha8Rng) -> Duration {
    if rng.gen_bool(0.3) {
        Duration::milliseconds(rng.gen_range(-600_000..=600_000))
    } else {
        Duration::zero()
    }
}

/// The tracker messages of `s` (unprotected, as the SDKs sent them; times are event times,
/// [`stamp`] sets the wire timestamps once the arrival is known).
pub(crate) fn tracker_events(s: &SyntheticSession, catalogue: &Catalogue, seed: u64) -> Vec<Event> {
    let session = &s.session;
    let mut rng = derived_rng(seed, 0x5452_4143, hash64(session.id.0.as_bytes()));
    let lookup = |id: ProductId| {
        let p = catalogue.get(id);
        ProductItem {
            product_id: Some(id.to_compact_string()),
            sku: p.map(|p| format_compact!("SKU-{:04}", p.id.0)),
            name: p.map(|p| p.name.as_str().into()),
            category: p.map(|p| p.category.to_compact_string()),
            price: p.and_then(|p| p.price.to_string().parse().ok()),
            ..ProductItem::default()
        }
    };
    let mut traits = Map::new();
    traits.insert("email".into(), json!(session.user.email));
    traits.insert("name".into(), json!(session.user.name));
    traits.insert("gender".into(), json!(session.user.gender.as_str()));
    traits.insert(
        "address".into(),
        json!({
            "city": session.location.city,
            "state": session.location.state,
            "postal_code": session.location.zip_code,
            "country": session.location.country,
        }),
    );
    let mut events = session_events(session, &lookup, traits);
    let (referrer, query) = acquisition(&mut rng, session.referrer);
    let referrer = referrer.map(CompactString::from);
    let landing_url = events.first().and_then(|e| e.page.url.clone());
    for e in &mut events {
        e.locale = Some("en-US".into());
        if e.page.url == landing_url
            && e.page
                .referrer
                .as_deref()
                .is_none_or(|r| !r.starts_with(SHOP_ORIGIN))
        {
            e.page.referrer.clone_from(&referrer);
            if let (Some(url), Some(q)) = (&mut e.page.url, &query) {
                let sep = if url.contains('?') { '&' } else { '?' };
                url.push(sep);
                url.push_str(q);
                e.page.search = Some(match &e.page.search {
                    Some(s) => format_compact!("{s}&{q}"),
                    None => format_compact!("?{q}"),
                });
                // As a decoder reads it from the URL.
                e.campaign = campaign_from_url(url);
            }
        }
    }
    match s.truth.abuse {
        Some(AbuseKind::UnknownDeviceReferrer) => {
            for e in &mut events {
                e.user_agent = None;
            }
        }
        Some(AbuseKind::ImpossibleSession) => {
            // Quantities no shopper orders (beyond the gate's default of 10,000 units, which
            // a trade customer may reach), on a cart add after a product view.
            let views: Vec<usize> = (0..events.len())
                .filter(|&i| events[i].is_track(names::PRODUCT_VIEWED))
                .collect();
            if let Some(&i) = views.choose(&mut rng) {
                let mut added = events[i].clone();
                added.message_id = format_compact!("{}-x", added.message_id);
                added.name = Some(names::PRODUCT_ADDED.into());
                added.properties = Properties {
                    products: added
                        .properties
                        .products
                        .iter()
                        .map(|p| ProductItem {
                            quantity: Some(rng.gen_range(20_000..200_000)),
                            ..p.clone()
                        })
                        .collect(),
                    ..Properties::default()
                };
                events.insert(i + 1, added);
            }
        }
        _ => {}
    }
    events
}

/// Sets an event's wire timestamps for its arrival: browser calls carry the device's
/// clock (`originalTimestamp`, `sentAt`, skewed alike) and the collector's `receivedAt`, so
/// the spec's correction recovers the event time exactly; orders and identifies come from
/// the shop's server with an explicit `timestamp`.
pub(crate) fn stamp(event: &mut Event, arrival: DateTime<Utc>, skew: Duration) {
    let server = event.kind == MessageType::Identify || event.is_track(names::ORDER_COMPLETED);
    event.timestamps = if server {
        crate::event::Timestamps {
            timestamp: Some(event.time),
            ..Default::default()
        }
    } else {
        // Millisecond precision on the wire, as SDKs send.
        let ms =
            |t: DateTime<Utc>| DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t);
        let at = ms(event.time);
        let arrival = ms(arrival.max(at));
        event.time = at;
        crate::event::Timestamps {
            timestamp: None,
            original_timestamp: Some(at + skew),
            sent_at: Some(arrival + skew),
            received_at: Some(arrival),
        }
    };
}

/// The device clock's skew for a session's user.
pub(crate) fn session_skew(seed: u64, user: &str) -> Duration {
    clock_skew(&mut derived_rng(seed, 0x534b_4557, hash64(user.as_bytes())))
}
