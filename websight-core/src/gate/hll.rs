//! HyperLogLog distinct counting with Ertl's improved estimator (2017), which is unbiased
//! over the whole range without empirical bias tables.

use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

use crate::hash::hash64;

/// A HyperLogLog sketch with 2ᵖ registers (standard error ≈ 1.04/√2ᵖ: 0.81% at p = 14).
/// Mergeable: the sketch of a union is the register-wise maximum.
///
/// ```
/// use websight_core::gate::HyperLogLog;
///
/// let mut a = HyperLogLog::new(14)?;
/// let mut b = HyperLogLog::new(14)?;
/// for i in 0..60_000 { a.insert(format!("user-{i}").as_bytes()); }
/// for i in 40_000..100_000 { b.insert(format!("user-{i}").as_bytes()); }
/// a.merge(&b)?;
/// assert!((a.estimate() / 100_000.0 - 1.0).abs() < 0.03);
/// # Ok::<(), websight_core::CoreError>(())
/// ```
///
/// A deserialised sketch is checked like a built one: 4 ≤ p ≤ 18, exactly 2ᵖ registers,
/// each at most 65 − p (a rank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HllParts")]
pub struct HyperLogLog {
    p: u8,
    registers: Vec<u8>,
}

/// The serialised form, checked on the way in.
#[derive(Deserialize)]
struct HllParts {
    p: u8,
    registers: Vec<u8>,
}

impl TryFrom<HllParts> for HyperLogLog {
    type Error = CoreError;

    fn try_from(parts: HllParts) -> Result<Self> {
        let mut sketch = HyperLogLog::new(parts.p)?;
        let max_rank = 65 - parts.p;
        if parts.registers.len() != sketch.registers.len()
            || parts.registers.iter().any(|&r| r > max_rank)
        {
            return Err(CoreError::parameter(
                "registers",
                format!(
                    "{} registers for p = {}, ranks at most {max_rank}",
                    parts.registers.len(),
                    parts.p
                ),
            ));
        }
        sketch.registers = parts.registers;
        Ok(sketch)
    }
}

impl HyperLogLog {
    /// A sketch with 2ᵖ registers, 4 ≤ p ≤ 18.
    pub fn new(p: u8) -> Result<Self> {
        if !(4..=18).contains(&p) {
            return Err(CoreError::parameter("p", format!("{p} is not in 4..=18")));
        }
        Ok(HyperLogLog {
            p,
            registers: vec![0; 1 << p],
        })
    }

    /// The precision p.
    pub fn precision(&self) -> u8 {
        self.p
    }

    /// Adds an item.
    pub fn insert(&mut self, item: &[u8]) {
        self.insert_hash(hash64(item));
    }

    /// Adds an item by its 64-bit hash.
    pub fn insert_hash(&mut self, hash: u64) {
        let index = (hash >> (64 - self.p)) as usize;
        let rest = hash << self.p;
        // Rank of the first 1 bit among the remaining 64 − p bits (q + 1 when all are 0).
        let q = 64 - u32::from(self.p);
        let rank = (rest.leading_zeros().min(q) + 1) as u8;
        let r = &mut self.registers[index];
        *r = (*r).max(rank);
    }

    /// Makes this the sketch of the union of both inputs.
    pub fn merge(&mut self, other: &HyperLogLog) -> Result<()> {
        if self.p != other.p {
            return Err(CoreError::parameter(
                "p",
                "cannot merge sketches of different precision",
            ));
        }
        for (a, &b) in self.registers.iter_mut().zip(&other.registers) {
            *a = (*a).max(b);
        }
        Ok(())
    }

    /// The estimated number of distinct items (Ertl 2017, Algorithm 6).
    pub fn estimate(&self) -> f64 {
        let m = self.registers.len() as f64;
        let q = 64 - usize::from(self.p);
        let mut counts = vec![0u32; q + 2];
        for &r in &self.registers {
            counts[usize::from(r)] += 1;
        }
        let mut z = m * tau(1.0 - f64::from(counts[q + 1]) / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + f64::from(counts[k]));
        }
        z += m * sigma(f64::from(counts[0]) / m);
        m * m / (2.0 * std::f64::consts::LN_2 * z)
    }
}

/// σ(x) = x + Σ_{k≥1} x^{2ᵏ} 2^{k−1}.
fn sigma(x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut x, mut y, mut z) = (x, 1.0, x);
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if z == previous {
            return z;
        }
    }
}

/// τ(x) = (1 − x − Σ_{k≥1} (1 − x^{2⁻ᵏ})² 2⁻ᵏ) / 3.
fn tau(x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut x, mut y, mut z) = (x, 1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == previous {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_within_three_standard_errors_across_the_range() {
        for n in [10usize, 1_000, 20_000, 50_000, 300_000] {
            let mut h = HyperLogLog::new(14).unwrap();
            for i in 0..n {
                h.insert(format!("u{i}").as_bytes());
                h.insert(format!("u{i}").as_bytes()); // repeats change nothing
            }
            let rel = (h.estimate() - n as f64).abs() / n as f64;
            let tolerance = if n < 100 { 0.1 } else { 3.0 * 0.0081 };
            assert!(rel < tolerance, "n = {n}: relative error {rel}");
        }
        assert_eq!(HyperLogLog::new(14).unwrap().estimate(), 0.0);
        assert!(HyperLogLog::new(3).is_err());
        // Deserialised sketches are checked like built ones.
        let mut h = HyperLogLog::new(4).unwrap();
        h.insert(b"x");
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<HyperLogLog>(&json).unwrap(), h);
        for bad in [
            r#"{"p":4,"registers":[0,0]}"#,
            r#"{"p":40,"registers":[]}"#,
            r#"{"p":4,"registers":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,99]}"#,
        ] {
            assert!(serde_json::from_str::<HyperLogLog>(bad).is_err(), "{bad}");
        }
        assert!(
            HyperLogLog::new(14)
                .unwrap()
                .merge(&HyperLogLog::new(12).unwrap())
                .is_err()
        );
    }
}
