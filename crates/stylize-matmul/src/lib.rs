//! `dst = alpha * lhs * rhs` (or `dst += ...`) in `f32`, with the
//! instruction set chosen by the caller.
//!
//! faer's [`matmul`](faer::linalg::matmul::matmul) always runs the widest
//! kernels the CPU has. stylize's fast engine also runs its products with
//! AVX2 on an AVX-512 machine, as a stand-in for the many CPUs without
//! AVX-512 (benchmarks, and tests of the AVX2 path), so on x86-64 this
//! crate calls the same kernels faer calls, with the instruction set named.
//! Elsewhere (ARM, ...) and for [`Isa::Best`] it is faer's product.
//!
//! [`Isa::from_env`] reads the level from `STYLIZE_SIMD`, and
//! [`Isa::arch`] gives pulp's dispatch at that level for the loops around
//! the products (the fast engine's, the feed-forward networks' and the
//! optical flow's).

use faer::{Accum, MatMut, MatRef, Par};

/// Which instruction set the products may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Isa {
    /// The best this CPU has (faer's choice: AVX-512, AVX2 with FMA, NEON,
    /// or portable code).
    #[default]
    Best,
    /// AVX2 with FMA (x86-64), even where AVX-512 is available. On a CPU
    /// without AVX2 and FMA, and on other architectures, the same as
    /// [`Isa::Best`].
    Avx2,
}

/// The environment variable that holds stylize's CPU kernels at a level
/// (`best` or `avx2`): the fast engine's, the feed-forward networks' and
/// the optical flow's.
pub const SIMD_VAR: &str = "STYLIZE_SIMD";

impl Isa {
    /// From `STYLIZE_SIMD`: unset, empty or `best` gives [`Isa::Best`],
    /// `avx2` [`Isa::Avx2`]; anything else is logged as a warning and
    /// taken as `best`. Read when a network or a flow is built.
    pub fn from_env() -> Self {
        match std::env::var(SIMD_VAR).ok().as_deref().map(str::trim) {
            None | Some("" | "best") => Isa::Best,
            Some(v) if v.eq_ignore_ascii_case("avx2") => Isa::Avx2,
            Some(other) => {
                log::warn!(
                    "{SIMD_VAR}={other:?} is not `best` or `avx2`; using the best this CPU has"
                );
                Isa::Best
            }
        }
    }

    /// pulp's dispatch for loops at this level: the best this CPU has, or
    /// for [`Isa::Avx2`] at most AVX2 with FMA (pulp's `V3`) on an x86-64
    /// CPU that also has AVX-512.
    pub fn arch(self) -> pulp::Arch {
        let best = pulp::Arch::new();
        match self {
            Isa::Best => best,
            Isa::Avx2 => avx2_at_most(best),
        }
    }

    /// The instruction set a product at this level actually runs, in words
    /// (`"avx512"`, `"avx2"`, `"neon"` on 64-bit ARM, or `"portable"`), as
    /// the `stylize` crate's `SimdLevel::effective` says it.
    pub fn effective(self) -> &'static str {
        #[cfg(target_arch = "x86_64")]
        match self {
            Isa::Best if std::arch::is_x86_feature_detected!("avx512f") => "avx512",
            _ if avx2_fma() => "avx2",
            _ => "portable",
        }
        #[cfg(target_arch = "aarch64")]
        {
            let _ = self;
            "neon"
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            let _ = self;
            "portable"
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2_at_most(best: pulp::Arch) -> pulp::Arch {
    match best {
        pulp::Arch::V4(_) => pulp::x86::V3::try_new().map_or(best, pulp::Arch::V3),
        other => other,
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_at_most(best: pulp::Arch) -> pulp::Arch {
    best
}

/// Whether the CPU has AVX2 and FMA, which faer's AVX2 kernels need.
#[cfg(target_arch = "x86_64")]
fn avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Products this small (`m * n * k`) go to faer whatever the level: it
/// runs them with its own small kernels, not the large ones.
#[cfg(target_arch = "x86_64")]
const SMALL: usize = 16 * 16 * 16;

/// `dst = alpha * lhs * rhs` ([`Accum::Replace`]) or `dst += alpha * lhs *
/// rhs` ([`Accum::Add`]), single-threaded, at instruction set `isa`.
///
/// # Panics
/// If the shapes do not agree (`dst` is `lhs.nrows() x rhs.ncols()`,
/// `lhs.ncols() == rhs.nrows()`), as faer does.
pub fn matmul(
    dst: MatMut<'_, f32>,
    accum: Accum,
    lhs: MatRef<'_, f32>,
    rhs: MatRef<'_, f32>,
    alpha: f32,
    isa: Isa,
) {
    assert_eq!(dst.nrows(), lhs.nrows(), "rows of the product");
    assert_eq!(dst.ncols(), rhs.ncols(), "columns of the product");
    assert_eq!(lhs.ncols(), rhs.nrows(), "inner dimension of the product");
    #[cfg(target_arch = "x86_64")]
    let dst = match isa {
        Isa::Avx2 => match avx2_kernels(dst, accum, lhs, rhs, alpha) {
            Some(dst) => dst,
            None => return,
        },
        Isa::Best => dst,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = isa;
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, alpha, Par::Seq);
}

/// Runs the product with faer's AVX2 kernels when the CPU has AVX2 and FMA
/// and the product is one faer would give them (not small, not a vector,
/// no negative strides); otherwise gives `dst` back for faer.
#[cfg(target_arch = "x86_64")]
fn avx2_kernels<'a>(
    dst: MatMut<'a, f32>,
    accum: Accum,
    lhs: MatRef<'_, f32>,
    rhs: MatRef<'_, f32>,
    alpha: f32,
) -> Option<MatMut<'a, f32>> {
    use private_gemm_x86 as k;
    let (m, n, depth) = (dst.nrows(), dst.ncols(), lhs.ncols());
    let strides = [
        dst.row_stride(),
        dst.col_stride(),
        lhs.row_stride(),
        lhs.col_stride(),
        rhs.row_stride(),
        rhs.col_stride(),
    ];
    if !avx2_fma()
        || m < 2
        || n < 2
        || depth < 2
        || m * n * depth <= SMALL
        || strides.iter().any(|s| *s < 0)
    {
        return Some(dst);
    }
    let beta = match accum {
        Accum::Replace => k::Accum::Replace,
        Accum::Add => k::Accum::Add,
    };
    let dst_ptr = dst.as_ptr_mut();
    // SAFETY: the arguments are those faer's own `matmul` passes to this
    // function for an `f32` product on x86-64, after the same checks: the
    // three views are valid for their shapes and (non-negative) strides,
    // as `MatRef`/`MatMut` guarantee; `dst` is borrowed mutably, so it
    // aliases neither operand; the shapes agree (asserted by the caller);
    // the kernels use AVX2 and FMA, which the CPU has (checked above);
    // `alpha` outlives the call; one thread.
    #[allow(unsafe_code)]
    unsafe {
        k::gemm(
            k::DType::F32,
            k::IType::U64,
            k::InstrSet::Avx256,
            m,
            n,
            depth,
            dst_ptr as *mut (),
            dst.row_stride(),
            dst.col_stride(),
            core::ptr::null(),
            core::ptr::null(),
            k::DstKind::Full,
            beta,
            lhs.as_ptr() as *const (),
            lhs.row_stride(),
            lhs.col_stride(),
            false,
            core::ptr::null(),
            0,
            rhs.as_ptr() as *const (),
            rhs.row_stride(),
            rhs.col_stride(),
            false,
            &raw const alpha as *const (),
            1,
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    /// The product in f64 by the definition.
    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|p| f64::from(a[i * k + p]) * f64::from(b[p * n + j]))
                    .sum();
            }
        }
        c
    }

    #[test]
    fn every_level_matches_the_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for &(m, k, n) in &[
            (64, 72, 100),
            (3, 5, 7),
            (17, 33, 129),
            (1, 40, 40),
            (40, 1, 40),
        ] {
            let a = random(m * k, &mut rng);
            let b = random(k * n, &mut rng);
            let base = random(m * n, &mut rng);
            let want = naive(&a, &b, m, k, n);
            for isa in [Isa::Best, Isa::Avx2] {
                for accum in [Accum::Replace, Accum::Add] {
                    let mut c = base.clone();
                    matmul(
                        MatMut::from_row_major_slice_mut(&mut c, m, n),
                        accum,
                        MatRef::from_row_major_slice(&a, m, k),
                        MatRef::from_row_major_slice(&b, k, n),
                        0.5,
                        isa,
                    );
                    for (i, (got, w)) in c.iter().zip(&want).enumerate() {
                        let before = if accum == Accum::Add {
                            f64::from(base[i])
                        } else {
                            0.0
                        };
                        let w = before + 0.5 * w;
                        assert!(
                            (f64::from(*got) - w).abs() < 1e-4 * (1.0 + w.abs()),
                            "{isa:?} {accum:?} {m}x{k}x{n} [{i}]: {got} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn transposed_operands_match() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (m, k) = (48, 70);
        let a = random(m * k, &mut rng);
        let want = naive(&a, &transpose(&a, m, k), m, k, m);
        let mut c = vec![0.0f32; m * m];
        let f = MatRef::from_row_major_slice(&a, m, k);
        matmul(
            MatMut::from_row_major_slice_mut(&mut c, m, m),
            Accum::Replace,
            f,
            f.transpose(),
            1.0,
            Isa::Avx2,
        );
        for (got, w) in c.iter().zip(&want) {
            assert!((f64::from(*got) - w).abs() < 1e-4 * (1.0 + w.abs()));
        }
    }

    fn transpose(a: &[f32], r: usize, c: usize) -> Vec<f32> {
        let mut t = vec![0.0; r * c];
        for i in 0..r {
            for j in 0..c {
                t[j * r + i] = a[i * c + j];
            }
        }
        t
    }

    #[test]
    fn levels_name_what_runs() {
        assert!(["avx512", "avx2", "portable"].contains(&Isa::Best.effective()));
        assert_ne!(Isa::Avx2.effective(), "avx512");
    }
}
