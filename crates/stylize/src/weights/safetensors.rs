//! safetensors files (`*.safetensors`), read with the `safetensors` crate.

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::weights::raw::{bf16_to_f32, f16_to_f32, RawTensor};

/// The header's `__metadata__` entries.
pub type Metadata = Vec<(String, String)>;

/// Reads every floating-point tensor of a safetensors file, sorted by name
/// (the format keeps no order), plus the header's `__metadata__` map.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::WeightsFormat`] when
/// the header is malformed or a tensor has an unsupported dtype.
pub fn read_safetensors(path: &Path) -> Result<(Vec<RawTensor>, Metadata)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| Error::weights_format_from(path, "not a safetensors file", e))?;
    let metadata: Vec<(String, String)> = meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::weights_format_from(path, "not a safetensors file", e))?;
    let mut names = st.names();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let view = st
            .tensor(name)
            .map_err(|e| Error::weights_format_from(path, format!("tensor `{name}`"), e))?;
        let data = match view.dtype() {
            Dtype::F32 => decode(view.data(), 4, |b| {
                f32::from_le_bytes([b[0], b[1], b[2], b[3]])
            }),
            Dtype::F64 => decode(view.data(), 8, |b| {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }),
            Dtype::F16 => decode(view.data(), 2, |b| {
                f16_to_f32(u16::from_le_bytes([b[0], b[1]]))
            }),
            Dtype::BF16 => decode(view.data(), 2, |b| {
                bf16_to_f32(u16::from_le_bytes([b[0], b[1]]))
            }),
            // Integer bookkeeping tensors (e.g. batch-norm counters) are not weights.
            _ => continue,
        };
        out.push(RawTensor {
            name: name.to_string(),
            shape: view.shape().to_vec(),
            data,
        });
    }
    Ok((out, metadata))
}

fn decode(bytes: &[u8], width: usize, f: impl Fn(&[u8]) -> f32) -> Vec<f32> {
    bytes.chunks_exact(width).map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;
    use std::collections::HashMap;

    #[test]
    fn reads_what_the_safetensors_crate_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let a: Vec<u8> = [1.5f32, -2.0, 3.25, 0.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let b: Vec<u8> = [0x3c00u16, 0xc000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut tensors = HashMap::new();
        tensors.insert(
            "b.weight",
            TensorView::new(Dtype::F16, vec![2], &b).unwrap(),
        );
        tensors.insert(
            "a.weight",
            TensorView::new(Dtype::F32, vec![2, 2], &a).unwrap(),
        );
        let meta = HashMap::from([("stylize.preprocess".to_string(), "caffe".to_string())]);
        safetensors::serialize_to_file(tensors, Some(meta), &path).unwrap();
        let (t, m) = read_safetensors(&path).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name, "a.weight");
        assert_eq!(t[0].shape, vec![2, 2]);
        assert_eq!(t[0].data, vec![1.5, -2.0, 3.25, 0.0]);
        assert_eq!(t[1].data, vec![1.0, -2.0]);
        assert_eq!(m, vec![("stylize.preprocess".into(), "caffe".into())]);
    }

    #[test]
    fn truncated_file_is_a_format_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let a = [0u8; 64];
        let t = HashMap::from([("x", TensorView::new(Dtype::F32, vec![16], &a).unwrap())]);
        safetensors::serialize_to_file(t, None, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        let err = read_safetensors(&path).unwrap_err();
        assert!(matches!(err, Error::WeightsFormat { .. }), "{err}");
        assert!(err.to_string().contains("w.safetensors"), "{err}");
    }
}
