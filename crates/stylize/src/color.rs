//! Colour preservation after Gatys, Bethge, Hertzmann and Shechtman (2016),
//! "Preserving Color in Neural Artistic Style Transfer".
//!
//! Two ways to keep the content photo's colours:
//! - **Luminance-only transfer**: run the network on luminance images
//!   ([`luminance_image`]), with the style's luminance first matched to the
//!   content's ([`match_luminance`]), then put the content's chrominance
//!   back on the result ([`combine_luminance`]).
//! - **Colour histogram matching**: recolour the style image so that its
//!   RGB mean and covariance equal the content's ([`match_histogram`]),
//!   then transfer as usual.
//!
//! Everything here is a pure function on [`Rgb32FImage`]s with values in
//! [0, 1]; the colour space is NTSC YIQ ([`RGB_TO_YIQ`]).

use image::Rgb32FImage;

use crate::error::{Error, Result};

/// The NTSC (FCC 1953) RGB → YIQ matrix, rows Y, I, Q:
///
/// ```text
/// Y = 0.299    R + 0.587    G + 0.114    B
/// I = 0.595716 R − 0.274453 G − 0.321263 B
/// Q = 0.211456 R − 0.522591 G + 0.311135 B
/// ```
///
/// The Y row sums to 1, so a grey pixel (R = G = B = v) has Y = v and
/// I = Q = 0 (up to the rounding of the published coefficients).
pub const RGB_TO_YIQ: [[f64; 3]; 3] = [
    [0.299, 0.587, 0.114],
    [0.595716, -0.274453, -0.321263],
    [0.211456, -0.522591, 0.311135],
];

/// The exact inverse of [`RGB_TO_YIQ`] (YIQ → RGB), computed at compile
/// time as adj(M) / det(M) in `f64`, so that a round trip is exact up to
/// floating-point rounding.
pub const YIQ_TO_RGB: [[f64; 3]; 3] = invert3(&RGB_TO_YIQ);

/// Regularisation added to the style's RGB covariance in
/// [`match_histogram`]: Σ_s + ε I, so that flat or low-rank images do not
/// make Σ_s^{-1/2} blow up.
pub const HISTOGRAM_EPSILON: f64 = 1e-5;

/// The inverse of a 3×3 matrix by cofactors: M⁻¹ = adj(M) / det(M).
/// Only used on [`RGB_TO_YIQ`], whose determinant is far from zero.
const fn invert3(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    /// Cofactor C_ij of M (cyclic indices give the sign); adj(M) = Cᵀ.
    const fn cofactor(m: &[[f64; 3]; 3], i: usize, j: usize) -> f64 {
        let (r0, r1) = ((i + 1) % 3, (i + 2) % 3);
        let (c0, c1) = ((j + 1) % 3, (j + 2) % 3);
        m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]
    }
    let det =
        m[0][0] * cofactor(m, 0, 0) + m[0][1] * cofactor(m, 0, 1) + m[0][2] * cofactor(m, 0, 2);
    let mut inv = [[0.0; 3]; 3];
    let mut i = 0;
    while i < 3 {
        let mut j = 0;
        while j < 3 {
            inv[i][j] = cofactor(m, j, i) / det;
            j += 1;
        }
        i += 1;
    }
    inv
}

/// `m · v` for a 3×3 matrix in `f64`, on an `f32` pixel.
fn mat_vec(m: &[[f64; 3]; 3], v: [f32; 3]) -> [f32; 3] {
    let v = v.map(f64::from);
    m.map(|row| (row[0] * v[0] + row[1] * v[1] + row[2] * v[2]) as f32)
}

/// One RGB pixel to YIQ: `[Y, I, Q] = RGB_TO_YIQ · [R, G, B]`.
pub fn rgb_to_yiq(rgb: [f32; 3]) -> [f32; 3] {
    mat_vec(&RGB_TO_YIQ, rgb)
}

/// One YIQ pixel back to RGB: `[R, G, B] = YIQ_TO_RGB · [Y, I, Q]`, not
/// clamped.
pub fn yiq_to_rgb(yiq: [f32; 3]) -> [f32; 3] {
    mat_vec(&YIQ_TO_RGB, yiq)
}

/// The luminance of one RGB pixel: Y = 0.299 R + 0.587 G + 0.114 B.
pub fn luminance(rgb: [f32; 3]) -> f32 {
    rgb_to_yiq(rgb)[0]
}

/// The image in YIQ ([`rgb_to_yiq`] on each pixel), in row-major order.
#[cfg(test)]
pub fn to_yiq(img: &Rgb32FImage) -> Vec<[f32; 3]> {
    img.pixels().map(|p| rgb_to_yiq(p.0)).collect()
}

/// Rebuilds a `width × height` RGB image from YIQ pixels in row-major
/// order ([`yiq_to_rgb`] on each), the inverse of [`to_yiq`]. Values are
/// not clamped, so that `from_yiq(w, h, &to_yiq(img))` returns `img`.
///
/// # Errors
/// [`Error::Parameter`] when `yiq` does not hold exactly `width × height`
/// pixels.
#[cfg(test)]
pub fn from_yiq(width: u32, height: u32, yiq: &[[f32; 3]]) -> Result<Rgb32FImage> {
    let expected = u64::from(width) * u64::from(height);
    if yiq.len() as u64 != expected {
        return Err(Error::parameter(
            "YIQ pixels",
            format!(
                "{} pixels for a {width}x{height} image, expected {expected}",
                yiq.len()
            ),
        ));
    }
    let raw = yiq.iter().flat_map(|&p| yiq_to_rgb(p)).collect();
    Rgb32FImage::from_raw(width, height, raw).ok_or_else(|| {
        Error::parameter(
            "YIQ pixels",
            format!("cannot build a {width}x{height} image"),
        )
    })
}

/// A copy of `img` with `f` applied to every pixel.
fn map_pixels(img: &Rgb32FImage, f: impl Fn([f32; 3]) -> [f32; 3]) -> Rgb32FImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        p.0 = f(p.0);
    }
    out
}

/// The image's luminance Y = 0.299 R + 0.587 G + 0.114 B replicated into
/// all three channels: what the network sees in luminance-only transfer.
pub fn luminance_image(img: &Rgb32FImage) -> Rgb32FImage {
    map_pixels(img, |p| [luminance(p); 3])
}

/// Mean and population standard deviation of the luminance over all
/// pixels, in `f64`; `None` for an image without pixels.
fn luminance_stats(img: &Rgb32FImage) -> Option<(f64, f64)> {
    let n = img.pixels().len();
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let mean = img.pixels().map(|p| f64::from(luminance(p.0))).sum::<f64>() / n;
    let var = img
        .pixels()
        .map(|p| (f64::from(luminance(p.0)) - mean).powi(2))
        .sum::<f64>()
        / n;
    Some((mean, var.sqrt()))
}

/// The paper's luminance matching: the style's luminance shifted and
/// scaled to the content's mean and standard deviation,
///
/// ```text
/// L_s' = σ_c / σ_s · (L_s − μ_s) + μ_c
/// ```
///
/// with μ, σ the mean and (population) standard deviation of Y over all
/// pixels of each image, then clamped to [0, 1] and replicated into three
/// channels. The inputs are usually [`luminance_image`]s, but any RGB
/// image works: its Y is used (for a grey pixel Y is the channel value).
/// The two images may differ in size; the result has the style's size.
///
/// A flat style (σ_s = 0, or below 1e-12) cannot be scaled and becomes μ_c
/// everywhere; a content without pixels gives the style's luminance
/// unchanged.
pub fn match_luminance(style_y: &Rgb32FImage, content_y: &Rgb32FImage) -> Rgb32FImage {
    let (Some((mu_s, sigma_s)), Some((mu_c, sigma_c))) =
        (luminance_stats(style_y), luminance_stats(content_y))
    else {
        return luminance_image(style_y);
    };
    let scale = if sigma_s > 1e-12 {
        sigma_c / sigma_s
    } else {
        0.0
    };
    map_pixels(style_y, |p| {
        let y = scale * (f64::from(luminance(p)) - mu_s) + mu_c;
        [y.clamp(0.0, 1.0) as f32; 3]
    })
}

/// Luminance from one image, chrominance from another: each pixel gets Y
/// of `luma_from` (its luminance, `0.299 R + 0.587 G + 0.114 B`; for a
/// luminance image that is the channel value) and I, Q of `chroma_from`,
/// converted back to RGB (NTSC YIQ) and clamped to [0, 1]. This is the last step of
/// luminance-only transfer: `luma_from` is the stylized luminance image,
/// `chroma_from` the content photo.
///
/// # Errors
/// [`Error::Parameter`] when the two images differ in size.
pub fn combine_luminance(
    luma_from: &Rgb32FImage,
    chroma_from: &Rgb32FImage,
) -> Result<Rgb32FImage> {
    if luma_from.dimensions() != chroma_from.dimensions() {
        let (lw, lh) = luma_from.dimensions();
        let (cw, ch) = chroma_from.dimensions();
        return Err(Error::parameter(
            "colour preservation",
            format!("the luminance image is {lw}x{lh} but the colour image is {cw}x{ch}"),
        ));
    }
    let mut out = chroma_from.clone();
    for (o, l) in out.pixels_mut().zip(luma_from.pixels()) {
        let [_, i, q] = rgb_to_yiq(o.0);
        o.0 = yiq_to_rgb([luminance(l.0), i, q]).map(|v| v.clamp(0.0, 1.0));
    }
    Ok(out)
}

/// A 3×3 matrix in `f64`, row-major.
type Mat3 = [[f64; 3]; 3];

/// Mean and population covariance of the RGB pixels, in `f64`; `None` for
/// an image without pixels.
fn rgb_stats(img: &Rgb32FImage) -> Option<([f64; 3], Mat3)> {
    let n = img.pixels().len();
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let mut mean = [0.0; 3];
    for p in img.pixels() {
        for (m, &v) in mean.iter_mut().zip(&p.0) {
            *m += f64::from(v);
        }
    }
    mean = mean.map(|m| m / n);
    let mut cov = [[0.0; 3]; 3];
    for p in img.pixels() {
        let d: [f64; 3] = std::array::from_fn(|k| f64::from(p.0[k]) - mean[k]);
        for i in 0..3 {
            for j in 0..3 {
                cov[i][j] += d[i] * d[j];
            }
        }
    }
    Some((mean, cov.map(|row| row.map(|c| c / n))))
}

/// `a · b` for 3×3 matrices.
fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

/// Eigen-decomposition of a symmetric 3×3 matrix by the cyclic Jacobi
/// method: returns the eigenvalues λ and a matrix V whose *columns* are
/// the orthonormal eigenvectors, so that S = V diag(λ) Vᵀ.
///
/// Each step picks an off-diagonal entry s_pq and applies the rotation
/// S ← Jᵀ S J (J the identity with J_pp = J_qq = c, J_pq = s, J_qp = −s)
/// that zeroes it, with θ = (s_qq − s_pp) / (2 s_pq),
/// t = sign(θ) / (|θ| + √(θ² + 1)), c = 1 / √(t² + 1), s = t c; V
/// accumulates the rotations. Sweeps stop when the off-diagonal part is
/// negligible against the matrix's norm (a few sweeps for 3×3).
fn sym_eigen3(m: &Mat3) -> ([f64; 3], Mat3) {
    let mut a = *m;
    let mut v: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let norm2: f64 = a.iter().flatten().map(|x| x * x).sum();
    for _sweep in 0..64 {
        let off2 = 2.0 * (a[0][1].powi(2) + a[0][2].powi(2) + a[1][2].powi(2));
        if off2 <= 1e-30 * norm2 || off2 == 0.0 {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q] == 0.0 {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            let mut j: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
            j[p][p] = c;
            j[q][q] = c;
            j[p][q] = s;
            j[q][p] = -s;
            let jt = transpose(&j);
            a = mat_mul(&jt, &mat_mul(&a, &j));
            // Exactly zero what the rotation zeroes up to rounding, and keep
            // `a` symmetric.
            a[p][q] = 0.0;
            a[q][p] = 0.0;
            v = mat_mul(&v, &j);
        }
    }
    ([a[0][0], a[1][1], a[2][2]], v)
}

/// The transpose of a 3×3 matrix.
fn transpose(m: &Mat3) -> Mat3 {
    std::array::from_fn(|i| std::array::from_fn(|j| m[j][i]))
}

/// f(S) = V diag(f(λ)) Vᵀ for a symmetric 3×3 S = V diag(λ) Vᵀ.
fn sym_fn(m: &Mat3, f: impl Fn(f64) -> f64) -> Mat3 {
    let (lambda, v) = sym_eigen3(m);
    let fl = lambda.map(f);
    std::array::from_fn(|i| {
        std::array::from_fn(|j| (0..3).map(|k| v[i][k] * fl[k] * v[j][k]).sum())
    })
}

/// The paper's colour histogram matching: a linear map of the style's RGB
/// pixels, `x' = A x + b`, chosen so that the result has the content's
/// mean μ_c and covariance Σ_c:
///
/// ```text
/// A = Σ_c^{1/2} (Σ_s + ε I)^{-1/2},   b = μ_c − A μ_s
/// ```
///
/// (then A Σ_s Aᵀ ≈ Σ_c). The symmetric square roots come from an
/// eigen-decomposition of each 3×3 covariance (Jacobi method), with
/// negative rounding-noise eigenvalues treated as 0; ε =
/// [`HISTOGRAM_EPSILON`] keeps flat images (Σ_s = 0) from blowing up
/// (they become μ_c everywhere). Means and covariances are over all
/// pixels, in `f64`; the two images may differ in size. The result has
/// the style's size and is clamped to [0, 1]. A content without pixels
/// leaves the style unchanged.
pub fn match_histogram(style: &Rgb32FImage, content: &Rgb32FImage) -> Rgb32FImage {
    let (Some((mu_s, sigma_s)), Some((mu_c, sigma_c))) = (rgb_stats(style), rgb_stats(content))
    else {
        return style.clone();
    };
    let mut reg = sigma_s;
    for (k, row) in reg.iter_mut().enumerate() {
        row[k] += HISTOGRAM_EPSILON;
    }
    let sqrt_c = sym_fn(&sigma_c, |l| l.max(0.0).sqrt());
    let inv_sqrt_s = sym_fn(&reg, |l| 1.0 / l.max(HISTOGRAM_EPSILON).sqrt());
    let a = mat_mul(&sqrt_c, &inv_sqrt_s);
    let b: [f64; 3] =
        std::array::from_fn(|i| mu_c[i] - (0..3).map(|k| a[i][k] * mu_s[k]).sum::<f64>());
    map_pixels(style, |p| {
        let x = p.map(f64::from);
        std::array::from_fn(|i| {
            let y = (0..3).map(|k| a[i][k] * x[k]).sum::<f64>() + b[i];
            y.clamp(0.0, 1.0) as f32
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// A `w × h` image with each pixel from `f`.
    fn image_from(w: u32, h: u32, mut f: impl FnMut() -> [f32; 3]) -> Rgb32FImage {
        Rgb32FImage::from_fn(w, h, |_, _| Rgb(f()))
    }

    fn random_image(w: u32, h: u32, seed: u64) -> Rgb32FImage {
        let mut r = rng(seed);
        image_from(w, h, || [r.random(), r.random(), r.random()])
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Every channel value strictly inside (0, 1): no clamping happened.
    fn unclamped(img: &Rgb32FImage) -> bool {
        img.pixels().flat_map(|p| p.0).all(|v| v > 0.0 && v < 1.0)
    }

    fn max_abs_diff(a: &Mat3, b: &Mat3) -> f64 {
        a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

    #[test]
    fn yiq_matrices_are_inverse() {
        let prod = mat_mul(&RGB_TO_YIQ, &YIQ_TO_RGB);
        assert!(max_abs_diff(&prod, &IDENTITY) < 1e-14, "{prod:?}");
        let prod = mat_mul(&YIQ_TO_RGB, &RGB_TO_YIQ);
        assert!(max_abs_diff(&prod, &IDENTITY) < 1e-14, "{prod:?}");
    }

    #[test]
    fn yiq_round_trip() {
        let img = random_image(17, 13, 1);
        let yiq = to_yiq(&img);
        assert_eq!(yiq.len(), 17 * 13);
        let back = from_yiq(17, 13, &yiq).expect("sizes match");
        assert_eq!(back.dimensions(), (17, 13));
        for (a, b) in img.pixels().zip(back.pixels()) {
            for k in 0..3 {
                assert!((a.0[k] - b.0[k]).abs() < 1e-5, "{:?} vs {:?}", a.0, b.0);
            }
        }
        // Known values: white has Y = 1 and (nearly) no chroma.
        let [y, i, q] = rgb_to_yiq([1.0, 1.0, 1.0]);
        assert!((y - 1.0).abs() < 1e-6 && i.abs() < 1e-5 && q.abs() < 1e-5);
        let [y, i, q] = rgb_to_yiq([1.0, 0.0, 0.0]);
        assert!(
            (y - 0.299).abs() < 1e-6 && (i - 0.595716).abs() < 1e-6 && (q - 0.211456).abs() < 1e-6
        );
    }

    #[test]
    fn from_yiq_rejects_wrong_length() {
        let yiq = vec![[0.5, 0.0, 0.0]; 11];
        assert!(matches!(from_yiq(3, 4, &yiq), Err(Error::Parameter { .. })));
        assert!(matches!(from_yiq(2, 5, &yiq), Err(Error::Parameter { .. })));
        assert!(from_yiq(11, 1, &yiq).is_ok());
    }

    #[test]
    fn luminance_image_replicates_y() {
        let img = random_image(9, 7, 2);
        let lum = luminance_image(&img);
        assert_eq!(lum.dimensions(), img.dimensions());
        for (p, l) in img.pixels().zip(lum.pixels()) {
            let [r, g, b] = p.0;
            let y = 0.299 * r + 0.587 * g + 0.114 * b;
            assert_eq!(l.0[0], l.0[1]);
            assert_eq!(l.0[1], l.0[2]);
            assert!((l.0[0] - y).abs() < 1e-6, "{} vs {y}", l.0[0]);
        }
    }

    #[test]
    fn match_luminance_gives_content_statistics() {
        let mut r = rng(3);
        // Style luminance in [0.2, 0.8]; content narrow around 0.4: mapped
        // values stay near 0.4 ± 0.1, so clamping never triggers.
        let style = image_from(30, 20, || [r.random_range(0.2..0.8); 3]);
        let content = random_image(25, 35, 4);
        let content = map_pixels(&content, |p| [0.35 + 0.1 * luminance(p); 3]);
        let out = match_luminance(&style, &content);
        assert_eq!(out.dimensions(), style.dimensions());
        assert!(unclamped(&out));
        for p in out.pixels() {
            assert_eq!(p.0[0], p.0[1]);
            assert_eq!(p.0[1], p.0[2]);
        }
        let (mu_o, sd_o) = luminance_stats(&out).expect("pixels");
        let (mu_c, sd_c) = luminance_stats(&content).expect("pixels");
        let (mu_s, sd_s) = luminance_stats(&style).expect("pixels");
        assert!(!close(mu_s, mu_c, 0.01) && !close(sd_s, sd_c, 0.01));
        assert!(close(mu_o, mu_c, 1e-3), "mean {mu_o} vs {mu_c}");
        assert!(close(sd_o, sd_c, 1e-3), "std {sd_o} vs {sd_c}");
    }

    #[test]
    fn match_luminance_flat_style_and_clamping() {
        let flat = image_from(5, 5, || [0.3; 3]);
        let content = luminance_image(&random_image(6, 4, 5));
        let (mu_c, _) = luminance_stats(&content).expect("pixels");
        let out = match_luminance(&flat, &content);
        for p in out.pixels().flat_map(|p| p.0) {
            assert!(
                p.is_finite() && close(f64::from(p), mu_c, 1e-6),
                "{p} vs {mu_c}"
            );
        }
        // A wide content spread pushes the style's extremes out of [0, 1].
        let mut r = rng(6);
        let style = image_from(10, 10, || [r.random_range(0.45..0.55); 3]);
        let wide = image_from(10, 10, || if r.random() { [0.0; 3] } else { [1.0; 3] });
        let out = match_luminance(&style, &wide);
        let vals: Vec<f32> = out.pixels().flat_map(|p| p.0).collect();
        assert!(vals.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(vals.contains(&0.0) && vals.contains(&1.0));
    }

    #[test]
    fn combine_luminance_keeps_y_and_chroma() {
        let mut r = rng(7);
        let luma = image_from(12, 8, || [r.random_range(0.4..0.6); 3]);
        let chroma = image_from(12, 8, || {
            let base: f32 = r.random_range(0.3..0.7);
            [0; 3].map(|_| base + r.random_range(-0.05..0.05))
        });
        let out = combine_luminance(&luma, &chroma).expect("same size");
        assert!(unclamped(&out));
        for ((o, l), c) in out.pixels().zip(luma.pixels()).zip(chroma.pixels()) {
            let [yo, io, qo] = rgb_to_yiq(o.0);
            let [_, ic, qc] = rgb_to_yiq(c.0);
            assert!((yo - luminance(l.0)).abs() < 1e-4, "Y {yo} vs {:?}", l.0);
            assert!((io - ic).abs() < 1e-4 && (qo - qc).abs() < 1e-4);
        }
        // The luminance is not simply the chroma image's own.
        let diff = out
            .pixels()
            .zip(chroma.pixels())
            .map(|(o, c)| (luminance(o.0) - luminance(c.0)).abs())
            .fold(0.0, f32::max);
        assert!(diff > 0.05);
    }

    #[test]
    fn combine_luminance_rejects_size_mismatch() {
        let a = random_image(4, 3, 8);
        let b = random_image(3, 4, 9);
        assert!(matches!(
            combine_luminance(&a, &b),
            Err(Error::Parameter { .. })
        ));
    }

    /// A low-contrast image with correlated channels: `mean + M · u` with u
    /// uniform in [-0.5, 0.5]³.
    fn correlated_image(
        w: u32,
        h: u32,
        seed: u64,
        mean: [f32; 3],
        m: [[f32; 3]; 3],
    ) -> Rgb32FImage {
        let mut r = rng(seed);
        image_from(w, h, || {
            let u: [f32; 3] = std::array::from_fn(|_| r.random_range(-0.5..0.5));
            std::array::from_fn(|i| mean[i] + (0..3).map(|k| m[i][k] * u[k]).sum::<f32>())
        })
    }

    #[test]
    fn match_histogram_gives_content_mean_and_covariance() {
        let style = correlated_image(
            40,
            30,
            10,
            [0.6, 0.4, 0.5],
            [[0.15, 0.05, 0.0], [0.03, 0.12, 0.02], [0.0, 0.06, 0.1]],
        );
        let content = correlated_image(
            25,
            35,
            11,
            [0.35, 0.5, 0.6],
            [[0.1, -0.04, 0.03], [0.0, 0.14, 0.0], [0.05, 0.02, 0.12]],
        );
        let out = match_histogram(&style, &content);
        assert_eq!(out.dimensions(), style.dimensions());
        assert!(unclamped(&out));
        let (mu_o, cov_o) = rgb_stats(&out).expect("pixels");
        let (mu_c, cov_c) = rgb_stats(&content).expect("pixels");
        let (mu_s, cov_s) = rgb_stats(&style).expect("pixels");
        assert!(max_abs_diff(&cov_s, &cov_c) > 1e-3);
        for k in 0..3 {
            assert!(!close(mu_s[k], mu_c[k], 0.05));
            assert!(close(mu_o[k], mu_c[k], 1e-3), "mean {mu_o:?} vs {mu_c:?}");
            let (sd_o, sd_c) = (cov_o[k][k].sqrt(), cov_c[k][k].sqrt());
            assert!(close(sd_o, sd_c, 1e-3), "std {k}: {sd_o} vs {sd_c}");
        }
        assert!(
            max_abs_diff(&cov_o, &cov_c) < 5e-5,
            "cov {cov_o:?} vs {cov_c:?}"
        );
    }

    #[test]
    fn match_histogram_identity_on_same_image() {
        let img = correlated_image(
            20,
            20,
            12,
            [0.5, 0.45, 0.55],
            [[0.12, 0.02, 0.0], [0.0, 0.1, 0.03], [0.04, 0.0, 0.11]],
        );
        let out = match_histogram(&img, &img);
        for (a, b) in img.pixels().zip(out.pixels()) {
            for k in 0..3 {
                assert!((a.0[k] - b.0[k]).abs() < 1e-3, "{:?} vs {:?}", a.0, b.0);
            }
        }
    }

    #[test]
    fn match_histogram_flat_style_is_content_mean() {
        let flat = image_from(6, 6, || [0.2, 0.7, 0.4]);
        let content = random_image(8, 5, 13);
        let (mu_c, _) = rgb_stats(&content).expect("pixels");
        let out = match_histogram(&flat, &content);
        for p in out.pixels() {
            for k in 0..3 {
                let v = f64::from(p.0[k]);
                assert!(
                    v.is_finite() && close(v, mu_c[k], 1e-5),
                    "{:?} vs {mu_c:?}",
                    p.0
                );
            }
        }
    }

    #[test]
    fn jacobi_reconstructs_random_spd() {
        let mut r = rng(14);
        for _ in 0..20 {
            let b: Mat3 =
                std::array::from_fn(|_| std::array::from_fn(|_| r.random_range(-1.0..1.0)));
            let mut s = mat_mul(&b, &transpose(&b));
            for (k, row) in s.iter_mut().enumerate() {
                row[k] += 0.1;
            }
            let (lambda, v) = sym_eigen3(&s);
            assert!(lambda.iter().all(|&l| l > 0.0), "{lambda:?}");
            // V orthonormal.
            let vtv = mat_mul(&transpose(&v), &v);
            assert!(max_abs_diff(&vtv, &IDENTITY) < 1e-12, "{vtv:?}");
            // S = V diag(λ) Vᵀ.
            let d: Mat3 = std::array::from_fn(|i| {
                std::array::from_fn(|j| if i == j { lambda[i] } else { 0.0 })
            });
            let rec = mat_mul(&v, &mat_mul(&d, &transpose(&v)));
            assert!(max_abs_diff(&rec, &s) < 1e-12, "{rec:?} vs {s:?}");
            // The symmetric square root squares back to S.
            let root = sym_fn(&s, f64::sqrt);
            assert!(max_abs_diff(&mat_mul(&root, &root), &s) < 1e-12);
            assert!(max_abs_diff(&root, &transpose(&root)) < 1e-14);
        }
    }

    #[test]
    fn jacobi_handles_repeated_and_diagonal() {
        // Eigenvalues 1, 3, 3.
        let s = [[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 3.0]];
        let (mut lambda, _) = sym_eigen3(&s);
        lambda.sort_by(f64::total_cmp);
        assert!(
            close(lambda[0], 1.0, 1e-12)
                && close(lambda[1], 3.0, 1e-12)
                && close(lambda[2], 3.0, 1e-12)
        );
        let diag = [[4.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 9.0]];
        let (lambda, v) = sym_eigen3(&diag);
        assert_eq!(lambda, [4.0, 0.0, 9.0]);
        assert_eq!(v, IDENTITY);
        let zero = [[0.0; 3]; 3];
        assert_eq!(sym_eigen3(&zero).0, [0.0; 3]);
    }
}
