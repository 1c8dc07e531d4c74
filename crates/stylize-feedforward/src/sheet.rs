//! Contact sheets: the 26 built-in styles on one photo, numbered (a menu
//! for `--builtin`), or any number of paintings on it, each numbered and
//! shown in its tile's corner (a way to try a folder of paintings at once).

use std::ops::ControlFlow;

use image::{imageops, DynamicImage, Rgb, Rgb32FImage};

use crate::error::{Error, Result};
use crate::fast_stylizer::{FastOptions, FastStyle, FastStylizer};
use crate::style_mix::{StyleMix, BUILTIN_STYLES};

/// How wide a sheet may grow beyond a square: up to this many columns
/// when that leaves fewer cells empty (the photo and 26 styles fill four
/// rows of seven); past 49 cells the columns follow the square root.
const MAX_COLUMNS: u32 = 7;
/// Gap between tiles, px.
const GAP: u32 = 4;
/// A label's pixel size (one font dot).
const DOT: u32 = 3;
/// The sheet's background.
const BACKGROUND: Rgb<f32> = Rgb([0.08, 0.08, 0.08]);

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

/// Where a sheet's tiles go: the photo first, then each style, in rows
/// of `columns`, with [`GAP`] px around each tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grid {
    tile: (u32, u32),
    columns: u32,
    rows: u32,
}

impl Grid {
    /// The grid of `cells` tiles of `tile` size: the number of columns,
    /// from about the square root of the cells up to [`MAX_COLUMNS`], that
    /// leaves the fewest cells empty (the fewer columns on a tie), so 27
    /// cells are four rows of seven and 3 one row.
    fn new(tile: (u32, u32), cells: u32) -> Grid {
        let cells = cells.max(1);
        let wide = u64::from(cells);
        let least = (1..=cells)
            .find(|c| u64::from(*c) * u64::from(*c) >= wide)
            .unwrap_or(cells);
        let most = least.max(MAX_COLUMNS.min(cells));
        let columns = (least..=most)
            .min_by_key(|c| wide.div_ceil(u64::from(*c)) * u64::from(*c) - wide)
            .unwrap_or(least);
        Grid {
            tile,
            columns,
            rows: cells.div_ceil(columns),
        }
    }

    /// The sheet's width and height, `None` past `u32`.
    fn size(&self) -> Option<(u32, u32)> {
        let side = |n: u32, tile: u32| {
            tile.checked_add(GAP)
                .and_then(|t| t.checked_mul(n))
                .and_then(|s| s.checked_add(GAP))
        };
        Some((
            side(self.columns, self.tile.0)?,
            side(self.rows, self.tile.1)?,
        ))
    }

    /// The sheet's pixels, saturating.
    fn pixels(&self) -> u64 {
        let side =
            |n: u32, tile: u32| (u64::from(tile) + u64::from(GAP)) * u64::from(n) + u64::from(GAP);
        side(self.columns, self.tile.0).saturating_mul(side(self.rows, self.tile.1))
    }

    /// A sheet of the grid's size on the background, the photo in the
    /// first cell; [`Error::Parameter`] (`photo`) when its sides would not
    /// fit in a `u32`.
    fn sheet(&self, photo: &Rgb32FImage) -> Result<Rgb32FImage> {
        let Some((sw, sh)) = self.size() else {
            let (tw, th) = self.tile;
            return Err(Error::Parameter {
                name: "photo",
                reason: format!(
                    "{tw}x{th} px is too large for a sheet of {}x{} tiles",
                    self.columns, self.rows
                ),
            });
        };
        let mut sheet = Rgb32FImage::from_pixel(sw, sh, BACKGROUND);
        self.place(&mut sheet, 0, photo);
        Ok(sheet)
    }

    /// Puts `tile` into cell number `cell` (row by row) of `sheet`.
    fn place(&self, sheet: &mut Rgb32FImage, cell: u32, tile: &Rgb32FImage) {
        let (tw, th) = self.tile;
        let x = u64::from(GAP) + u64::from(cell % self.columns) * u64::from(tw + GAP);
        let y = u64::from(GAP) + u64::from(cell / self.columns) * u64::from(th + GAP);
        imageops::replace(sheet, tile, x as i64, y as i64);
    }
}

/// The width and height of a sheet of the photo and `styles` tiles of
/// `tile` size (what [`builtin_sheet`] and [`painting_sheet`] make), for a
/// caller to check its output format can hold it before the work; `None`
/// when a side would not fit in a `u32` (the sheets refuse that too).
pub fn sheet_size(tile: (u32, u32), styles: usize) -> Option<(u32, u32)> {
    let cells = u32::try_from(styles.saturating_add(1)).unwrap_or(u32::MAX);
    Grid::new(tile, cells).size()
}

/// Bytes a sheet of the photo and `styles` tiles of `tile` size holds
/// besides the networks' run on one tile
/// ([`estimate_memory`](crate::estimate_memory)): the sheet in floats and
/// its 8-bit copy as it is written. [`builtin_sheet`] has
/// [`BUILTIN_STYLES`] styles; [`painting_sheet`] one per painting.
pub fn sheet_bytes(tile: (u32, u32), styles: usize) -> u64 {
    let cells = u32::try_from(styles.saturating_add(1)).unwrap_or(u32::MAX);
    Grid::new(tile, cells).pixels().saturating_mul(12 + 3)
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
    on_tile: impl FnMut(usize) -> ControlFlow<()>,
) -> Result<Option<Rgb32FImage>> {
    fill(photo, BUILTIN_STYLES, on_tile, |index| {
        let style = FastStyle::Builtin(StyleMix::single(index)?);
        let mut tile = fast.stylize(photo, &style, options)?;
        label(&mut tile, index);
        Ok(tile)
    })
}

/// A contact sheet of paintings: `photo` (its size is each tile's)
/// followed by `count` paintings applied to it (the arbitrary network,
/// each painting's own style vector at `options.style_size`), each tile
/// numbered from 1 and showing its painting, small, in the bottom-right
/// corner; on a dark background, in rows as [`sheet_size`] lays them out. `painting(i)` gives
/// painting `i` (0-based) as its turn comes, so only one is held at a
/// time; `on_tile(i)` hears of each finished tile and may stop the sheet
/// there: then `Ok(None)` (a stop at the last keeps the finished sheet).
///
/// # Errors
/// `painting`'s own errors; as [`FastStylizer::style_vector`] and
/// [`FastStylizer::stylize`] for each painting (a painting or a photo
/// under [`MIN_SIDE`](crate::MIN_SIDE) px, options out of range), the
/// first of them before the sheet's memory is taken;
/// [`Error::Parameter`](crate::Error::Parameter) (`paintings`) when
/// `count` is 0, and (`photo`) when the sheet's sides would not fit in a
/// `u32`.
pub fn painting_sheet<E: From<Error>>(
    fast: &FastStylizer,
    photo: &Rgb32FImage,
    options: &FastOptions,
    count: usize,
    mut painting: impl FnMut(usize) -> std::result::Result<DynamicImage, E>,
    on_tile: impl FnMut(usize) -> ControlFlow<()>,
) -> std::result::Result<Option<Rgb32FImage>, E> {
    if count == 0 {
        return Err(Error::Parameter {
            name: "paintings",
            reason: "a sheet needs at least one painting".to_string(),
        }
        .into());
    }
    fill(photo, count, on_tile, |index| {
        let image = painting(index)?;
        let style = fast.blended_style(&[(&image, 1.0)], options.style_size)?;
        let mut tile = fast.stylize(photo, &style, options)?;
        inset(&mut tile, &image);
        label(&mut tile, index + 1);
        Ok(tile)
    })
}

/// A sheet of `photo` and `count` tiles of its size, tile `i` (0-based)
/// made by `tile(i)` and placed after the photo. The sheet is made once
/// the first tile is, so that the first tile's errors (bad options, a
/// photo too small) come before the sheet's memory is taken. `on_tile(i)`
/// hears of each placed tile and may stop the sheet there: `Ok(None)`,
/// unless it was the last.
fn fill<E: From<Error>>(
    photo: &Rgb32FImage,
    count: usize,
    mut on_tile: impl FnMut(usize) -> ControlFlow<()>,
    mut tile: impl FnMut(usize) -> std::result::Result<Rgb32FImage, E>,
) -> std::result::Result<Option<Rgb32FImage>, E> {
    let cells = u32::try_from(count.saturating_add(1)).unwrap_or(u32::MAX);
    let grid = Grid::new(photo.dimensions(), cells);
    let mut sheet: Option<Rgb32FImage> = None;
    for index in 0..count {
        let tile = tile(index)?;
        let sheet = match &mut sheet {
            Some(sheet) => sheet,
            None => sheet.insert(grid.sheet(photo)?),
        };
        grid.place(sheet, index as u32 + 1, &tile);
        if on_tile(index).is_break() && index + 1 < count {
            return Ok(None);
        }
    }
    Ok(sheet)
}

/// Draws `painting`, scaled to fit a third of the tile's shorter side, in
/// the tile's bottom-right corner on a frame of the sheet's background
/// (nothing on a tile too small to show it).
fn inset(tile: &mut Rgb32FImage, painting: &DynamicImage) {
    let (w, h) = tile.dimensions();
    let side = w.min(h) / 3;
    let frame = 2;
    if side < 8 + 2 * frame {
        return;
    }
    let small =
        stylize_frames::to_rgb32f_on_white(&painting.thumbnail(side - 2 * frame, side - 2 * frame));
    let (sw, sh) = small.dimensions();
    let (x0, y0) = (w - sw - 2 * frame, h - sh - 2 * frame);
    for y in y0..h {
        for x in x0..w {
            tile.put_pixel(x, y, BACKGROUND);
        }
    }
    imageops::replace(tile, &small, i64::from(x0 + frame), i64::from(y0 + frame));
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
    fn grids_leave_few_cells_empty() {
        let shape = |cells| {
            let g = Grid::new((10, 10), cells);
            (g.columns, g.rows)
        };
        // The built-in sheet: the photo and 26 styles, four rows of seven.
        assert_eq!(shape(27), (7, 4));
        assert_eq!(shape(1), (1, 1));
        assert_eq!(shape(2), (2, 1));
        assert_eq!(shape(3), (3, 1));
        assert_eq!(shape(4), (2, 2));
        assert_eq!(shape(6), (3, 2));
        assert_eq!(shape(10), (5, 2));
        assert_eq!(shape(11), (4, 3));
        // Past 49 cells, rows grow as a square does.
        assert_eq!(shape(101), (11, 10));
        for cells in 1..200 {
            let (c, r) = shape(cells);
            assert!(c * r >= cells && c * (r - 1) < cells, "{cells}: {c}x{r}");
        }
        // Sides: tiles and 4 px gaps; too large for u32 is None.
        assert_eq!(Grid::new((48, 32), 27).size(), Some((368, 148)));
        assert_eq!(Grid::new((u32::MAX / 2, 8), 3).size(), None);
        assert_eq!(sheet_size((48, 32), BUILTIN_STYLES), Some((368, 148)));
        // No overflow at the extremes.
        let huge = Grid::new((1, 1), u32::MAX);
        assert!(u64::from(huge.columns) * u64::from(huge.rows) >= u64::from(u32::MAX));
        assert!(sheet_bytes((4, 4), usize::MAX) > 0);
        assert_eq!(
            sheet_bytes((48, 32), BUILTIN_STYLES),
            368 * 148 * 15,
            "floats and the 8-bit copy"
        );
    }

    #[test]
    fn the_inset_shows_the_painting_in_the_corner_on_a_frame() {
        let mut tile = Rgb32FImage::from_pixel(90, 60, Rgb([0.5, 0.5, 0.5]));
        // A 2:1 painting, red: fits 16 px wide (a third of 60, less the
        // 2 px frame each side), so 16x8.
        let painting =
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(40, 20, image::Rgb([255, 0, 0])));
        inset(&mut tile, &painting);
        assert_eq!(*tile.get_pixel(89, 59), BACKGROUND);
        assert_eq!(tile.get_pixel(90 - 3, 60 - 3)[0], 1.0);
        assert_eq!(tile.get_pixel(90 - 2 - 16, 60 - 2 - 8)[0], 1.0);
        assert_eq!(*tile.get_pixel(90 - 2 - 17, 60 - 2 - 8), BACKGROUND);
        assert_eq!(
            *tile.get_pixel(90 - 4 - 17, 60 - 2 - 8),
            Rgb([0.5, 0.5, 0.5])
        );
        assert_eq!(*tile.get_pixel(0, 0), Rgb([0.5, 0.5, 0.5]));
        // Too small a tile shows no inset.
        let mut tiny = Rgb32FImage::from_pixel(30, 30, Rgb([0.5, 0.5, 0.5]));
        inset(&mut tiny, &painting);
        assert!(tiny.pixels().all(|p| *p == Rgb([0.5, 0.5, 0.5])));
    }

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
