//! The randomness every venue's retries and reconnects share: a fraction that spreads their
//! waits so that many clients (or links) do not retry in step. Owns nothing else; must never
//! decide a wait itself (each backoff takes the fraction as an argument, so tests fix it).

use std::hash::{BuildHasher, RandomState};

/// A fresh jitter in [0, 1) from the standard library's randomly keyed hasher.
pub fn jitter() -> f64 {
    let bits = RandomState::new().hash_one(std::time::SystemTime::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_a_fraction() {
        assert!((0..100).map(|_| jitter()).all(|j| (0.0..1.0).contains(&j)));
    }
}
