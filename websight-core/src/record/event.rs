//! websight's own event-level record: one JSON object per page event.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    Action, Device, Location, Order, PageEvent, ProductId, Referrer, Review, Session, SessionId,
    UserProfile,
};
use crate::{CoreError, Result};

/// One page event with its session context, as sent on the wire (snake_case JSON, RFC 3339
/// UTC timestamps).
///
/// Every event carries the session's context (user, device, IP, referrer, location) so a
/// consumer can judge it alone, and `seq` / `session_events` so a consumer knows when it has
/// all of a session. The session's order and reviews ride on its last event.
///
/// ```
/// use websight_core::record::EventRecord;
/// use websight_core::synth::{Generator, SynthConfig};
///
/// let generator = Generator::new(SynthConfig { sessions: 20, ..SynthConfig::default() })?;
/// let session = generator.sessions().next().unwrap().session;
/// let events = EventRecord::from_session(&session);
/// let line = serde_json::to_string(&events[0])?;
/// assert!(line.contains("\"timestamp\":\""));
/// let back = EventRecord::into_session(events)?;
/// assert_eq!(back, session);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    /// Unique id: `{session_id}-{seq}`.
    pub event_id: String,
    /// The session this event belongs to.
    pub session_id: SessionId,
    /// Position within the session, from 0.
    pub seq: u32,
    /// Number of events in the session.
    pub session_events: u32,
    /// When the page was opened.
    pub timestamp: DateTime<Utc>,
    /// What the visitor did.
    pub action: Action,
    /// The product concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<ProductId>,
    /// Seconds on the page.
    pub dwell_seconds: f64,
    /// Clicks on the page.
    pub clicks: u32,
    /// Search text, for searches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_query: Option<String>,
    /// The visitor.
    pub user: UserProfile,
    /// Device.
    pub device: Device,
    /// Raw user agent.
    pub user_agent: String,
    /// Client IP address.
    pub ip_address: IpAddr,
    /// Traffic source.
    pub referrer: Referrer,
    /// Geolocation.
    pub location: Location,
    /// The session's order (last event only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    /// The session's reviews (last event only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<Review>,
}

impl EventRecord {
    /// Whether this is the last event of its session.
    pub fn is_last(&self) -> bool {
        self.seq + 1 == self.session_events
    }

    /// The session's events as records, in order.
    pub fn from_session(session: &Session) -> Vec<EventRecord> {
        let total = u32::try_from(session.events.len()).unwrap_or(u32::MAX);
        session
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let last = i + 1 == session.events.len();
                EventRecord {
                    event_id: format!("{}-{i}", session.id),
                    session_id: session.id.clone(),
                    seq: i as u32,
                    session_events: total,
                    timestamp: e.at,
                    action: e.action,
                    product_id: e.product,
                    dwell_seconds: e.dwell_seconds,
                    clicks: e.clicks,
                    search_query: e.search_query.clone(),
                    user: session.user.clone(),
                    device: session.device.clone(),
                    user_agent: session.user_agent.clone(),
                    ip_address: session.ip,
                    referrer: session.referrer,
                    location: session.location.clone(),
                    order: if last { session.order.clone() } else { None },
                    reviews: if last {
                        session.reviews.clone()
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect()
    }

    /// Reassembles one session from all of its events, in any order.
    ///
    /// Fails when the events belong to different sessions, a `seq` is missing or repeated,
    /// or the result breaks a [`Session`] invariant.
    pub fn into_session(mut events: Vec<EventRecord>) -> Result<Session> {
        events.sort_by_key(|e| e.seq);
        let first = events
            .first()
            .ok_or_else(|| CoreError::invalid("seq", "no events"))?;
        let expected = first.session_events as usize;
        if events.len() != expected {
            return Err(CoreError::invalid(
                "session_events",
                format!(
                    "session {} has {} of {expected} events",
                    first.session_id,
                    events.len()
                ),
            ));
        }
        for (i, e) in events.iter().enumerate() {
            if e.session_id != first.session_id {
                return Err(CoreError::invalid(
                    "session_id",
                    "events of different sessions",
                ));
            }
            if e.seq as usize != i {
                return Err(CoreError::invalid("seq", format!("seq {i} is missing")));
            }
        }
        let last = events.last().expect("non-empty");
        let mut session = Session {
            id: first.session_id.clone(),
            user: first.user.clone(),
            started_at: first.timestamp,
            device: first.device.clone(),
            user_agent: first.user_agent.clone(),
            ip: first.ip_address,
            referrer: first.referrer,
            location: first.location.clone(),
            events: Vec::with_capacity(events.len()),
            order: last.order.clone(),
            reviews: last.reviews.clone(),
        };
        session.events = events
            .into_iter()
            .map(|e| PageEvent {
                at: e.timestamp,
                action: e.action,
                product: e.product_id,
                dwell_seconds: e.dwell_seconds,
                clicks: e.clicks,
                search_query: e.search_query,
            })
            .collect();
        session.validate()?;
        Ok(session)
    }
}
