//! SplitMix64 (Steele, Lea & Flood, 2014): small and good enough for synthetic data. The demo
//! must give the same territory on every machine and every run, so no external generator.

pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: i32, high: i32) -> i32 {
        debug_assert!(low <= high);
        let span = u64::try_from(i64::from(high) - i64::from(low) + 1).unwrap_or(1);
        // Multiply-shift instead of modulo: no bias worth mentioning and no division.
        let offset = ((self.next_u64() >> 32) * span) >> 32;
        low + i32::try_from(offset).unwrap_or(0)
    }

    /// One of `choices`, with probability proportional to its weight.
    pub fn weighted<T: Copy>(&mut self, choices: &[(T, u32)]) -> T {
        let total: u32 = choices.iter().map(|(_, w)| w).sum();
        let mut draw = self.between(0, i32::try_from(total).unwrap_or(i32::MAX) - 1);
        for (choice, weight) in choices {
            let weight = i32::try_from(*weight).unwrap_or(i32::MAX);
            if draw < weight {
                return *choice;
            }
            draw -= weight;
        }
        choices[choices.len() - 1].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_outputs() {
        // Published first outputs of splitmix64.c for seed 1234567.
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(rng.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn draws_stay_in_their_ranges() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..10_000 {
            assert!((3..=5).contains(&rng.between(3, 5)));
            assert!((0.0..1.0).contains(&rng.unit()));
            assert_ne!(rng.weighted(&[('a', 1), ('b', 0), ('c', 2)]), 'b');
        }
    }
}
