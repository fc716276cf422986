//! Security rules: a composable, ordered set; the first rule that fires names the verdict.

use std::collections::HashSet;
use std::net::IpAddr;
use std::ops::Bound::Excluded;

use chrono::{DateTime, TimeDelta, Utc};

use super::GateConfig;
use super::times::Times;
use crate::enrich::Agent;
use crate::event::{Event, Money};
use crate::hash::{FastMap, slot};
use crate::snapshot::Snapshot;

/// What the gate knows about an event beyond the event itself.
///
/// Non-exhaustive, so the gate can tell rules more without breaking them: a rule reads its
/// fields; a rule's own test makes one with [`RuleContext::new`] and sets what it needs.
///
/// ```
/// use websight_core::enrich::AgentParser;
/// use websight_core::gate::{BotUserAgent, RuleContext, SecurityRule};
/// # use websight_core::decode::{decode_segment, DecodeContext};
/// # let line = br#"{"type":"page","messageId":"m1","anonymousId":"a1","timestamp":"2026-03-01T10:00:00Z"}"#;
/// # let event = decode_segment(line, &DecodeContext::default()).remove(0).unwrap();
///
/// let agent = AgentParser::new().parse(Some("Googlebot/2.1 (+http://www.google.com/bot.html)"));
/// let mut context = RuleContext::new(&agent, "p_visitor");
/// context.visit_start = true;
/// assert!(BotUserAgent.rejects(&event, &context));
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RuleContext<'a> {
    /// Neither of the event's ids is in the known-visitor filter.
    pub new_visitor: bool,
    /// The first event of its person after 30 minutes of silence (as the gate sees it).
    pub visit_start: bool,
    /// The parsed user agent.
    pub agent: &'a Agent,
    /// The person the event is keyed by (user id, else anonymous id; pseudonymised).
    pub person: &'a str,
    /// The event's sender, for per-address rates: [`Event::address_key`], else (an event
    /// that did not pass through [`crate::privacy`]) a hash of [`Event::ip`] taken the same
    /// way, an IPv6 address by its /64. `None` without an address.
    pub address: Option<u64>,
}

impl<'a> RuleContext<'a> {
    /// The context of an event of `person` with user agent `agent`: a known visitor, in
    /// the middle of a visit, without an address.
    pub fn new(agent: &'a Agent, person: &'a str) -> RuleContext<'a> {
        RuleContext {
            new_visitor: false,
            visit_start: false,
            agent,
            person,
            address: None,
        }
    }
}

/// [`RuleContext::address`], taking the event's [`Event::address_key`].
pub(crate) fn sender(event: &mut Event) -> Option<u64> {
    event.address_key.take().or_else(|| {
        event.ip.map(|ip| {
            let (bytes, n) = crate::privacy::sender_bytes(ip);
            crate::hash::hash64(&bytes[..n])
        })
    })
}

/// A security rule. Rules may keep state (rates, per-person tallies); they see every event
/// that reaches them, in arrival order, and drop state older than the gate's horizon in
/// [`SecurityRule::evict`].
pub trait SecurityRule: Send {
    /// The name verdicts carry.
    fn name(&self) -> &'static str;
    /// Whether to reject `event`.
    fn rejects(&mut self, event: &Event, context: &RuleContext<'_>) -> bool;
    /// Whether a rejection condemns the rest of the visit (the default: a bot stays a bot),
    /// or only the events rejected — for a rule that judges each event afresh from what the
    /// visit did so far, whose verdict may change as the visit goes on.
    fn condemns_visit(&self) -> bool {
        true
    }
    /// A login ([`Gate`](super::Gate)'s): the visit of the device `device` goes on under the
    /// user id `user` (both as [`RuleContext::person`] names them). A rule keeping tallies
    /// per person moves the device's to the user, so a login neither restarts them nor
    /// lifts a verdict they hold.
    fn continue_as(&mut self, _device: &str, _user: &str) {}
    /// Forgets state about events before `horizon` (called now and then, so memory stays
    /// bounded by the traffic of the last hour, not of the whole stream).
    fn evict(&mut self, _horizon: DateTime<Utc>) {}
    /// The rule's state for a checkpoint (`null` for a stateless rule).
    fn state(&self) -> crate::Result<Snapshot> {
        Snapshot::of(&())
    }
    /// Continues from a [`SecurityRule::state`].
    fn restore(&mut self, _state: &Snapshot) -> crate::Result<()> {
        Ok(())
    }
}

/// `state`, `restore` and `continue_as` of a rule whose state is one map by person.
macro_rules! per_person {
    ($field:ident) => {
        fn state(&self) -> crate::Result<Snapshot> {
            Snapshot::of(&self.$field)
        }
        fn restore(&mut self, state: &Snapshot) -> crate::Result<()> {
            self.$field = state.parse()?;
            Ok(())
        }
        fn continue_as(&mut self, device: &str, user: &str) {
            // The user has no open visit (or it would be no login): what it holds is stale.
            if let Some(tally) = self.$field.remove(device) {
                self.$field.insert(user.to_owned(), tally);
            }
        }
    };
}

/// The original system's rule, recast for real traffic: a new visitor whose user agent is
/// missing or says nothing (no browser, OS or device), on a message no SDK made (no
/// `context.library`, [`Event::library`]). Browsers always send a user agent; server-side
/// SDKs (a shop's backend sending `Order Completed`) and mobile ones send none, but every
/// SDK names itself — without that exception a shop tracking from its server lost every
/// new customer's events.
#[derive(Debug, Default)]
pub struct NoUserAgent;

impl SecurityRule for NoUserAgent {
    fn name(&self) -> &'static str {
        "no_user_agent"
    }
    fn rejects(&mut self, e: &Event, c: &RuleContext<'_>) -> bool {
        c.new_visitor && e.library.is_none() && c.agent.is_unknown()
    }
}

/// Crawlers, scripts and headless browsers, by uap-core's rules
/// ([`Agent::bot`](crate::enrich::Agent::bot)): Googlebot, bingbot, HeadlessChrome, curl, …
#[derive(Debug, Default)]
pub struct BotUserAgent;

impl SecurityRule for BotUserAgent {
    fn name(&self) -> &'static str {
        "bot_user_agent"
    }
    fn rejects(&mut self, _: &Event, c: &RuleContext<'_>) -> bool {
        c.agent.bot
    }
}

/// Figures no shopper produces: absurd quantities, prices or order values, or more events
/// per minute than a person can click.
///
/// The money limits are in dollar-like units, scaled for the event's currency by the
/// power of ten near its units per US dollar (a limit of 1,000,000 is ₩10,000,000,000 or
/// Rp 100,000,000,000; 1,000,000 euros); an amount without a currency is taken in US
/// dollars, as the spec and the analytics take it.
#[derive(Debug)]
pub struct ImpossibleFigures {
    /// Most units of one product in one event.
    pub max_quantity: u32,
    /// Highest unit price, in dollar-like units.
    pub max_price: Money,
    /// Highest order value, in dollar-like units.
    pub max_order_value: Money,
    /// Most events of one person within a minute.
    pub max_events_per_minute: usize,
    recent: FastMap<String, Times>,
}

impl Default for ImpossibleFigures {
    /// [`GateConfig`]'s quantity limit (10,000 units), 1,000,000 a unit price, 100,000,000
    /// an order, 240 events a minute.
    fn default() -> Self {
        ImpossibleFigures {
            max_quantity: GateConfig::default().max_quantity,
            max_price: Money::from_units(1_000_000 * 10_000),
            max_order_value: Money::from_units(100_000_000 * 10_000),
            max_events_per_minute: 240,
            recent: FastMap::default(),
        }
    }
}

impl SecurityRule for ImpossibleFigures {
    fn name(&self) -> &'static str {
        "impossible_figures"
    }
    per_person!(recent);
    fn rejects(&mut self, e: &Event, c: &RuleContext<'_>) -> bool {
        let p = &e.properties;
        // The currency's scale (at least 1) is looked up only for an amount over the
        // unscaled limit: most events carry none.
        let absurd = |x: Money, max: Money| {
            let scaled = || {
                max.units()
                    .saturating_mul(super::scale::scale(p.currency.as_deref()))
            };
            x.is_negative() || (x > max && x.units() > scaled())
        };
        let absurd_item = p.products.iter().any(|i| {
            i.quantity.is_some_and(|q| q > self.max_quantity)
                || i.price.is_some_and(|x| absurd(x, self.max_price))
        });
        let absurd_order = [p.revenue, p.total]
            .into_iter()
            .flatten()
            .any(|v| absurd(v, self.max_order_value));
        let times = slot(&mut self.recent, c.person);
        times.insert(e.time);
        let max = self.max_events_per_minute;
        // Any minute-long stretch around this event holding too many events (the minute's
        // bounds computed only when the person has that many events at all).
        let too_fast = times.may_exceed(max) && {
            let minute = TimeDelta::seconds(60);
            let lo = e.time.checked_sub_signed(minute).unwrap_or(e.time);
            let hi = e.time.checked_add_signed(minute).unwrap_or(e.time);
            times.exceeds_in(lo..=e.time, max) || times.exceeds_in(e.time..hi, max)
        };
        absurd_item || absurd_order || too_fast
    }
    fn evict(&mut self, horizon: DateTime<Utc>) {
        self.recent.retain(|_, times| {
            times.evict_before(horizon);
            !times.is_empty()
        });
    }
}

/// Visits whose pages came less than `max_gap_seconds` apart on average, once they reach
/// `min_pages` pages: scrapers, not readers (a single quick page is just a bounce).
///
/// The pace is the time from the visit's first page to its last over its pages. Once too
/// fast, the visit's events are rejected until one comes `reading_seconds` after its last
/// page — a page read, as no scraper does — which lifts the verdict
/// ([`SecurityRule::condemns_visit`] is false, the pace stays the whole visit's): a human
/// whose first pages came fast (a landing page that redirects, a quick click through a
/// menu) and who then reads, adds to the cart and orders loses the fast pages, not the
/// visit. A scraper's events arriving out of order hardly lift it: one would have to come
/// before every page of the ten seconds ahead of it.
///
/// A view of a page among the last counted (by path, else URL, else name) within
/// `max_gap_seconds` of it is no new page: the double page view a shop sends when its
/// snippet and its single-page router both report the landing, or a reload.
#[derive(Debug)]
pub struct SubSecondDwell {
    /// Time per page below which a visit counts as skimming.
    pub max_gap_seconds: f64,
    /// Pages needed before judging.
    pub min_pages: usize,
    /// A pause that shows a reader: it lifts the verdict.
    pub reading_seconds: f64,
    pages: FastMap<String, Pages>,
}

/// A visit's pages so far: how many, the first and the last, the pages last counted and the
/// verdict (all the rule reads, so an out-of-order event costs O(1)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Pages {
    n: usize,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    /// The last pages counted ([`page_key`]) and when they were viewed, the `n`-th at
    /// `n % RECENT` (several, as a repeat may arrive after the next page); absent from
    /// checkpoints of before (then no view is taken for a repeat).
    #[serde(default)]
    recent: [(u64, DateTime<Utc>); RECENT],
    /// Too fast, and no reading pause since.
    #[serde(default)]
    skimming: bool,
}

/// How many of a visit's last pages a repeat is looked for among.
const RECENT: usize = 4;

/// What names a view's page: its path, else its URL, else its name (a screen's).
fn page_key(e: &Event) -> u64 {
    let page = [&e.page.path, &e.page.url, &e.name]
        .into_iter()
        .find_map(|f| f.as_deref())
        .unwrap_or_default();
    crate::hash::hash64(page.as_bytes())
}

/// Milliseconds from `from` to `to`.
fn millis(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    to.signed_duration_since(from).num_milliseconds() as f64
}

impl Default for SubSecondDwell {
    fn default() -> Self {
        SubSecondDwell {
            max_gap_seconds: 1.0,
            min_pages: 3,
            reading_seconds: 10.0,
            pages: FastMap::default(),
        }
    }
}

impl SecurityRule for SubSecondDwell {
    fn name(&self) -> &'static str {
        "sub_second_dwell"
    }
    per_person!(pages);
    fn condemns_visit(&self) -> bool {
        false
    }
    fn rejects(&mut self, e: &Event, c: &RuleContext<'_>) -> bool {
        if c.visit_start {
            self.pages.remove(c.person);
        }
        let gap_ms = self.max_gap_seconds * 1000.0;
        let view = e.kind.is_view();
        let pages = match self.pages.get_mut(c.person) {
            Some(pages) => pages,
            // Before its first page a visit has no pace to judge.
            None if !view => return false,
            None => slot(&mut self.pages, c.person),
        };
        if millis(pages.last, e.time) >= self.reading_seconds * 1000.0 {
            // A reader: the verdict is lifted.
            pages.skimming = false;
        }
        if !view {
            return pages.skimming;
        }
        let page = page_key(e);
        let counted = &pages.recent[..pages.n.min(RECENT)];
        if counted
            .iter()
            .any(|(p, at)| *p == page && millis(*at, e.time).abs() < gap_ms)
        {
            return pages.skimming;
        }
        if pages.n == 0 {
            (pages.first, pages.last) = (e.time, e.time);
        }
        pages.recent[pages.n % RECENT] = (page, e.time);
        pages.n += 1;
        pages.first = pages.first.min(e.time);
        pages.last = pages.last.max(e.time);
        // The mean time per page, not every gap: pages that have not arrived yet (out of
        // order) only widen a gap, never the span.
        let span = millis(pages.first, pages.last);
        pages.skimming |= pages.n >= self.min_pages && span < gap_ms * (pages.n - 1) as f64;
        pages.skimming
    }
    fn evict(&mut self, horizon: DateTime<Utc>) {
        self.pages.retain(|_, p| p.last >= horizon);
    }
}

/// More than `max_visits` visits starting from one sender ([`RuleContext::address`]: an
/// IPv4 address, an IPv6 /64) within `window` of event time.
///
/// Judged at a visit's start, and the verdict holds for the visit (as every condemning
/// rule's does): a visit started beyond the rate is rejected whole, and the visits already
/// open from the address go on. A carrier's NAT or an office shares one address among many
/// people, so a burst of new visits from it must not cost the customer already at the
/// checkout their order.
///
/// Counted by the whole address, not the truncated one events keep: a /24 is a provider's
/// block of up to 256 subscribers, so a shop's busy hour would otherwise reject the sixth
/// visitor from it in a minute.
#[derive(Debug)]
pub struct IpRate {
    /// Sliding window.
    pub window: TimeDelta,
    /// Visits allowed per window.
    pub max_visits: usize,
    starts: FastMap<u64, Times>,
}

impl Default for IpRate {
    /// 5 visits a minute ([`GateConfig`](super::GateConfig)'s defaults).
    fn default() -> Self {
        IpRate::new(5, TimeDelta::seconds(60))
    }
}

impl IpRate {
    /// At most `max_visits` visits per sender within `window`.
    pub fn new(max_visits: usize, window: TimeDelta) -> IpRate {
        IpRate {
            window,
            max_visits,
            starts: FastMap::default(),
        }
    }
}

impl SecurityRule for IpRate {
    fn name(&self) -> &'static str {
        "ip_rate"
    }
    fn state(&self) -> crate::Result<Snapshot> {
        Snapshot::of(&self.starts)
    }
    fn restore(&mut self, state: &Snapshot) -> crate::Result<()> {
        self.starts = match state.parse() {
            Ok(starts) => starts,
            // A checkpoint from before senders were keyed holds truncated addresses, which
            // name no sender: the tallies start afresh (a window's worth of visits).
            Err(_) if state.parse::<FastMap<IpAddr, Times>>().is_ok() => FastMap::default(),
            Err(e) => return Err(e),
        };
        Ok(())
    }
    fn rejects(&mut self, e: &Event, c: &RuleContext<'_>) -> bool {
        let (Some(sender), true) = (c.address, c.visit_start) else {
            return false;
        };
        let starts = self.starts.entry(sender).or_default();
        starts.insert(e.time);
        // Visits started within one window of this event, on either side (arrivals are out
        // of order); the window's bounds computed only when the address has that many.
        starts.may_exceed(self.max_visits) && {
            let lo = e.time.checked_sub_signed(self.window).unwrap_or(e.time);
            let hi = e.time.checked_add_signed(self.window).unwrap_or(e.time);
            starts.exceeds_in((Excluded(lo), Excluded(hi)), self.max_visits)
        }
    }
    fn evict(&mut self, horizon: DateTime<Utc>) {
        self.starts.retain(|_, s| {
            s.evict_before(horizon);
            !s.is_empty()
        });
    }
}

/// Blocked IP addresses (compared after truncation, so a /24 or /48 is blocked whole).
#[derive(Debug, Default)]
pub struct Blocklist {
    /// Blocked addresses.
    pub ips: HashSet<IpAddr>,
}

impl SecurityRule for Blocklist {
    fn name(&self) -> &'static str {
        "blocklist"
    }
    fn rejects(&mut self, e: &Event, _: &RuleContext<'_>) -> bool {
        !self.ips.is_empty()
            && e.ip
                .is_some_and(|ip| self.ips.contains(&crate::privacy::truncate_ip(ip)))
    }
}

/// The standard rule set, in order: blocklist ([`GateConfig::blocked_ips`]), bot user
/// agents, impossible figures, no user agent for a new visitor (on a message no SDK made),
/// IP rate ([`GateConfig::ip_rate_max_visits`] per [`GateConfig::ip_rate_window_seconds`]),
/// sub-second dwell.
pub fn standard_rules(config: &GateConfig) -> Vec<Box<dyn SecurityRule>> {
    let blocklist = Blocklist {
        ips: config
            .blocked_ips
            .iter()
            .map(|ip| crate::privacy::truncate_ip(*ip))
            .collect(),
    };
    // Clamped as `GateConfig::validate` requires (which `Gate::with_rules` checks after):
    // an unchecked setting must not panic here.
    let window = TimeDelta::seconds(config.ip_rate_window_seconds.clamp(1, 86_400));
    vec![
        Box::new(blocklist),
        Box::new(BotUserAgent),
        Box::new(ImpossibleFigures {
            max_quantity: config.max_quantity,
            ..ImpossibleFigures::default()
        }),
        Box::new(NoUserAgent),
        Box::new(IpRate::new(config.ip_rate_max_visits, window)),
        Box::new(SubSecondDwell::default()),
    ]
}
