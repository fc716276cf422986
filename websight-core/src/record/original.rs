//! The original system's session record (camelCase, one JSON object per session).

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::{JsonNumber, NaiveUtc};
use crate::model::{
    Action, Catalogue, Category, Device, DeviceType, Gender, Location, Order, PageEvent,
    PaymentMethod, ProductId, Referrer, Review, Session, SessionId, UserId, UserProfile,
};
use crate::{CoreError, Result};

/// `deviceInformation` of a [`SessionRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceInformation {
    /// `mobile`, `desktop`, `tablet` or `unknown`.
    pub device_type: DeviceType,
    /// Free text (the original wrote a user-agent string).
    pub operating_system: String,
    /// Free text (the original wrote a user-agent string).
    pub browser_type: String,
}

/// `locationData` of a [`SessionRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocationData {
    /// Country.
    pub country: String,
    /// State.
    pub state: String,
    /// City.
    pub city: String,
    /// Zip code as text.
    pub zip_code: String,
}

/// One session in the original system's shape, exactly its fields and spellings.
///
/// Decoding then re-encoding gives the same JSON value: numbers keep their integer or
/// fractional form ([`JsonNumber`]), the naive timestamp keeps its format ([`NaiveUtc`]) and
/// unknown fields are refused rather than dropped. The per-product lists (`productIds`,
/// `productNames`, `productPrices`, `productCategories`, `productReviews`,
/// `timeSpentonEachPage`) are parallel; [`SessionRecord::to_session`] checks that.
///
/// ```
/// use websight_core::record::SessionRecord;
///
/// let json = r#"{"sessionId":"s1","userId":"u1","sessionTimestamp":"2024-03-09T17:05:59",
///   "productIds":[9,10],"productNames":["dining table","dining chairs"],
///   "productPrices":[2500,650],"productCategories":["dining room","dining room"],
///   "productReviews":[null,"Chairs are mediocre, good for occasional use."],
///   "name":"Ann Lee","gender":"Female","email":"ann@example.com",
///   "deviceInformation":{"deviceType":"mobile","operatingSystem":"iOS","browserType":"Safari"},
///   "locationData":{"country":"United States","state":"Ohio","city":"Dayton","zipCode":"45402"},
///   "ipAddress":"203.0.113.7","sessionDuration":95,"pageViews":2,"browsingPattern":[9,10],
///   "timeSpentonEachPage":[40,55],"clicks":7,"actions":"checkout","referrer":"Google",
///   "exitPage":"dining chairs","purchaseMade":true,"amountSpent":3150,
///   "paymentMethodType":"PayPal"}"#;
/// let record: SessionRecord = serde_json::from_str(json)?;
/// let again: serde_json::Value = serde_json::to_value(&record)?;
/// assert_eq!(again, serde_json::from_str::<serde_json::Value>(json)?);
///
/// let session = record.to_session()?;
/// assert!(session.purchased());
/// assert_eq!(session.viewed_products().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionRecord {
    /// Session id.
    pub session_id: String,
    /// User id.
    pub user_id: String,
    /// Session start, naive, read as UTC.
    pub session_timestamp: NaiveUtc,
    /// Products viewed.
    pub product_ids: Vec<u32>,
    /// Their names.
    pub product_names: Vec<String>,
    /// Their prices.
    pub product_prices: Vec<JsonNumber>,
    /// Their categories.
    pub product_categories: Vec<Category>,
    /// A review per product, `null` where none was written.
    pub product_reviews: Vec<Option<String>>,
    /// The user's name.
    pub name: String,
    /// The user's gender.
    pub gender: Gender,
    /// The user's e-mail.
    pub email: String,
    /// Device.
    pub device_information: DeviceInformation,
    /// Location.
    pub location_data: LocationData,
    /// Client IP address, as sent.
    pub ip_address: String,
    /// Seconds.
    pub session_duration: JsonNumber,
    /// Pages opened.
    pub page_views: u32,
    /// Products in browsing order (the original wrote the same list as `productIds`).
    pub browsing_pattern: Vec<u32>,
    /// Seconds per product page, parallel to `productIds`.
    pub time_spenton_each_page: Vec<JsonNumber>,
    /// Clicks in the session.
    pub clicks: u32,
    /// The one action the original recorded per session (its furthest funnel step).
    pub actions: Action,
    /// Traffic source.
    pub referrer: Referrer,
    /// Name of the last page.
    pub exit_page: String,
    /// Whether an order was placed.
    pub purchase_made: bool,
    /// Order total, 0 without a purchase.
    pub amount_spent: JsonNumber,
    /// Payment method, `None` without a purchase.
    pub payment_method_type: PaymentMethod,
}

impl SessionRecord {
    /// Summarises a session in the original shape; names, prices and categories come from
    /// `catalogue`.
    ///
    /// The original shape is coarser than a [`Session`]: product pages collapse to one entry
    /// per product with their summed dwell (rounded to whole seconds, as the original wrote
    /// them), the action is the furthest funnel step, and event times are dropped.
    pub fn from_session(session: &Session, catalogue: &Catalogue) -> Result<SessionRecord> {
        let dwell = session.dwell_by_product();
        let mut products = Vec::with_capacity(dwell.len());
        for (id, _) in &dwell {
            products.push(catalogue.product(*id)?);
        }
        let review_for = |id: ProductId| {
            session
                .reviews
                .iter()
                .find(|r| r.product == id)
                .map(|r| r.text.clone())
        };
        let ids: Vec<u32> = dwell.iter().map(|(id, _)| id.0).collect();
        let exit_page = match session.exit_product() {
            Some(id) => catalogue.product(id)?.name.clone(),
            None => String::new(),
        };
        let order = session.order.as_ref();
        Ok(SessionRecord {
            session_id: session.id.0.clone(),
            user_id: session.user.id.0.clone(),
            session_timestamp: NaiveUtc(session.started_at),
            product_ids: ids.clone(),
            product_names: products.iter().map(|p| p.name.clone()).collect(),
            product_prices: products.iter().map(|p| JsonNumber(p.price)).collect(),
            product_categories: products.iter().map(|p| p.category.clone()).collect(),
            product_reviews: dwell.iter().map(|(id, _)| review_for(*id)).collect(),
            name: session.user.name.clone(),
            gender: session.user.gender,
            email: session.user.email.clone(),
            device_information: DeviceInformation {
                device_type: session.device.device_type,
                operating_system: session.device.operating_system.clone(),
                // Where the original system wrote the user agent (and where it is read back).
                browser_type: session.user_agent.clone(),
            },
            location_data: LocationData {
                country: session.location.country.clone(),
                state: session.location.state.clone(),
                city: session.location.city.clone(),
                zip_code: session.location.zip_code.clone(),
            },
            ip_address: session.ip.to_string(),
            session_duration: JsonNumber(session.duration_seconds().round()),
            page_views: u32::try_from(session.page_views()).unwrap_or(u32::MAX),
            browsing_pattern: ids,
            time_spenton_each_page: dwell.iter().map(|(_, s)| JsonNumber(s.round())).collect(),
            clicks: u32::try_from(session.clicks()).unwrap_or(u32::MAX),
            actions: if order.is_some() {
                Action::Checkout
            } else {
                session.furthest_action()
            },
            referrer: session.referrer,
            exit_page,
            purchase_made: order.is_some(),
            amount_spent: JsonNumber(order.map_or(0.0, |o| o.amount)),
            payment_method_type: session.payment_method(),
        })
    }

    /// Rebuilds a typed session from the record.
    ///
    /// The record has no event times, so pages are laid end to end from `sessionTimestamp`
    /// with their recorded dwell; clicks are spread evenly over the pages; the session's one
    /// action becomes a final cart or checkout page when it went that far (a search becomes
    /// a first page). The user agent is taken from `browserType`, where the original wrote it.
    ///
    /// Errors name the field when the parallel lists differ in length, a number is negative
    /// or not finite, the IP address does not parse, or a purchase has no payment method.
    pub fn to_session(&self) -> Result<Session> {
        let n = self.product_ids.len();
        let parallel = [
            ("productNames", self.product_names.len()),
            ("productPrices", self.product_prices.len()),
            ("productCategories", self.product_categories.len()),
            ("productReviews", self.product_reviews.len()),
            ("timeSpentonEachPage", self.time_spenton_each_page.len()),
        ];
        if let Some((field, len)) = parallel.into_iter().find(|(_, len)| *len != n) {
            return Err(CoreError::invalid(
                field,
                format!("has {len} entries but productIds has {n}"),
            ));
        }
        let ip = self
            .ip_address
            .parse()
            .map_err(|e| CoreError::invalid("ipAddress", format!("{:?}: {e}", self.ip_address)))?;
        let checked = |field: &'static str, v: JsonNumber| -> Result<f64> {
            if v.0.is_finite() && v.0 >= 0.0 {
                Ok(v.0)
            } else {
                Err(CoreError::invalid(
                    field,
                    format!("{} is not a finite amount >= 0", v.0),
                ))
            }
        };
        let start = self.session_timestamp.0;
        let mut events = Vec::with_capacity(n + 2);
        let mut at = start;
        // Dwells are sent by clients: adding them up may run past the last representable
        // time, which is an invalid record, not a crash.
        let mut overflowed = false;
        let mut push = |action, product, dwell: f64, clicks, events: &mut Vec<PageEvent>| {
            events.push(PageEvent {
                at,
                action,
                product,
                dwell_seconds: dwell,
                clicks,
                search_query: None,
            });
            match at.checked_add_signed(Duration::microseconds((dwell * 1e6).round() as i64)) {
                Some(next) => at = next,
                None => overflowed = true,
            }
        };
        if self.actions == Action::Search {
            push(Action::Search, None, 0.0, 0, &mut events);
        }
        let pages = n.max(1) as u32;
        for (i, (&id, &secs)) in self
            .product_ids
            .iter()
            .zip(&self.time_spenton_each_page)
            .enumerate()
        {
            let clicks = self.clicks / pages + u32::from((i as u32) < self.clicks % pages);
            let dwell = checked("timeSpentonEachPage", secs)?;
            push(
                Action::ViewItem,
                Some(ProductId(id)),
                dwell,
                clicks,
                &mut events,
            );
        }
        let last_product = self.product_ids.last().map(|&id| ProductId(id));
        match self.actions {
            Action::AddToCart => push(Action::AddToCart, last_product, 0.0, 0, &mut events),
            Action::Checkout => push(Action::Checkout, None, 0.0, 0, &mut events),
            Action::ViewItem | Action::Search => {}
        }
        if overflowed {
            return Err(CoreError::invalid(
                "timeSpentonEachPage",
                "the pages run past the last representable time",
            ));
        }
        if events.is_empty() {
            return Err(CoreError::invalid(
                "productIds",
                "a session without any page",
            ));
        }
        let order = if self.purchase_made {
            if self.payment_method_type == PaymentMethod::None {
                return Err(CoreError::invalid(
                    "paymentMethodType",
                    "purchaseMade is true but the payment method is None",
                ));
            }
            Some(Order {
                amount: checked("amountSpent", self.amount_spent)?,
                payment: self.payment_method_type,
                products: self.product_ids.iter().map(|&id| ProductId(id)).collect(),
            })
        } else {
            None
        };
        let reviews = self
            .product_ids
            .iter()
            .zip(&self.product_reviews)
            .filter_map(|(&id, text)| {
                text.as_ref().map(|t| Review {
                    product: ProductId(id),
                    text: t.clone(),
                })
            })
            .collect();
        Ok(Session {
            id: SessionId(self.session_id.clone()),
            user: UserProfile {
                id: UserId(self.user_id.clone()),
                name: self.name.clone(),
                email: self.email.clone(),
                gender: self.gender,
            },
            started_at: start,
            device: Device {
                device_type: self.device_information.device_type,
                operating_system: self.device_information.operating_system.clone(),
                browser: self.device_information.browser_type.clone(),
            },
            user_agent: self.device_information.browser_type.clone(),
            ip,
            referrer: self.referrer,
            location: Location {
                country: self.location_data.country.clone(),
                state: self.location_data.state.clone(),
                city: self.location_data.city.clone(),
                zip_code: self.location_data.zip_code.clone(),
            },
            events,
            order,
            reviews,
        })
    }
}
