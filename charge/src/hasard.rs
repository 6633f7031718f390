//! The tool's randomness: xorshift64, reproducible from a seed and without a dependency. It
//! spreads players over time and space; nothing here needs to be unpredictable.

/// A xorshift64 generator.
#[derive(Debug, Clone)]
pub(crate) struct Hasard(u64);

impl Hasard {
    /// A generator from `graine` (any value; 0 is made odd).
    pub(crate) fn new(graine: u64) -> Self {
        Self(graine | 1)
    }

    /// The next 32 random bits.
    pub(crate) fn suivant(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn uniforme(&mut self) -> f64 {
        f64::from(self.suivant()) / (f64::from(u32::MAX) + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_tirage_uniforme_reste_dans_l_intervalle_et_le_couvre() {
        let mut h = Hasard::new(42);
        let tirages: Vec<f64> = (0..10_000).map(|_| h.uniforme()).collect();
        assert!(tirages.iter().all(|t| (0.0..1.0).contains(t)));
        let moyenne = tirages.iter().sum::<f64>() / tirages.len() as f64;
        assert!((moyenne - 0.5).abs() < 0.02, "{moyenne}");
    }
}
