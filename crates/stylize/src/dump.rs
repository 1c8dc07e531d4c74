//! A run's inputs and outputs as NumPy `.npy` arrays and JSON (the CLI's
//! `--dump DIR`), so that an independent implementation
//! (`reference/torch_nst.py`, `bench/torch_step.py`) can recompute the costs
//! and gradient from exactly the same pixels.

use std::path::Path;

use image::Rgb32FImage;
use serde_json::json;

use crate::config::{LineSearch, StyleConfig};
use crate::error::{Error, Result};
use crate::image_io::{to_planar, write_atomic};
use crate::objective::CostValues;
use crate::preprocess::Preprocess;
use crate::problem::Problem;
use crate::stylizer::Stylized;
use crate::weights::VggWeights;

/// The names of the files a dump of a run with `styles` paintings writes,
/// [`write_start`]'s and [`write_final`]'s.
pub fn file_names(styles: usize) -> Vec<String> {
    let mut names: Vec<String> = ["content.npy", "init.npy", "grad.npy", "start.json"]
        .into_iter()
        .map(String::from)
        .collect();
    names.extend((0..styles).map(|k| format!("style_{k}.npy")));
    names.extend(["final.npy", "final.json"].map(String::from));
    names
}

/// Writes `content.npy`, `style_K.npy`, `init.npy`, `grad.npy` (the
/// gradient of the total cost at the initial image) and `start.json` (the
/// costs there, and the settings) into the existing folder `dir`.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written, [`Error::Device`] when
/// the evaluation fails.
pub fn write_start(
    dir: &Path,
    problem: &Problem<'_>,
    config: &StyleConfig,
    weights: &VggWeights,
) -> Result<()> {
    write_image(&dir.join("content.npy"), &problem.content)?;
    for (k, s) in problem.styles.iter().enumerate() {
        write_image(&dir.join(format!("style_{k}.npy")), s)?;
    }
    write_image(&dir.join("init.npy"), &problem.init)?;
    let (costs, grad) = problem.evaluate(&problem.init)?;
    let (w, h) = problem.init.dimensions();
    write_npy(
        &dir.join("grad.npy"),
        &[1, 3, h as usize, w as usize],
        &grad,
    )?;
    let preprocess = match weights.preprocess {
        Preprocess::Caffe { mean_bgr } => json!({"kind": "caffe", "mean_bgr": mean_bgr}),
        Preprocess::Torch { mean, std } => json!({"kind": "torch", "mean": mean, "std": std}),
    };
    let style_layers: Vec<_> = problem
        .layers
        .style
        .iter()
        .map(|(l, w)| json!([l.to_string(), w]))
        .collect();
    let mut start = costs_json(&costs);
    let extra = json!({
        "alpha": config.alpha,
        "beta": config.beta,
        "tv_weight": config.tv_weight,
        "content_layer": problem.layers.content.to_string(),
        "style_layers": style_layers,
        "style_blend": problem.blend,
        "pooling": config.pooling.to_string(),
        "preprocess": preprocess,
        "weights": weights.path.display().to_string(),
        "architecture": weights.arch.to_string(),
        "optimizer": config.optimizer.to_string(),
        "iterations": config.iterations,
        "learning_rate": config.effective_learning_rate(),
        "lbfgs_history": config.lbfgs_history,
        "line_search": match config.line_search {
            LineSearch::None => "none",
            LineSearch::StrongWolfe => "strong_wolfe",
        },
        "lbfgs_bounds": config.lbfgs_bounds.to_string(),
    });
    if let (Some(a), Some(b)) = (start.as_object_mut(), extra.as_object()) {
        a.extend(b.clone());
    }
    write_json(&dir.join("start.json"), &start)
}

/// Writes `final.npy` (the working-size result) and `final.json` (its
/// costs, iterations and evaluations).
///
/// # Errors
/// [`Error::Io`] when a file cannot be written.
pub fn write_final(dir: &Path, result: &Stylized) -> Result<()> {
    write_image(&dir.join("final.npy"), &result.working_image)?;
    let mut j = costs_json(&result.final_costs);
    if let Some(o) = j.as_object_mut() {
        o.insert("iterations".into(), json!(result.iterations));
        o.insert("evaluations".into(), json!(result.evaluations));
    }
    write_json(&dir.join("final.json"), &j)
}

fn costs_json(c: &CostValues) -> serde_json::Value {
    json!({"content": c.content, "style": c.style, "tv": c.tv, "total": c.total})
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::io(path, std::io::Error::other(e)))?;
    write_atomic(path, text.as_bytes())
}

/// An RGB image as a float32 `[1, 3, H, W]` array.
fn write_image(path: &Path, img: &Rgb32FImage) -> Result<()> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    write_npy(path, &[1, 3, h, w], &to_planar(img))
}

/// NumPy format version 1.0, little-endian float32, C order.
fn write_npy(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
    );
    // Magic (6) + version (2) + length (2) + header + '\n', padded to 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    let len = u16::try_from(header.len())
        .map_err(|_| Error::io(path, std::io::Error::other("npy header too long")))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    write_atomic(path, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_parsable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_npy(&p, &[1, 3, 2, 2], &[0.5; 12]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        assert!(header.contains("'shape': (1, 3, 2, 2,)"), "{header}");
        assert_eq!(bytes.len(), 10 + hlen + 48);
        assert_eq!(&bytes[10 + hlen..10 + hlen + 4], &0.5f32.to_le_bytes());
    }
}
