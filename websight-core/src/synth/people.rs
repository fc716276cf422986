//! Persistent user traits, derived from (seed, user index) so no user table is stored.

use std::net::{IpAddr, Ipv4Addr};

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::rng::{derived_rng, uuid4};
use crate::model::{Device, DeviceType, Gender, Location, Referrer, UserId, UserProfile};

const FIRST_NAMES: &[(&str, Gender)] = &[
    ("James", Gender::Male),
    ("Mary", Gender::Female),
    ("Robert", Gender::Male),
    ("Patricia", Gender::Female),
    ("John", Gender::Male),
    ("Jennifer", Gender::Female),
    ("Michael", Gender::Male),
    ("Linda", Gender::Female),
    ("David", Gender::Male),
    ("Elizabeth", Gender::Female),
    ("William", Gender::Male),
    ("Barbara", Gender::Female),
    ("Richard", Gender::Male),
    ("Susan", Gender::Female),
    ("Joseph", Gender::Male),
    ("Jessica", Gender::Female),
    ("Thomas", Gender::Male),
    ("Sarah", Gender::Female),
    ("Carlos", Gender::Male),
    ("Karen", Gender::Female),
    ("Daniel", Gender::Male),
    ("Lisa", Gender::Female),
    ("Matthew", Gender::Male),
    ("Nancy", Gender::Female),
    ("Anthony", Gender::Male),
    ("Sofia", Gender::Female),
    ("Wei", Gender::Male),
    ("Aisha", Gender::Female),
    ("Andrew", Gender::Male),
    ("Emily", Gender::Female),
    ("Kenji", Gender::Male),
    ("Priya", Gender::Female),
    ("Alex", Gender::Other),
    ("Jordan", Gender::Other),
    ("Taylor", Gender::Other),
    ("Sam", Gender::Other),
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Nguyen",
    "Patel",
    "Kim",
    "Chen",
    "Okafor",
];

const EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "protonmail.com",
    "example.org",
];

/// (state, cities, first three zip digits).
const PLACES: &[(&str, &[&str], u32)] = &[
    (
        "California",
        &["Los Angeles", "San Diego", "San Jose", "Fresno"],
        900,
    ),
    ("Texas", &["Houston", "Austin", "Dallas", "El Paso"], 750),
    ("Florida", &["Miami", "Orlando", "Tampa"], 330),
    ("New York", &["New York", "Buffalo", "Rochester"], 100),
    ("Illinois", &["Chicago", "Springfield", "Peoria"], 606),
    ("Pennsylvania", &["Philadelphia", "Pittsburgh"], 191),
    ("Ohio", &["Columbus", "Cleveland", "Dayton"], 432),
    ("Georgia", &["Atlanta", "Savannah"], 303),
    ("North Carolina", &["Charlotte", "Raleigh"], 282),
    ("Michigan", &["Detroit", "Grand Rapids"], 482),
    ("Washington", &["Seattle", "Spokane"], 981),
    ("Arizona", &["Phoenix", "Tucson"], 850),
    ("Massachusetts", &["Boston", "Worcester"], 21),
    ("Colorado", &["Denver", "Boulder"], 802),
    ("Oregon", &["Portland", "Eugene"], 972),
    ("Minnesota", &["Minneapolis", "Duluth"], 554),
];

/// (operating system, browser, user agent).
type Agent = (&'static str, &'static str, &'static str);

const DESKTOP_AGENTS: &[Agent] = &[
    (
        "Windows 10",
        "Chrome 124",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    ),
    (
        "Windows 11",
        "Edge 124",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    ),
    (
        "Windows 10",
        "Firefox 125",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    ),
    (
        "macOS 14",
        "Safari 17",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    ),
    (
        "macOS 14",
        "Chrome 124",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    ),
    (
        "Linux",
        "Firefox 125",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    ),
];

const MOBILE_AGENTS: &[Agent] = &[
    (
        "iOS 17",
        "Safari 17",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    ),
    (
        "Android 14",
        "Chrome 124",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    ),
    (
        "Android 13",
        "Samsung Internet 24",
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
    ),
    (
        "iOS 16",
        "Chrome 124",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
    ),
];

const TABLET_AGENTS: &[Agent] = &[
    (
        "iPadOS 17",
        "Safari 17",
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    ),
    (
        "Android 13",
        "Chrome 124",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Safari/537.36",
    ),
];

/// User agents of crawlers, scripts and headless browsers: what the bot rule looks for.
pub(crate) const BOT_AGENTS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Scrapy/2.11.1 (+https://scrapy.org)",
    "Go-http-client/1.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36",
    "Wget/1.21.4",
];

/// The traits a user keeps across sessions.
#[derive(Debug, Clone)]
pub(crate) struct UserTraits {
    pub profile: UserProfile,
    pub home: Location,
    pub home_ip: IpAddr,
    pub device_type: DeviceType,
    pub agent: Agent,
    pub preferred_referrer: Referrer,
    /// Persistent taste for buying, on the log-odds scale.
    pub propensity: f64,
    /// Index of the co-viewed set the user is shopping for.
    pub favourite_set: usize,
}

impl UserTraits {
    /// The traits of regular user `index` under `seed`: the same every time they are asked.
    pub fn of_user(seed: u64, index: u32, co_viewed_sets: usize) -> UserTraits {
        let mut rng = derived_rng(seed, 0x5553_4552, u64::from(index));
        let id = UserId(uuid4(&mut rng));
        UserTraits::draw(&mut rng, id, co_viewed_sets)
    }

    /// A one-off user with a fresh id (crawlers, abusers), drawn from `rng`.
    pub fn fresh(rng: &mut ChaCha8Rng, co_viewed_sets: usize) -> UserTraits {
        let id = UserId(uuid4(rng));
        UserTraits::draw(rng, id, co_viewed_sets)
    }

    fn draw(rng: &mut ChaCha8Rng, id: UserId, co_viewed_sets: usize) -> UserTraits {
        let &(first, gender) = FIRST_NAMES.choose(rng).expect("non-empty");
        let last = *LAST_NAMES.choose(rng).expect("non-empty");
        let email = format!(
            "{}.{}{}@{}",
            first.to_lowercase(),
            last.to_lowercase(),
            rng.gen_range(1..1000),
            EMAIL_DOMAINS.choose(rng).expect("non-empty")
        );
        let device_type = match rng.gen_range(0..100) {
            0..=49 => DeviceType::Mobile,
            50..=89 => DeviceType::Desktop,
            _ => DeviceType::Tablet,
        };
        let agent = human_agent(rng, device_type);
        let preferred_referrer = match rng.gen_range(0..100) {
            0..=34 => Referrer::Google,
            35..=54 => Referrer::Direct,
            55..=69 => Referrer::Facebook,
            70..=84 => Referrer::Instagram,
            _ => Referrer::WorldMarket,
        };
        let normal: f64 = StandardNormal.sample(rng);
        UserTraits {
            profile: UserProfile {
                id,
                name: format!("{first} {last}"),
                email,
                gender,
            },
            home: random_location(rng),
            home_ip: random_public_ip(rng),
            device_type,
            agent,
            preferred_referrer,
            propensity: 0.8 * normal,
            favourite_set: rng.gen_range(0..co_viewed_sets.max(1)),
        }
    }
}

/// A plausible browser for a device type; `Unknown` devices get a desktop browser.
pub(crate) fn human_agent(rng: &mut ChaCha8Rng, device_type: DeviceType) -> Agent {
    let pool = match device_type {
        DeviceType::Mobile => MOBILE_AGENTS,
        DeviceType::Tablet => TABLET_AGENTS,
        DeviceType::Desktop | DeviceType::Unknown => DESKTOP_AGENTS,
    };
    *pool.choose(rng).expect("non-empty")
}

/// The [`Device`] a session reports for an agent.
pub(crate) fn device_of(device_type: DeviceType, agent: Agent) -> Device {
    match device_type {
        DeviceType::Unknown => Device {
            device_type,
            operating_system: "unknown".to_owned(),
            browser: "unknown".to_owned(),
        },
        _ => Device {
            device_type,
            operating_system: agent.0.to_owned(),
            browser: agent.1.to_owned(),
        },
    }
}

pub(crate) fn random_location(rng: &mut ChaCha8Rng) -> Location {
    let &(state, cities, zip_prefix) = PLACES.choose(rng).expect("non-empty");
    Location {
        country: "United States".to_owned(),
        state: state.to_owned(),
        city: (*cities.choose(rng).expect("non-empty")).to_owned(),
        zip_code: format!("{zip_prefix:03}{:02}", rng.gen_range(0..100)),
    }
}

/// A unicast address outside private, loopback and reserved ranges.
pub(crate) fn random_public_ip(rng: &mut ChaCha8Rng) -> IpAddr {
    loop {
        let [a, b, c, d]: [u8; 4] = rng.r#gen();
        let private = a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168);
        if (1..224).contains(&a) && a != 127 && a != 0 && !private && a != 100 && a != 169 {
            return IpAddr::V4(Ipv4Addr::new(a, b, c, d.max(1)));
        }
    }
}
