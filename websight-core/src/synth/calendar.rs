//! When sessions start: time-of-day and weekday patterns, drawn in time order.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Relative traffic per hour of day (UTC is the shop's local time): quiet at night, a
/// lunchtime bump and an evening peak.
const HOUR_WEIGHTS: [f64; 24] = [
    0.35, 0.22, 0.15, 0.10, 0.09, 0.12, 0.25, 0.45, 0.65, 0.80, 0.90, 0.95, 1.05, 1.00, 0.92, 0.90,
    0.95, 1.05, 1.20, 1.40, 1.50, 1.35, 1.00, 0.60,
];

/// Relative traffic per weekday, Monday first: furniture is browsed on Sundays and Mondays.
const WEEKDAY_WEIGHTS: [f64; 7] = [1.10, 0.95, 0.92, 0.95, 0.90, 1.00, 1.25];

/// Cumulative traffic over the hours of the simulated period.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    start: DateTime<Utc>,
    /// cumulative[i] = share of all traffic before the end of hour i; the last is 1.
    cumulative: Vec<f64>,
}

impl Calendar {
    pub fn new(start: DateTime<Utc>, days: u32) -> Calendar {
        let hours = days as usize * 24;
        let mut cumulative = Vec::with_capacity(hours);
        let mut total = 0.0;
        for h in 0..hours {
            let t = start + Duration::hours(h as i64);
            total += HOUR_WEIGHTS[t.hour() as usize]
                * WEEKDAY_WEIGHTS[t.weekday().num_days_from_monday() as usize];
            cumulative.push(total);
        }
        cumulative.iter_mut().for_each(|c| *c /= total);
        Calendar { start, cumulative }
    }

    /// The instant at quantile `u` of the traffic distribution; `hint` is an hour index at
    /// or before the answer (quantiles are asked in increasing order, so the walk is short).
    pub fn instant(&self, u: f64, hint: &mut usize) -> DateTime<Utc> {
        let last = self.cumulative.len() - 1;
        while *hint < last && self.cumulative[*hint] < u {
            *hint += 1;
        }
        let before = if *hint == 0 {
            0.0
        } else {
            self.cumulative[*hint - 1]
        };
        let width = self.cumulative[*hint] - before;
        let frac = if width > 0.0 {
            ((u - before) / width).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let micros = ((*hint as f64 + frac) * 3_600e6) as i64;
        self.start + Duration::microseconds(micros)
    }
}

/// Sorted uniforms on (0, 1), drawn one at a time in increasing order without storing them:
/// the next of `remaining` sorted uniforms above `x` is `1 − (1 − x)·U^(1/remaining)`.
#[derive(Debug, Clone)]
pub(crate) struct SortedUniforms {
    x: f64,
    remaining: u64,
}

impl SortedUniforms {
    pub fn new(count: u64) -> Self {
        SortedUniforms {
            x: 0.0,
            remaining: count,
        }
    }

    pub fn next(&mut self, rng: &mut ChaCha8Rng) -> Option<f64> {
        if self.remaining == 0 {
            return None;
        }
        let u: f64 = rng.r#gen();
        self.x = 1.0 - (1.0 - self.x) * u.powf(1.0 / self.remaining as f64);
        self.remaining -= 1;
        Some(self.x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;

    #[test]
    fn instants_are_increasing_and_inside_the_period() {
        let start = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
        let cal = Calendar::new(start, 7);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut uniforms = SortedUniforms::new(10_000);
        let mut hint = 0;
        let mut prev = start;
        let mut evening = 0;
        let mut night = 0;
        while let Some(u) = uniforms.next(&mut rng) {
            let t = cal.instant(u, &mut hint);
            assert!(t >= prev && t < start + Duration::days(7));
            prev = t;
            match t.hour() {
                19 => evening += 1,
                4 => night += 1,
                _ => {}
            }
        }
        // The evening peak carries ~15× the traffic of 4 am.
        assert!(evening > 8 * night, "evening {evening}, night {night}");
    }
}
