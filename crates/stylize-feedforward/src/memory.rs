//! How much memory a run of the networks needs, from the image sizes
//! alone: so that a caller (the web page's upload check) can refuse a run
//! before decoding or painting.

use crate::planar::longest_size;

/// Bytes per working pixel of a run, with the networks' buffers
/// (measured: 1.8 GB for a 3000x2000 photo painted at its own size, 3.8 GB
/// for the 26-style network at 4096x2725: 331 a pixel; 10% more here).
const BYTES_PER_WORKING_PIXEL: u64 = 352;

/// What a run holds whatever the images (the models' weights, the pools).
const BASE_BYTES: u64 = 128 << 20;

/// Bytes per pixel of an image at its own size: the decoded photo (up to
/// 8 for 16-bit RGBA) and its alpha channel (1), and 1 of margin; the
/// photo and each painting are read to the working size a row at a time.
/// Measured (peak RSS, `stylize fast --size 64`, Intel Xeon): 0.89 GiB
/// for a 10000x10000 16-bit RGBA PNG, where this says 1.06; 0.57 GiB for
/// a 16000x12000 8-bit RGB one (1.91 here: the bit depth is not known
/// from the size). Until 2026-12-06 each was first copied whole as floats
/// (12 more a pixel): 1.97 and 2.74 GiB, with 22 here.
const FULL_SIZE_BYTES_PER_PIXEL: u64 = 10;

/// Bytes per pixel of a painting held decoded through a run (a clip's,
/// through every frame): 8-bit RGBA at most.
const HELD_BYTES_PER_PIXEL: u64 = 4;

/// Bytes per pixel of the square the style predictor sees a painting at
/// ([`FastOptions::style_size`](crate::FastOptions::style_size)), beyond
/// the default 256 px square that [`BASE_BYTES`] covers (53 MB peak with
/// it). Measured (peak RSS, `stylize fast --threads 1 --size 64 -s udnie
/// --style-size N`, AMD EPYC, 2026-12-07): 34 MB at 64, 125 MB at 512,
/// 412 MB at 1024, 888 MB at 1536, 1.55 GB at 2048 (the same with 2
/// threads): 362 a pixel of the square above 64's; 10% more here.
/// Before, no estimate counted it: `--style-size 2048` was 131 MiB here.
const PREDICTOR_BYTES_PER_PIXEL: u64 = 400;

/// The style predictor's square that [`BASE_BYTES`] covers: the default
/// [`FastOptions::style_size`](crate::FastOptions::style_size).
const BASE_STYLE_SIZE: u32 = 256;

/// The peak memory of a [`FastStylizer::stylize`](crate::FastStylizer::stylize)
/// run, estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// All of it, bytes.
    pub total: u64,
    /// The part that a smaller working size does not lower: the fixed
    /// part, the largest image at its own size (every painting, where
    /// they are [`held`](Paintings::held)) and the style predictor's
    /// square. When it alone is over a limit, the images (or the style
    /// size) must be scaled down.
    pub at_own_size: u64,
}

/// A run's paintings, as its memory counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paintings<'a> {
    /// Each painting's size (none for a built-in style: then the style
    /// predictor does not run).
    pub sizes: &'a [(u32, u32)],
    /// The square the style predictor sees each at
    /// ([`FastOptions::style_size`](crate::FastOptions::style_size)).
    pub style_size: u32,
    /// Whether they are all decoded at once and held through the run
    /// (else each is decoded in turn and let go once its style vector is
    /// made, as `stylize fast` and a sheet read them).
    pub held: bool,
}

impl<'a> Paintings<'a> {
    /// Paintings of `sizes`, read one at a time, seen at `style_size`.
    pub fn one_at_a_time(sizes: &'a [(u32, u32)], style_size: u32) -> Self {
        Self {
            sizes,
            style_size,
            held: false,
        }
    }

    /// Paintings of `sizes`, all held decoded through the run, seen at
    /// `style_size`.
    pub fn all_held(sizes: &'a [(u32, u32)], style_size: u32) -> Self {
        Self {
            sizes,
            style_size,
            held: true,
        }
    }
}

/// Pixels of an image of `(w, h)`.
fn pixels((w, h): (u32, u32)) -> u64 {
    u64::from(w) * u64::from(h)
}

/// The memory a run needs that paints a `content` photo (width, height)
/// with its longer side at `size` px, with paintings of `styles` sizes
/// (empty for a built-in style) read one at a time and seen at the
/// default style size. Saturates rather than wraps for sizes read from a
/// header.
pub fn estimate_memory(content: (u32, u32), size: u32, styles: &[(u32, u32)]) -> MemoryEstimate {
    estimate_memory_with(
        content,
        size,
        Paintings::one_at_a_time(styles, BASE_STYLE_SIZE),
    )
}

/// [`estimate_memory`] with the `paintings` as the run reads them: at its
/// style size, and each held or one at a time.
pub fn estimate_memory_with(
    content: (u32, u32),
    size: u32,
    paintings: Paintings<'_>,
) -> MemoryEstimate {
    let working = pixels(longest_size(content, size));
    let (largest, held) = if paintings.held {
        // The photo is read beside every painting, held as decoded (8-bit
        // RGBA at most, as paintings are: 4 a pixel). Measured (peak RSS,
        // `video --method fast`, 8 paintings of 3000x3000, AMD EPYC,
        // 2026-12-07): 273 MB, where this says 350 MB (before, at 10 a
        // pixel: 818 MB, and runs that fit were refused).
        let sum = paintings
            .sizes
            .iter()
            .map(|&p| pixels(p))
            .fold(0u64, u64::saturating_add);
        (pixels(content), HELD_BYTES_PER_PIXEL.saturating_mul(sum))
    } else {
        // The images are read one at a time: the largest counts.
        let largest = std::iter::once(content)
            .chain(paintings.sizes.iter().copied())
            .map(pixels)
            .max()
            .unwrap_or(0);
        (largest, 0)
    };
    // Only a painting's style is seen through the predictor.
    let predictor = if paintings.sizes.is_empty() {
        0
    } else {
        let side = u64::from(paintings.style_size);
        let base = u64::from(BASE_STYLE_SIZE);
        PREDICTOR_BYTES_PER_PIXEL.saturating_mul((side * side).saturating_sub(base * base))
    };
    let at_own_size = BASE_BYTES
        .saturating_add(FULL_SIZE_BYTES_PER_PIXEL.saturating_mul(largest))
        .saturating_add(held)
        .saturating_add(predictor);
    MemoryEstimate {
        total: at_own_size.saturating_add(BYTES_PER_WORKING_PIXEL.saturating_mul(working)),
        at_own_size,
    }
}

/// Bytes per working pixel a clip's run holds beside the network's: the
/// flows both ways, the previous painting, the blend and the output's
/// frame (measured with `stylize video --method fast`: 480 MiB peak for
/// 2016x1362 frames at 1127 px, 1.01 GiB at 2016 px, where
/// [`estimate_memory`] alone says 0.42 and 0.95 GiB). The blend's texture
/// gain holds about 14 floats per working pixel while it runs (56 bytes);
/// it raised the measured peak by about 32 bytes per working pixel, within
/// this (2026-12-07: 487 MiB peak for 1600x680 frames at 1600 px, 453 MiB
/// with `--plain-blend`; estimated 616 MiB).
const CLIP_BYTES_PER_WORKING_PIXEL: u64 = 96;

/// Bytes per pixel of a clip's frame size its run holds beside
/// [`estimate_memory`]'s: each painted frame scaled back to the frame's
/// size as floats (12), on its way to the output. Measured (`stylize
/// video --method fast --size 256`, 3840x2160 frames, Intel Xeon): 238 MiB
/// peak, where [`estimate_clip_memory`] without this said 223 MiB.
const CLIP_FULL_SIZE_BYTES_PER_PIXEL: u64 = 12;

/// [`estimate_memory`] for a clip whose frames are `frame` pixels, painted
/// one after another and blended along the optical flow (as `stylize
/// video --method fast` and the web page's clips do).
pub fn estimate_clip_memory(frame: (u32, u32), size: u32, styles: &[(u32, u32)]) -> MemoryEstimate {
    estimate_clip_memory_with(
        frame,
        size,
        Paintings::one_at_a_time(styles, BASE_STYLE_SIZE),
    )
}

/// [`estimate_clip_memory`] with the `paintings` as the run reads them
/// ([`estimate_memory_with`]).
pub fn estimate_clip_memory_with(
    frame: (u32, u32),
    size: u32,
    paintings: Paintings<'_>,
) -> MemoryEstimate {
    let working = pixels(longest_size(frame, size));
    let run = estimate_memory_with(frame, size, paintings);
    let at_own_size = run
        .at_own_size
        .saturating_add(CLIP_FULL_SIZE_BYTES_PER_PIXEL.saturating_mul(pixels(frame)));
    MemoryEstimate {
        total: at_own_size
            .saturating_add(run.total.saturating_sub(run.at_own_size))
            .saturating_add(CLIP_BYTES_PER_WORKING_PIXEL.saturating_mul(working)),
        at_own_size,
    }
}

/// The largest working size (longer side), at most `up_to` px and at
/// least `least` (the least the networks take for the image's shape,
/// [`least_longest`](crate::least_longest)), at which a run needing
/// `need(size)` bytes (growing with the size, as [`estimate_memory`]'s
/// total) needs at most `limit`; `None` when none does (the images at
/// their own size, or the fixed part, are already over it).
pub fn largest_size_within(
    limit: u64,
    least: u32,
    up_to: u32,
    need: impl Fn(u32) -> u64,
) -> Option<u32> {
    let fits = |size: u32| need(size) <= limit;
    if up_to < least || !fits(least) {
        return None;
    }
    // Bisect for the last size that fits.
    let (mut lo, mut hi) = (least, up_to.saturating_add(1));
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_covers_the_measured_run_and_saturates() {
        // 3000x2000 painted at its own size peaked at 1.8 GB.
        let e = estimate_memory((3000, 2000), 3000, &[]);
        assert!(e.total >= 1_800_000_000, "{}", e.total);
        assert!(e.total < 2_500_000_000, "{}", e.total);
        // A smaller working size lowers only the working part.
        let small = estimate_memory((3000, 2000), 512, &[]);
        assert_eq!(small.at_own_size, e.at_own_size);
        assert!(small.total < e.total / 5, "{} {}", small.total, e.total);
        // The largest painting counts, decoded (up to 16-bit RGBA).
        let painted = estimate_memory((64, 64), 64, &[(8000, 8000)]);
        assert!(painted.at_own_size >= 8 * 64_000_000);
        let side = u32::MAX;
        assert_eq!(estimate_memory((side, side), side, &[]).total, u64::MAX);
    }

    #[test]
    fn the_style_predictor_counts_at_its_style_size() {
        // Measured (`--size 64`, one 1000x1000 painting): 1.55 GB peak at
        // --style-size 2048, 412 MB at 1024, 53 MB at the default 256.
        let styles = [(1000, 1000)];
        let at = |style_size| {
            estimate_memory_with((100, 67), 64, Paintings::one_at_a_time(&styles, style_size))
        };
        assert!(at(2048).total >= 1_550_000_000, "{:?}", at(2048));
        assert!(at(2048).total < 1_900_000_000, "{:?}", at(2048));
        assert!(at(1024).total >= 412_000_000, "{:?}", at(1024));
        assert!(at(1024).total < 600_000_000, "{:?}", at(1024));
        // The default square is within the fixed part: as before.
        assert_eq!(at(256), estimate_memory((100, 67), 64, &styles));
        assert_eq!(at(64), at(256));
        // A smaller working size does not lower it.
        assert_eq!(
            at(2048).at_own_size - at(256).at_own_size,
            400 * (2048 * 2048 - 256 * 256)
        );
        // No painting, no predictor.
        assert_eq!(
            estimate_memory_with((100, 67), 64, Paintings::one_at_a_time(&[], 2048)),
            estimate_memory((100, 67), 64, &[])
        );
        // A clip's estimate counts it too.
        let clip = |style_size| {
            estimate_clip_memory_with((100, 67), 64, Paintings::one_at_a_time(&styles, style_size))
                .total
        };
        assert_eq!(clip(2048) - clip(256), at(2048).total - at(256).total);
    }

    #[test]
    fn paintings_held_together_count_together() {
        // 16 paintings of 4000x4000, all decoded: 814 MB peak measured;
        // one at a time the largest alone counts.
        let styles = [(4000, 4000); 16];
        let held = estimate_memory_with((100, 67), 64, Paintings::all_held(&styles, 256));
        let one = estimate_memory_with((100, 67), 64, Paintings::one_at_a_time(&styles, 256));
        assert!(held.at_own_size >= 16 * 3 * 16_000_000, "{held:?}");
        assert_eq!(one, estimate_memory((100, 67), 64, &styles));
        assert!(one.at_own_size < 2 * 10 * 16_000_000, "{one:?}");
        // And with the photo (a frame) beside them.
        let clip = estimate_clip_memory_with((1920, 1080), 256, Paintings::all_held(&styles, 256));
        assert!(clip.at_own_size >= held.at_own_size + 10 * 1920 * 1080);
        let huge = [(u32::MAX, u32::MAX); 3];
        assert_eq!(
            estimate_memory_with((1, 1), 16, Paintings::all_held(&huge, 2048)).total,
            u64::MAX
        );
    }

    #[test]
    fn the_largest_size_within_a_limit_is_the_last_that_fits() {
        let photo = (3000, 2000);
        let limit = 1 << 30;
        let need =
            |styles: &'static [(u32, u32)]| move |size| estimate_memory(photo, size, styles).total;
        let Some(size) = largest_size_within(limit, 16, 8192, need(&[])) else {
            panic!("nothing fits 1 GiB");
        };
        assert!(estimate_memory(photo, size, &[]).total <= limit);
        assert!(estimate_memory(photo, size + 1, &[]).total > limit);
        // Never under the least asked for (the networks' least for the
        // photo's shape): a limit that only a smaller size meets is none.
        let tiny = estimate_memory(photo, 20, &[]).total;
        assert_eq!(largest_size_within(tiny, 16, 8192, need(&[])), Some(20));
        assert_eq!(largest_size_within(tiny, 24, 8192, need(&[])), None);
        // Capped at the size asked for, when that fits.
        assert_eq!(largest_size_within(limit, 16, 512, need(&[])), Some(512));
        // Nothing fits when the photo at its own size is over the limit,
        // or a painting.
        assert_eq!(largest_size_within(64 << 20, 16, 8192, need(&[])), None);
        assert_eq!(
            largest_size_within(limit, 16, 512, need(&[(20000, 20000)])),
            None
        );
        // A clip holds more a working pixel, and each painting scaled back
        // to the frames' size.
        let (frame, clip) = (
            estimate_memory((1920, 1080), 1920, &[]),
            estimate_clip_memory((1920, 1080), 1920, &[]),
        );
        assert!(clip.total > frame.total + 150_000_000, "{clip:?} {frame:?}");
        assert_eq!(clip.at_own_size, frame.at_own_size + 12 * 1920 * 1080);
    }
}
