//! A contact sheet: every content photo of `assets/images` painted in every
//! style, one image. The first row shows the styles, the first column the
//! photos. Used for the README's gallery (`scripts/contact-sheet`).
//!
//! ```text
//! cargo run --release --example contact_sheet -- WEIGHTS OUT.jpg [SIZE] [ITERATIONS] [PRESET]
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use image::imageops::FilterType;
use image::{DynamicImage, Rgb, RgbImage};
use stylize::{load_image, load_vgg_weights, save_image, NoObserver, StyleConfig, Stylizer};

const CONTENTS: [&str; 3] = ["chelsea.jpg", "balloon.jpg", "coffee.jpg"];
const STYLES: [&str; 3] = ["starry_night.jpg", "great_wave.jpg", "udnie.jpg"];
/// Each cell's size; images are fitted inside it on a dark background.
const CELL: u32 = 240;
const GAP: u32 = 6;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [weights, out, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: contact_sheet WEIGHTS OUT.jpg [SIZE=256] [ITERATIONS=100] [PRESET=gatys|seed]"
                .into(),
        );
    };
    let size: u32 = rest.first().map_or(Ok(256), |s| s.parse())?;
    let iterations: usize = rest.get(1).map_or(Ok(100), |s| s.parse())?;
    let config = match rest.get(2).map(String::as_str) {
        None | Some("gatys") => StyleConfig::gatys(),
        Some("seed") => StyleConfig::seed(),
        Some(p) => return Err(format!("unknown preset {p}").into()),
    }
    .with_size(size)
    .with_iterations(iterations);
    let assets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/images");
    let load = |name: &str| load_image(&assets.join(name));
    let stylizer = Stylizer::new(&load_vgg_weights(Path::new(weights), None)?);
    let styles = STYLES
        .iter()
        .map(|s| load(s))
        .collect::<Result<Vec<_>, _>>()?;
    let n = CONTENTS.len() as u32 + 1;
    let m = STYLES.len() as u32 + 1;
    let mut sheet = RgbImage::from_pixel(
        m * CELL + (m + 1) * GAP,
        n * CELL + (n + 1) * GAP,
        Rgb([24, 24, 24]),
    );
    for (j, style) in styles.iter().enumerate() {
        place(&mut sheet, style, 0, j as u32 + 1);
    }
    for (i, name) in CONTENTS.iter().enumerate() {
        let content = load(name)?;
        place(&mut sheet, &content, i as u32 + 1, 0);
        for (j, style) in styles.iter().enumerate() {
            let start = Instant::now();
            let out = stylizer.stylize(
                &content,
                std::slice::from_ref(style),
                &config,
                &mut NoObserver,
            )?;
            eprintln!(
                "{name} x {}: total cost {:.3e} in {:.0} s",
                STYLES[j],
                out.final_costs.total,
                start.elapsed().as_secs_f64()
            );
            place(&mut sheet, &out.image, i as u32 + 1, j as u32 + 1);
        }
    }
    save_image(&DynamicImage::ImageRgb8(sheet), Path::new(out))?;
    eprintln!("wrote {out}");
    Ok(())
}

/// Fits `img` into cell (`row`, `col`), centred.
fn place(sheet: &mut RgbImage, img: &DynamicImage, row: u32, col: u32) {
    let fitted = img.resize(CELL, CELL, FilterType::Lanczos3).to_rgb8();
    let x = GAP + col * (CELL + GAP) + (CELL - fitted.width()) / 2;
    let y = GAP + row * (CELL + GAP) + (CELL - fitted.height()) / 2;
    image::imageops::replace(sheet, &fitted, i64::from(x), i64::from(y));
}
