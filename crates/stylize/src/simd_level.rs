//! How wide the CPU kernels may go: the fast engine's, and through
//! `stylize_matmul::Isa` the optical flow's and the feed-forward
//! networks'. A leaf: the engine interface and the fast engine both name
//! it.

use pulp::Arch;
use stylize_matmul::Isa;

/// How wide the fast engine's SIMD code may go.
///
/// [`SimdLevel::Best`] is what this CPU has: AVX-512 or AVX2 with FMA on
/// x86-64, NEON on ARM. [`SimdLevel::Avx2`] runs the AVX2 code on a CPU
/// that also has AVX-512: a stand-in for the many CPUs without it, for
/// benchmarks and for testing that code path. The environment variable
/// `STYLIZE_SIMD` (`best` or `avx2`) sets it for the engines a process
/// builds (read when a network is loaded into the fast engine);
/// [`Stylizer::with_simd`](crate::Stylizer::with_simd) sets it for one.
/// It converts to and from `stylize_matmul::Isa` (re-exported as
/// `stylize_flow::Isa` and `stylize_feedforward::Isa`), the same choice
/// for the optical flow and the feed-forward networks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SimdLevel {
    /// The widest this CPU has (the default).
    #[default]
    Best,
    /// At most AVX2 with FMA on x86-64; the same as `Best` elsewhere and
    /// on x86-64 CPUs without AVX-512.
    Avx2,
}

impl SimdLevel {
    /// From `STYLIZE_SIMD`: unset, empty or `best` gives [`SimdLevel::Best`],
    /// `avx2` [`SimdLevel::Avx2`]; anything else is logged as a warning
    /// and taken as `best`.
    pub fn from_env() -> Self {
        Isa::from_env().into()
    }

    /// What the engine's kernels actually run at this level on this CPU:
    /// `"avx512"`, `"avx2"`, `"neon"` or `"portable"`.
    pub fn effective(self) -> &'static str {
        let products = Isa::from(self);
        effective_name(products.arch(), products)
    }
}

impl From<SimdLevel> for Isa {
    fn from(level: SimdLevel) -> Isa {
        match level {
            SimdLevel::Best => Isa::Best,
            SimdLevel::Avx2 => Isa::Avx2,
        }
    }
}

impl From<Isa> for SimdLevel {
    fn from(isa: Isa) -> SimdLevel {
        match isa {
            Isa::Best => SimdLevel::Best,
            Isa::Avx2 => SimdLevel::Avx2,
        }
    }
}

/// What kernels run with loops dispatched by `arch` and products at
/// `products`: `"avx512"`, `"avx2"`, `"neon"` or `"portable"`.
pub(crate) fn effective_name(arch: Arch, products: Isa) -> &'static str {
    let loops = arch_name(arch);
    let products = products.effective();
    // Both sides agree unless one library lacks a level the other has.
    if loops == "neon" || products == "portable" {
        loops
    } else {
        products
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::V4(_) => "avx512",
        Arch::V3(_) => "avx2",
        _ => "portable",
    }
}

#[cfg(target_arch = "aarch64")]
pub(crate) fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::Neon(_) => "neon",
        _ => "portable",
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) fn arch_name(_arch: Arch) -> &'static str {
    "portable"
}
