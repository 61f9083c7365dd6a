//! Exact comparison of products of nonnegative integers and powers of ten: the arithmetic behind
//! every certificate check. `u128` when the products fit, a small big integer otherwise.

use std::cmp::Ordering;

use rust_decimal::Decimal;

/// A nonnegative decimal as `mantissa × 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Parts {
    pub mantissa: u128,
    pub scale: u32,
}

impl Parts {
    /// The parts of a nonnegative decimal (the sign is ignored: callers reject negatives first).
    pub fn of(value: Decimal) -> Self {
        Self {
            mantissa: value.mantissa().unsigned_abs(),
            scale: value.scale(),
        }
    }
}

/// Compares `Π a × 10^pa` with `Π b × 10^pb`.
pub(super) fn cmp_products(a: &[u128], pa: u32, b: &[u128], pb: u32) -> Ordering {
    let common = pa.min(pb);
    let (pa, pb) = (pa - common, pb - common);
    if let (Some(x), Some(y)) = (small_product(a, pa), small_product(b, pb)) {
        return x.cmp(&y);
    }
    Big::product(a, pa).cmp(&Big::product(b, pb))
}

fn small_product(factors: &[u128], pow10: u32) -> Option<u128> {
    let mut p = 10u128.checked_pow(pow10)?;
    for f in factors {
        p = p.checked_mul(*f)?;
    }
    Some(p)
}

/// Little-endian 64-bit limbs, without high zero limbs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u64>);

impl Big {
    fn product(factors: &[u128], pow10: u32) -> Self {
        let mut n = Big(vec![1]);
        for f in factors {
            n.mul_u128(*f);
        }
        const TEN_19: u64 = 10_000_000_000_000_000_000;
        for _ in 0..pow10 / 19 {
            n.mul_u64(TEN_19);
        }
        n.mul_u64(10u64.pow(pow10 % 19));
        n.trim();
        n
    }

    fn mul_u64(&mut self, m: u64) {
        let mut carry = 0u128;
        for limb in &mut self.0 {
            let v = u128::from(*limb) * u128::from(m) + carry;
            *limb = v as u64;
            carry = v >> 64;
        }
        if carry > 0 {
            self.0.push(carry as u64);
        }
    }

    fn mul_u128(&mut self, m: u128) {
        let mut high = self.clone();
        high.mul_u64((m >> 64) as u64);
        self.mul_u64(m as u64);
        // self + high × 2^64
        let mut carry = 0u128;
        for (i, limb) in high.0.iter().enumerate() {
            let k = i + 1;
            if k == self.0.len() {
                self.0.push(0);
            }
            let v = u128::from(self.0[k]) + u128::from(*limb) + carry;
            self.0[k] = v as u64;
            carry = v >> 64;
        }
        let mut k = high.0.len() + 1;
        while carry > 0 {
            if k == self.0.len() {
                self.0.push(0);
            }
            let v = u128::from(self.0[k]) + carry;
            self.0[k] = v as u64;
            carry = v >> 64;
            k += 1;
        }
    }

    fn trim(&mut self) {
        while self.0.len() > 1 && self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = |n: &Big| n.0.iter().all(|l| *l == 0);
        match (zero(self), zero(other)) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_products_compare_exactly() {
        // (2^100 + 1) × 10^30 against 2^100 × 10^30 + 1: both overflow u128.
        let a = (1u128 << 100) + 1;
        assert_eq!(
            cmp_products(&[a], 30, &[1u128 << 100], 30),
            Ordering::Greater
        );
        assert_eq!(cmp_products(&[a, 3], 40, &[3, a], 40), Ordering::Equal);
        assert_eq!(
            cmp_products(&[u128::MAX, u128::MAX], 0, &[u128::MAX, u128::MAX - 1], 0),
            Ordering::Greater
        );
        assert_eq!(cmp_products(&[7], 50, &[70], 49), Ordering::Equal);
        assert_eq!(cmp_products(&[0, u128::MAX], 60, &[1], 0), Ordering::Less);
        // 10^19 × 10^19 = 10^38 against 10^38: mixed paths agree.
        assert_eq!(
            cmp_products(&[10u128.pow(19), 10u128.pow(19)], 1, &[1], 39),
            Ordering::Equal
        );
    }
}
