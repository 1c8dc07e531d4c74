//! The 26 built-in styles on one photo, numbered: a menu for `--builtin`.

use std::ops::ControlFlow;

use image::{imageops, Rgb, Rgb32FImage};

use crate::error::{Error, Result};
use crate::fast_stylizer::{FastOptions, FastStyle, FastStylizer};
use crate::style_mix::{StyleMix, BUILTIN_STYLES};

/// Tiles per row: the photo and 26 styles fill four rows of seven.
const COLUMNS: u32 = 7;
/// Gap between tiles, px.
const GAP: u32 = 4;
/// A label's pixel size (one font dot).
const DOT: u32 = 3;

/// 3x5 dot digits, rows top to bottom, bit 2 the left column.
const DIGITS: [[u8; 5]; 10] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 1, 1],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
];

/// Bytes a sheet of `tile`-sized tiles holds besides the networks' run on
/// one tile ([`estimate_memory`](crate::estimate_memory)): the sheet in
/// floats and its 8-bit copy as it is written.
pub fn sheet_bytes((tw, th): (u32, u32)) -> u64 {
    let rows = (BUILTIN_STYLES as u64 + 1).div_ceil(u64::from(COLUMNS));
    let side = |n: u64, tile: u32| (u64::from(tile) + u64::from(GAP)) * n + u64::from(GAP);
    let pixels = side(u64::from(COLUMNS), tw).saturating_mul(side(rows, th));
    pixels.saturating_mul(12 + 3)
}

/// A contact sheet: `photo` (its size is each tile's) followed by each
/// built-in style applied to it, labelled with the style's number, on a
/// dark background, seven tiles a row. `on_tile` hears of each finished
/// style (its number) and may stop the sheet there: then `Ok(None)` (a
/// stop at the last style keeps the finished sheet).
///
/// # Errors
/// As [`FastStylizer::stylize`] with a built-in style:
/// [`Error::Parameter`](crate::Error::Parameter) when `options` is out of
/// range; [`Error::ImageTooSmall`](crate::Error::ImageTooSmall) when
/// `photo` is under [`MIN_SIDE`](crate::MIN_SIDE) px on a side, both
/// before the sheet (about 28 times the photo's pixels) is made; and
/// [`Error::Parameter`](crate::Error::Parameter) (`photo`) when the sheet's
/// sides would not fit in a `u32`.
pub fn builtin_sheet(
    fast: &FastStylizer,
    photo: &Rgb32FImage,
    options: &FastOptions,
    mut on_tile: impl FnMut(usize) -> ControlFlow<()>,
) -> Result<Option<Rgb32FImage>> {
    let (tw, th) = photo.dimensions();
    let rows = (BUILTIN_STYLES as u32 + 1).div_ceil(COLUMNS);
    let side = |n: u32, tile: u32| {
        tile.checked_add(GAP)
            .and_then(|t| t.checked_mul(n))
            .and_then(|s| s.checked_add(GAP))
    };
    let (Some(sw), Some(sh)) = (side(COLUMNS, tw), side(rows, th)) else {
        return Err(Error::Parameter {
            name: "photo",
            reason: format!("{tw}x{th} px is too large for a sheet of {COLUMNS}x{rows} tiles"),
        });
    };
    let place = |sheet: &mut Rgb32FImage, cell: u32, tile: &Rgb32FImage| {
        let x = GAP + (cell % COLUMNS) * (tw + GAP);
        let y = GAP + (cell / COLUMNS) * (th + GAP);
        imageops::replace(sheet, tile, i64::from(x), i64::from(y));
    };
    // Made once the first style has run, so that bad options or a photo
    // too small are refused before the sheet's memory is taken.
    let mut sheet: Option<Rgb32FImage> = None;
    for index in 0..BUILTIN_STYLES {
        let style = FastStyle::Builtin(StyleMix::single(index)?);
        let mut tile = fast.stylize(photo, &style, options)?;
        label(&mut tile, index);
        let sheet = sheet.get_or_insert_with(|| {
            let mut sheet = Rgb32FImage::from_pixel(sw, sh, Rgb([0.08, 0.08, 0.08]));
            place(&mut sheet, 0, photo);
            sheet
        });
        place(sheet, index as u32 + 1, &tile);
        // A stop during the last style keeps the finished sheet.
        if on_tile(index).is_break() && index + 1 < BUILTIN_STYLES {
            return Ok(None);
        }
    }
    Ok(sheet)
}

/// Writes `number` in white on a black box in the tile's top-left corner.
fn label(tile: &mut Rgb32FImage, number: usize) {
    let text = number.to_string();
    let box_w = (text.len() as u32 * 4 + 1) * DOT;
    let box_h = 7 * DOT;
    let (w, h) = tile.dimensions();
    for y in 0..box_h.min(h) {
        for x in 0..box_w.min(w) {
            tile.put_pixel(x, y, Rgb([0.0, 0.0, 0.0]));
        }
    }
    for (i, ch) in text.bytes().enumerate() {
        let glyph = DIGITS[usize::from(ch - b'0')];
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..3u32 {
                if bits & (4 >> col) == 0 {
                    continue;
                }
                let x0 = (1 + i as u32 * 4 + col) * DOT;
                let y0 = (1 + row as u32) * DOT;
                for y in y0..(y0 + DOT).min(h) {
                    for x in x0..(x0 + DOT).min(w) {
                        tile.put_pixel(x, y, Rgb([1.0, 1.0, 1.0]));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn labels_draw_the_digits() {
        let mut tile = Rgb32FImage::from_pixel(60, 40, Rgb([0.5, 0.5, 0.5]));
        label(&mut tile, 18);
        // "1": its middle column is lit on every row; its left column only
        // on the second row.
        let lit = |x: u32, y: u32| tile.get_pixel(x * DOT + 1, y * DOT + 1)[0] == 1.0;
        assert!((1..=5).all(|r| lit(2, r)));
        assert!(lit(1, 2) && !lit(1, 3));
        // "8": a full top row at dots 5..7.
        assert!((5..8).all(|c| lit(c, 1)));
        // The box is black, the rest untouched.
        assert_eq!(tile.get_pixel(0, 0)[0], 0.0);
        assert_eq!(tile.get_pixel(59, 39)[0], 0.5);
    }
}
