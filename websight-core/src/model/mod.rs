//! The typed domain model: users, devices, locations, catalogue, sessions and their events.
//!
//! These types are what the rest of websight computes on. Their serde form (snake_case) is
//! websight's own; the original system's camelCase session record lives in
//! [`crate::record::SessionRecord`].

mod catalogue;
mod session;
mod values;

pub use catalogue::{Catalogue, Category, Product, ProductId};
pub(crate) use session::seconds_between;
pub use session::{
    Device, Location, Order, PageEvent, Review, Session, SessionId, UserId, UserProfile,
};
pub use values::{
    Action, DeviceType, Gender, PartOfDay, PaymentMethod, Referrer, Sentiment, WEEKDAY_NAMES,
};
