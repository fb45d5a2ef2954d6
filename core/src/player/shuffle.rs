//! A seeded shuffle, so a test can know the order a shuffle produces.

/// SplitMix64: small, fast, and the same sequence everywhere for a seed.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let value = self.next_u64();
            if value < zone {
                return value % bound;
            }
        }
    }
}

/// Shuffles `items` in place (Fisher–Yates) with the generator seeded by `seed`.
pub fn shuffle_seeded<T>(items: &mut [T], seed: u64) {
    let mut rng = SeededRng::new(seed);
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_order_and_keeps_every_item() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        shuffle_seeded(&mut a, 42);
        shuffle_seeded(&mut b, 42);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>(), "50 items do not come back in order");
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        let mut c: Vec<u32> = (0..50).collect();
        shuffle_seeded(&mut c, 43);
        assert_ne!(a, c);
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SeededRng::new(7);
        for bound in [1, 2, 3, 10, 1000] {
            for _ in 0..200 {
                assert!(rng.below(bound) < bound);
            }
        }
    }
}
