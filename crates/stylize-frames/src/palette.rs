//! One palette for a whole clip (GIF), and mapping frames onto it.
//!
//! When the clip has at most 256 distinct colours they are the palette and
//! frames map exactly. Otherwise NeuQuant (`color_quant`, MIT) learns 256
//! colours from up to [`SAMPLE_BUDGET`] pixels spread evenly over all
//! frames, so every frame shares the palette and colours do not flicker
//! from frame to frame. Frames then map to the nearest palette colour,
//! optionally after ordered dithering: an 8x8 Bayer threshold of
//! +-[`DITHER_SPREAD`]/2 levels added to each channel. Ordered dithering
//! is used rather than error diffusion because its pattern is fixed in
//! place: still areas stay still from frame to frame instead of crawling.

use std::collections::HashMap;

use color_quant::NeuQuant;

use crate::error::Result;
use crate::frame::Frame;
use crate::spill::Spill;

/// Pixels NeuQuant learns from, at most.
const SAMPLE_BUDGET: u64 = 1 << 20;
/// NeuQuant's sampling factor (1: looks at every sample; 30: fastest).
const NEUQUANT_SAMPLEFAC: i32 = 3;
/// Peak-to-peak amplitude of the ordered dither, in 8-bit levels.
const DITHER_SPREAD: f32 = 12.0;

const BAYER8: [[u8; 8]; 8] = [
    [0, 32, 8, 40, 2, 34, 10, 42],
    [48, 16, 56, 24, 50, 18, 58, 26],
    [12, 44, 4, 36, 14, 46, 6, 38],
    [60, 28, 52, 20, 62, 30, 54, 22],
    [3, 35, 11, 43, 1, 33, 9, 41],
    [51, 19, 59, 27, 49, 17, 57, 25],
    [15, 47, 7, 39, 13, 45, 5, 37],
    [63, 31, 55, 23, 61, 29, 53, 21],
];

/// A palette of at most 256 colours and the way to map onto it.
pub(crate) enum Palette {
    /// Every colour of the clip.
    Exact {
        rgb: Vec<u8>,
        index: HashMap<[u8; 3], u8>,
    },
    /// 256 learned colours.
    Learned(Box<NeuQuant>),
}

impl Palette {
    /// Reads every frame of `spill` once to build the palette.
    pub(crate) fn build(spill: &mut Spill) -> Result<Palette> {
        let (w, h) = spill.size();
        let total = spill.len() * u64::from(w) * u64::from(h);
        let stride = total.div_ceil(SAMPLE_BUDGET).max(1);
        let mut samples: Vec<u8> =
            Vec::with_capacity((total / stride + 1).min(SAMPLE_BUDGET + 1) as usize * 4);
        let mut distinct: Option<HashMap<[u8; 3], u8>> = Some(HashMap::new());
        // Global index of the next sample: one per block of `stride`
        // pixels, at a pseudo-random place in its block.
        let mut block = 0u64;
        let mut next = jitter(0, stride);
        let mut index = 0u64;
        spill.for_each(|_, frame| {
            for p in frame.pixels() {
                if let Some(set) = &mut distinct {
                    if !set.contains_key(&p.0) {
                        if set.len() == 256 {
                            distinct = None;
                        } else {
                            let i = set.len() as u8;
                            set.insert(p.0, i);
                        }
                    }
                }
                if index == next {
                    samples.extend_from_slice(&[p[0], p[1], p[2], 255]);
                    block += 1;
                    next = block * stride + jitter(block, stride);
                }
                index += 1;
            }
            Ok(())
        })?;
        if let Some(index) = distinct {
            let mut rgb = vec![0u8; index.len() * 3];
            for (c, &i) in &index {
                let i = usize::from(i) * 3;
                rgb[i..i + 3].copy_from_slice(c);
            }
            return Ok(Palette::Exact { rgb, index });
        }
        Ok(Palette::Learned(Box::new(NeuQuant::new(
            NEUQUANT_SAMPLEFAC,
            256,
            &samples,
        ))))
    }

    /// `[r, g, b, ...]` of the palette's colours.
    pub(crate) fn rgb(&self) -> Vec<u8> {
        match self {
            Palette::Exact { rgb, .. } => rgb.clone(),
            Palette::Learned(nq) => nq.color_map_rgb(),
        }
    }

    /// Palette indices of `frame`'s pixels; `dither` applies to learned
    /// palettes only (exact ones need none).
    pub(crate) fn map(&self, frame: &Frame, dither: bool) -> Vec<u8> {
        match self {
            Palette::Exact { index, .. } => frame
                .pixels()
                .map(|p| index.get(&p.0).copied().unwrap_or(0))
                .collect(),
            Palette::Learned(nq) => frame
                .enumerate_pixels()
                .map(|(x, y, p)| {
                    let rgba = if dither {
                        let t = f32::from(BAYER8[(y % 8) as usize][(x % 8) as usize]);
                        let offset = ((t + 0.5) / 64.0 - 0.5) * DITHER_SPREAD;
                        let d = |v: u8| crate::yuv::to_u8(f32::from(v) + offset);
                        [d(p[0]), d(p[1]), d(p[2]), 255]
                    } else {
                        [p[0], p[1], p[2], 255]
                    };
                    // NeuQuant has 256 entries, so indices fit a u8.
                    nq.index_of(&rgba) as u8
                })
                .collect(),
        }
    }
}

/// A pseudo-random offset in `0..stride` for sample block `block`.
fn jitter(block: u64, stride: u64) -> u64 {
    if stride <= 1 {
        return 0;
    }
    // splitmix64
    let mut z = block.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % stride
}
