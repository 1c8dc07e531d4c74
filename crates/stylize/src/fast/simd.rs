//! The instruction sets the fast engine's kernels run: the Winograd
//! transforms (through pulp's dispatch) and the matrix products (through
//! `stylize-matmul`).

use pulp::Arch;
use stylize_matmul::Isa;

use crate::simd_level::SimdLevel;

/// A [`SimdLevel`] resolved on this CPU: pulp's dispatch for the engine's
/// own loops, and the products' instruction set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Simd {
    pub(crate) arch: Arch,
    pub(crate) products: Isa,
}

impl Simd {
    pub(crate) fn new(level: SimdLevel) -> Self {
        let products = Isa::from(level);
        Simd {
            arch: products.arch(),
            products,
        }
    }

    /// The level `STYLIZE_SIMD` asks for (tests run the AVX2 code with
    /// `STYLIZE_SIMD=avx2`).
    #[cfg(test)]
    pub(crate) fn from_env() -> Self {
        Simd::new(SimdLevel::from_env())
    }

    /// The level this was made from.
    pub(crate) fn level(self) -> SimdLevel {
        self.products.into()
    }

    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        crate::simd_level::effective_name(self.arch, self.products)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd_level::arch_name;

    #[test]
    fn avx2_never_runs_avx512() {
        let s = Simd::new(SimdLevel::Avx2);
        assert_ne!(s.name(), "avx512");
        assert_ne!(arch_name(s.arch), "avx512");
        assert_ne!(s.products.effective(), "avx512");
    }

    #[test]
    fn best_runs_what_pulp_detects() {
        assert_eq!(
            arch_name(Simd::new(SimdLevel::Best).arch),
            arch_name(Arch::new())
        );
    }
}
