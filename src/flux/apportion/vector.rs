//! Sainte-Laguë (Webster) apportionment of a total among weights, in exact arithmetic.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::exact::{Parts, cmp_products};
use super::{ApportionError, VectorApportionment};

/// Sainte-Laguë apportionment: `seats[i]` is the standard rounding of `weights[i] / divisor` and
/// the seats add up to `total`. Equivalently, seats are handed one at a time to the highest
/// `weight / (seats + ½)`; at equal quotients the earlier index first ([`super::TIE_RULE`]), which
/// keeps the method house-monotone: `total + 1` never lowers a count. Zero weights get zero.
///
/// # Errors
/// A negative weight, or a positive total with every weight zero.
pub fn sainte_lague(
    total: u64,
    weights: &[Decimal],
) -> Result<VectorApportionment, ApportionError> {
    if let Some((index, weight)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| **w < Decimal::ZERO)
    {
        return Err(ApportionError::NegativeWeight {
            index,
            weight: *weight,
        });
    }
    let parts: Vec<Parts> = weights.iter().map(|w| Parts::of(*w)).collect();
    if parts.iter().all(|p| p.mantissa == 0) {
        if total > 0 {
            return Err(ApportionError::AllWeightsZero { total });
        }
        return Ok(VectorApportionment {
            seats: vec![0; weights.len()],
            divisor: Decimal::ONE,
            ties: Vec::new(),
        });
    }
    let mut seats = estimate(total, weights);
    balance(&parts, &mut seats, total);
    let ties = resolve_ties(&parts, &mut seats);
    let divisor = divisor(&parts, &seats, !ties.is_empty());
    Ok(VectorApportionment {
        seats,
        divisor,
        ties,
    })
}

/// `weight / (odd / 2)`, the quotient at which a count changes: `odd = 2s + 1` for the next seat,
/// `2s − 1` for the last one.
#[derive(Debug, Clone, Copy)]
struct Quotient {
    weight: Parts,
    odd: u128,
}

impl Quotient {
    fn next(weight: Parts, seats: u64) -> Self {
        Self {
            weight,
            odd: 2 * u128::from(seats) + 1,
        }
    }

    fn last(weight: Parts, seats: u64) -> Self {
        Self {
            weight,
            odd: 2 * u128::from(seats) - 1,
        }
    }

    /// The quotient `2 · weight / odd` as a decimal, rounded to 28 digits.
    fn approx(&self) -> Decimal {
        let weight = Decimal::from_i128_with_scale(self.weight.mantissa as i128, self.weight.scale);
        let half_odd = Decimal::from_i128_with_scale(self.odd as i128, 0) / Decimal::TWO;
        weight.checked_div(half_odd).unwrap_or(Decimal::MAX)
    }

    /// The quotient against a divisor, exactly: `2 · weight` against `divisor · odd`.
    fn cmp_divisor(&self, divisor: Decimal) -> Ordering {
        let d = Parts::of(divisor);
        cmp_products(
            &[2, self.weight.mantissa],
            d.scale,
            &[d.mantissa, self.odd],
            self.weight.scale,
        )
    }
}

impl PartialEq for Quotient {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Quotient {}

impl PartialOrd for Quotient {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quotient {
    fn cmp(&self, other: &Self) -> Ordering {
        // w_a / o_a against w_b / o_b, i.e. m_a · o_b · 10^s_b against m_b · o_a · 10^s_a.
        cmp_products(
            &[self.weight.mantissa, other.odd],
            other.weight.scale,
            &[other.weight.mantissa, self.odd],
            self.weight.scale,
        )
    }
}

/// A start close to the answer; [`balance`] makes it exact.
fn estimate(total: u64, weights: &[Decimal]) -> Vec<u64> {
    let floats: Vec<f64> = weights.iter().map(|w| w.to_f64().unwrap_or(0.0)).collect();
    let sum: f64 = floats.iter().sum();
    let ratio = if sum > 0.0 { total as f64 / sum } else { 0.0 };
    floats
        .iter()
        .map(|w| {
            let q = (w * ratio).round();
            if q.is_finite() && q > 0.0 {
                (q as u64).min(total)
            } else {
                0
            }
        })
        .collect()
}

/// Heap entry: the quotient, then the index order of the tie rule, then the seat count the entry
/// was computed for (stale once the count changes).
type Gain = (Quotient, Reverse<usize>, u64);
type Loss = (Reverse<Quotient>, usize, u64);

/// Makes `seats` a valid Sainte-Laguë apportionment of `total`: first the right sum (adding at
/// the highest next quotient, removing at the lowest last quotient), then exchanges while some
/// next quotient exceeds some last quotient.
fn balance(parts: &[Parts], seats: &mut [u64], total: u64) {
    let mut gains: BinaryHeap<Gain> = BinaryHeap::new();
    let mut losses: BinaryHeap<Loss> = BinaryHeap::new();
    for (i, p) in parts.iter().enumerate() {
        if p.mantissa == 0 {
            seats[i] = 0;
        }
        push(parts, seats, i, &mut gains, &mut losses);
    }
    let mut sum: u128 = seats.iter().map(|s| u128::from(*s)).sum();
    while sum < u128::from(total) {
        let Some(i) = top_gain(&mut gains, seats) else {
            return;
        };
        seats[i] += 1;
        sum += 1;
        push(parts, seats, i, &mut gains, &mut losses);
    }
    while sum > u128::from(total) {
        let Some(j) = top_loss(&mut losses, seats) else {
            return;
        };
        seats[j] -= 1;
        sum -= 1;
        push(parts, seats, j, &mut gains, &mut losses);
    }
    loop {
        let (Some(i), Some(j)) = (top_gain(&mut gains, seats), top_loss(&mut losses, seats)) else {
            return;
        };
        if Quotient::next(parts[i], seats[i]) <= Quotient::last(parts[j], seats[j]) {
            return;
        }
        seats[i] += 1;
        seats[j] -= 1;
        push(parts, seats, i, &mut gains, &mut losses);
        push(parts, seats, j, &mut gains, &mut losses);
    }
}

fn push(
    parts: &[Parts],
    seats: &[u64],
    i: usize,
    gains: &mut BinaryHeap<Gain>,
    losses: &mut BinaryHeap<Loss>,
) {
    if parts[i].mantissa == 0 {
        return;
    }
    gains.push((Quotient::next(parts[i], seats[i]), Reverse(i), seats[i]));
    if seats[i] > 0 {
        losses.push((Reverse(Quotient::last(parts[i], seats[i])), i, seats[i]));
    }
}

/// The index with the highest next quotient (earliest index at equal quotients), stale entries
/// dropped.
fn top_gain(gains: &mut BinaryHeap<Gain>, seats: &[u64]) -> Option<usize> {
    while let Some((_, Reverse(i), s)) = gains.peek() {
        if seats[*i] == *s {
            return Some(*i);
        }
        gains.pop();
    }
    None
}

/// The index with the lowest last quotient (latest index at equal quotients).
fn top_loss(losses: &mut BinaryHeap<Loss>, seats: &[u64]) -> Option<usize> {
    while let Some((_, j, s)) = losses.peek() {
        if seats[*j] == *s && *s > 0 {
            return Some(*j);
        }
        losses.pop();
    }
    None
}

/// When the highest next quotient equals the lowest last quotient, every index at that quotient
/// could hold the marginal seats: they go to the earliest indices. Returns those indices.
fn resolve_ties(parts: &[Parts], seats: &mut [u64]) -> Vec<usize> {
    let (Some(gain), Some(loss)) = (max_next(parts, seats), min_last(parts, seats)) else {
        return Vec::new();
    };
    if gain != loss {
        return Vec::new();
    }
    let mut candidates = Vec::new();
    let mut marginal = 0;
    for (i, p) in parts.iter().enumerate() {
        if p.mantissa == 0 {
            continue;
        }
        if seats[i] > 0 && Quotient::last(*p, seats[i]) == loss {
            seats[i] -= 1;
            marginal += 1;
            candidates.push(i);
        } else if Quotient::next(*p, seats[i]) == gain {
            candidates.push(i);
        }
    }
    for i in candidates.iter().take(marginal) {
        seats[*i] += 1;
    }
    candidates
}

fn max_next(parts: &[Parts], seats: &[u64]) -> Option<Quotient> {
    parts
        .iter()
        .zip(seats)
        .filter(|(p, _)| p.mantissa > 0)
        .map(|(p, s)| Quotient::next(*p, *s))
        .max()
}

fn min_last(parts: &[Parts], seats: &[u64]) -> Option<Quotient> {
    parts
        .iter()
        .zip(seats)
        .filter(|(p, s)| p.mantissa > 0 && **s > 0)
        .map(|(p, s)| Quotient::last(*p, *s))
        .min()
}

/// The divisor: at a tie the common quotient (to 28 digits); otherwise the decimal with the fewest
/// significant digits strictly between the highest next and the lowest last quotient.
fn divisor(parts: &[Parts], seats: &[u64], tied: bool) -> Decimal {
    let Some(low) = max_next(parts, seats) else {
        return Decimal::ONE;
    };
    let high = min_last(parts, seats);
    let low_value = low.approx();
    if tied {
        return low_value;
    }
    let target = match &high {
        Some(h) => low_value / Decimal::TWO + h.approx() / Decimal::TWO,
        None => low_value.checked_mul(Decimal::TWO).unwrap_or(Decimal::MAX),
    };
    for digits in 1..=28 {
        let Some(candidate) =
            target.round_sf_with_strategy(digits, RoundingStrategy::MidpointNearestEven)
        else {
            continue;
        };
        let above = low.cmp_divisor(candidate) == Ordering::Less;
        let below = high
            .as_ref()
            .is_none_or(|h| h.cmp_divisor(candidate) == Ordering::Greater);
        if above && below {
            return candidate.normalize();
        }
    }
    target
}
