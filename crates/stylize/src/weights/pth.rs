//! Reader for PyTorch `.pth` state dicts (`torch.save(model.state_dict())`)
//! that never executes pickle code.
//!
//! A `.pth` file is a Python pickle of a dict `name -> tensor`, where every
//! tensor is pickled as a call `torch._utils._rebuild_tensor_v2(storage,
//! storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`
//! (older files: `_rebuild_tensor(storage, offset, size, stride)`; an
//! `nn.Parameter` adds a `_rebuild_parameter(tensor, requires_grad, hooks)`
//! around it). The storages are not in the pickle: each is referenced by a
//! *persistent id* tuple `('storage', torch.FloatStorage, key, location,
//! numel[, view_metadata])` and its raw bytes live elsewhere in the file:
//!
//! * **Zip format** (torch >= 1.6 default): a zip archive with one top-level
//!   folder `<prefix>/` holding `data.pkl` (the pickle), `data/<key>` (each
//!   storage's raw little-endian bytes, `numel * element_size` of them) and
//!   optionally `byteorder` (`little`; `big` is rejected).
//! * **Legacy format** (torch < 1.6, or `_use_new_zipfile_serialization=False`;
//!   e.g. torchvision's `vgg19-dcbb9e9d.pth`): five pickles back to back —
//!   the magic number `0x1950a86a20f9469cfc6c`, the protocol version `1001`,
//!   a `sys_info` dict, the main pickle, and a list of storage keys — then,
//!   for each key in that list's order, an 8-byte little-endian element count
//!   followed by the storage's raw bytes. A persistent id may carry
//!   `view_metadata = (view_key, offset, size)`: a slice of the root storage.
//!
//! Instead of `pickle`, a small stack machine interprets only the opcodes
//! that `torch.save` emits for a state dict (protocol 2, plus protocol 4's
//! short strings, `MEMOIZE`, `FRAME` and `STACK_GLOBAL`); sets, `INST`/`OBJ`,
//! extension codes, `NEWOBJ_EX` and out-of-band buffers are rejected by name,
//! with the byte offset. Function calls (`REDUCE`/`NEWOBJ`) are
//! evaluated symbolically and only for a whitelist of globals:
//! `collections.OrderedDict`, `torch._utils._rebuild_tensor[_v2]`,
//! `torch._utils._rebuild_parameter[_with_state]`, `torch.Size` (old files)
//! and the typed storages
//! `torch.{Double,Float,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage`.
//! Any other global (`os.system`, `builtins.eval`, ...) is an error naming it.
//! `BUILD` (`__setstate__`, e.g. an OrderedDict's `_metadata`) is ignored.
//!
//! Every storage type is converted to `f32`: integer tensors such as
//! BatchNorm's `num_batches_tracked` (a `LongStorage`) are returned too,
//! converted with `as f32` (exact up to 2^24). Entries of the top-level dict
//! that are not tensors are skipped. Strides and offsets are honoured, so
//! views (transposed, sliced, shared storages) come out as torch shows them.
//!
//! Robustness: lengths are checked before anything is allocated, values are
//! shared by reference counting (so `BINGET` cannot multiply memory), nested
//! containers are dropped iteratively (so deep nesting cannot overflow the
//! stack), and the total number of elements produced is limited to twice the
//! storage bytes plus 2^26 (only overlapping views could exceed it).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::weights::raw::{bf16_to_f32, f16_to_f32, RawTensor};

/// First pickle of a legacy file.
const LEGACY_MAGIC: i128 = 0x1950_a86a_20f9_469c_fc6c;
/// Second pickle of a legacy file.
const LEGACY_PROTOCOL: i128 = 1001;
/// Largest `data.pkl` we are willing to decompress.
const MAX_PICKLE_BYTES: u64 = 64 << 20;
/// Elements that overlapping views may add beyond twice the storage bytes.
const EXTRA_ELEMENTS: usize = 1 << 26;
/// The largest element count accepted for one storage (16 GiB of `f32`;
/// the Keras reader's limit too).
const MAX_STORAGE_ELEMENTS: u64 = 1 << 32;
/// The most bytes reserved before a zip entry is read: the size a zip
/// entry declares is the file's word, not a promise, so it only guides
/// the first allocation and the vector grows with what really arrives.
const MAX_PREALLOC_BYTES: u64 = 64 << 20;

/// Reads every tensor of a PyTorch state dict (`torch.save(model.state_dict())`), in file order.
pub fn read_pth(path: &Path) -> Result<Vec<RawTensor>> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = Vec::with_capacity(512);
    (&mut file)
        .take(512)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    file.rewind().map_err(|e| Error::io(path, e))?;

    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        read_zip(path, file)
    } else if head.first() == Some(&0x80) {
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .map_err(|e| Error::io(path, e))?;
        read_legacy(path, &data)
    } else if head.get(257..262) == Some(b"ustar") {
        Err(Error::weights_format(
            path,
            "tar-based checkpoint (torch < 0.1.10) is not supported; re-save it with a newer torch",
        ))
    } else {
        let start: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Err(Error::weights_format(
            path,
            format!(
                "not a PyTorch checkpoint: neither a zip archive nor a pickle (starts with bytes {})",
                start.join(" ")
            ),
        ))
    }
}

// ---------------------------------------------------------------------------
// The two container formats
// ---------------------------------------------------------------------------

/// Zip format: `<prefix>/data.pkl` plus one `<prefix>/data/<key>` per storage.
fn read_zip(path: &Path, file: File) -> Result<Vec<RawTensor>> {
    let mut zip = zip::ZipArchive::new(file).map_err(|e| zip_error(path, "cannot open zip", e))?;
    // torch writes exactly one top-level folder; its name is arbitrary.
    let pkl = zip
        .file_names()
        .filter(|n| *n == "data.pkl" || (n.ends_with("/data.pkl") && n.matches('/').count() == 1))
        .min_by_key(|n| n.len())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::weights_format(
                path,
                "zip archive has no `<name>/data.pkl`: not a PyTorch checkpoint",
            )
        })?;
    let prefix = pkl.trim_end_matches("data.pkl").to_owned();

    if let Ok(entry) = zip.by_name(&format!("{prefix}byteorder")) {
        let mut order = String::new();
        entry.take(16).read_to_string(&mut order).map_err(|e| {
            Error::weights_format_from(path, format!("cannot read `{prefix}byteorder`"), e)
        })?;
        if order.trim() != "little" {
            return Err(Error::weights_format(
                path,
                format!(
                    "byte order `{}` is not supported (only little-endian)",
                    order.trim()
                ),
            ));
        }
    }

    let pickle = read_entry(path, &mut zip, &pkl, MAX_PICKLE_BYTES + 1)?;
    if pickle.len() as u64 > MAX_PICKLE_BYTES {
        return Err(Error::weights_format(
            path,
            format!("`{pkl}` is larger than {MAX_PICKLE_BYTES} bytes"),
        ));
    }
    let mut decls = Decls::new();
    let (root, _) = Vm::run(&pickle, 0, &mut decls)
        .map_err(|e| Error::weights_format(path, format!("{pkl}: {e}")))?;
    let tensors = state_dict_tensors(&root).map_err(|e| Error::weights_format(path, e))?;
    drop(root);

    // Load only the storages that tensors use, exactly `numel * size` bytes each.
    let mut storages = HashMap::new();
    for (_, t) in &tensors {
        let key = &t.storage.key;
        if storages.contains_key(key) {
            continue;
        }
        let &(dtype, numel) = decls.get(key).ok_or_else(|| {
            Error::weights_format(path, format!("storage `{key}` was never declared"))
        })?;
        let need = numel
            .checked_mul(dtype.size())
            .filter(|_| numel as u64 <= MAX_STORAGE_ELEMENTS)
            .ok_or_else(|| {
                Error::weights_format(
                    path,
                    format!(
                        "storage `{key}`: {numel} elements is too large \
                         (at most {MAX_STORAGE_ELEMENTS})"
                    ),
                )
            })?;
        let name = format!("{prefix}data/{key}");
        let bytes = read_entry(path, &mut zip, &name, need as u64)?;
        if bytes.len() < need {
            return Err(Error::weights_format(
                path,
                format!(
                    "storage `{key}` (`{name}`) has {} bytes, needs {need} ({numel} x {})",
                    bytes.len(),
                    dtype.name()
                ),
            ));
        }
        storages.insert(key.clone(), Cow::Owned(bytes));
    }
    materialize(path, tensors, storages)
}

/// Reads at most `limit` bytes of the zip entry `name`.
fn read_entry<R: Read + Seek>(
    path: &Path,
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>> {
    let mut entry = zip.by_name(name).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => Error::weights_format(
            path,
            format!("entry `{name}` is missing from the zip archive"),
        ),
        e => zip_error(path, &format!("cannot read `{name}`"), e),
    })?;
    let reserve = entry.size().min(limit).min(MAX_PREALLOC_BYTES);
    let mut bytes = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    (&mut entry)
        .take(limit)
        .read_to_end(&mut bytes)
        .and_then(|_| {
            // The zip reader checks an entry's CRC-32 only when a read
            // reaches its end: one more read does, when all of it was read.
            if bytes.len() as u64 == entry.size() {
                entry.read(&mut [0u8; 1]).map(|_| ())
            } else {
                Ok(())
            }
        })
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => {
                Error::weights_format_from(
                    path,
                    format!("cannot read `{name}` (truncated or corrupt zip archive?)"),
                    e,
                )
            }
            _ => Error::io(path, e),
        })?;
    Ok(bytes)
}

fn zip_error(path: &Path, what: &str, e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(io)
            if !matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ) =>
        {
            Error::io(path, io)
        }
        e => Error::weights_format_from(
            path,
            format!("{what} (truncated or corrupt zip archive?)"),
            e,
        ),
    }
}

/// Legacy format: five pickles, then the storages' bytes in key-list order.
fn read_legacy(path: &Path, data: &[u8]) -> Result<Vec<RawTensor>> {
    let fail = |reason: String| Error::weights_format(path, reason);
    let mut decls = Decls::new();
    let pickle = |pos: usize, what: &str, decls: &mut Decls| {
        Vm::run(data, pos, decls).map_err(|e| fail(format!("legacy {what} pickle: {e}")))
    };

    let (magic, pos) = pickle(0, "header", &mut decls)?;
    if !matches!(magic, Value::Int(LEGACY_MAGIC)) {
        return Err(fail(
            "the file is a pickle but does not start with torch's magic number: not a torch.save checkpoint"
                .into(),
        ));
    }
    let (version, pos) = pickle(pos, "protocol-version", &mut decls)?;
    if !matches!(version, Value::Int(LEGACY_PROTOCOL)) {
        return Err(fail(format!(
            "legacy protocol version is {}, only {LEGACY_PROTOCOL} is supported",
            version.describe()
        )));
    }
    let (sys_info, pos) = pickle(pos, "sys_info", &mut decls)?;
    if let Value::Dict(d) = &sys_info {
        let big = d.borrow().0.chunks_exact(2).any(|kv| {
            matches!((&kv[0], &kv[1]), (Value::Str(k), Value::Bool(false)) if &**k == "little_endian")
        });
        if big {
            return Err(fail(
                "big-endian legacy checkpoints are not supported".into(),
            ));
        }
    }
    let (root, pos) = pickle(pos, "main", &mut decls)?;
    let (keys, mut pos) = pickle(pos, "storage-key", &mut decls)?;
    let Value::List(keys) = keys else {
        return Err(fail(format!(
            "storage-key pickle is a {}, expected a list",
            keys.describe()
        )));
    };

    let mut storages = HashMap::new();
    for key in keys.borrow().0.iter() {
        let Value::Str(key) = key else {
            return Err(fail(format!(
                "storage key is a {}, expected a string",
                key.describe()
            )));
        };
        let &(dtype, declared) = decls.get(key).ok_or_else(|| {
            fail(format!(
                "storage `{key}` is listed but no persistent id declares it"
            ))
        })?;
        let truncated = |need: usize| {
            fail(format!(
                "storage `{key}`: needs {need} bytes at byte {pos} but the file ends at byte {} (truncated file?)",
                data.len()
            ))
        };
        let count = data.get(pos..pos + 8).ok_or_else(|| truncated(8))?;
        let count = u64::from_le_bytes(<[u8; 8]>::try_from(count).map_err(|_| truncated(8))?);
        if usize::try_from(count).ok() != Some(declared) {
            return Err(fail(format!(
                "storage `{key}`: the file holds {count} elements, its persistent id declares {declared}"
            )));
        }
        let nbytes = declared
            .checked_mul(dtype.size())
            .ok_or_else(|| fail(format!("storage `{key}`: {declared} elements is too large")))?;
        let start = pos + 8;
        let bytes = start
            .checked_add(nbytes)
            .and_then(|end| data.get(start..end))
            .ok_or_else(|| truncated(nbytes))?;
        storages.insert(key.clone(), Cow::Borrowed(bytes));
        pos = start + nbytes;
    }
    let tensors = state_dict_tensors(&root).map_err(fail)?;
    materialize(path, tensors, storages)
}

// ---------------------------------------------------------------------------
// From pickled references to f32 data
// ---------------------------------------------------------------------------

/// The `name -> tensor` entries of the top-level dict, in file order.
type Entries = Vec<(Rc<str>, Rc<TensorRef>)>;

/// Picks the tensors out of the unpickled top-level object.
fn state_dict_tensors(root: &Value) -> std::result::Result<Entries, String> {
    let Value::Dict(dict) = root else {
        return Err(format!(
            "the pickled object is a {}, expected a state dict (a dict of tensors)",
            root.describe()
        ));
    };
    let dict = dict.borrow();
    let mut out: Entries = Vec::new();
    let mut index: HashMap<Rc<str>, usize> = HashMap::new();
    for kv in dict.0.chunks_exact(2) {
        // Non-string keys and non-tensor values are skipped.
        if let (Value::Str(k), Value::Tensor(t)) = (&kv[0], &kv[1]) {
            // A repeated key replaces the earlier value, as in Python.
            match index.get(k) {
                Some(&i) => out[i].1 = t.clone(),
                None => {
                    index.insert(k.clone(), out.len());
                    out.push((k.clone(), t.clone()));
                }
            }
        }
    }
    if out.is_empty() && !dict.0.is_empty() {
        let keys: Vec<String> = dict
            .0
            .iter()
            .step_by(2)
            .take(8)
            .map(|k| k.describe())
            .collect();
        return Err(format!(
            "the top-level dict holds no tensors (keys: {}); expected a state dict — \
             for a training checkpoint, save its model's state_dict() alone",
            keys.join(", ")
        ));
    }
    Ok(out)
}

/// Gathers every tensor from its storage bytes, releasing each storage after
/// its last use.
fn materialize(
    path: &Path,
    tensors: Entries,
    mut storages: HashMap<Rc<str>, Cow<'_, [u8]>>,
) -> Result<Vec<RawTensor>> {
    let fail = |reason: String| Error::weights_format(path, reason);
    let mut uses: HashMap<Rc<str>, usize> = HashMap::new();
    for (_, t) in &tensors {
        *uses.entry(t.storage.key.clone()).or_default() += 1;
    }
    let stored: usize = storages.values().map(|b| b.len()).sum();
    let mut budget = stored.saturating_mul(2).saturating_add(EXTRA_ELEMENTS);

    let mut out = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let s = &t.storage;
        let size = s.dtype.size();
        let root = storages.get(&s.key).ok_or_else(|| {
            fail(format!(
                "tensor `{name}`: storage `{}` is missing from the file",
                s.key
            ))
        })?;
        let too_large = || fail(format!("tensor `{name}`: shape {:?} is too large", t.shape));
        let numel = t
            .shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(too_large)?;
        budget = budget.checked_sub(numel).ok_or_else(|| {
            fail(format!(
                "tensor `{name}`: {numel} elements exceed the limit for this file's {stored} storage bytes \
                 (overlapping views?)"
            ))
        })?;
        // This storage (a legacy view may be a slice of the root storage).
        let view = s
            .offset
            .checked_add(s.numel)
            .and_then(|end| end.checked_mul(size))
            .and_then(|end| root.get(s.offset * size..end))
            .ok_or_else(|| {
                fail(format!(
                    "tensor `{name}`: storage `{}` has {} bytes, needs {}",
                    s.key,
                    root.len(),
                    s.offset.saturating_add(s.numel).saturating_mul(size)
                ))
            })?;
        // Strides of size-1 dimensions never move; zero them so that no
        // arithmetic below can overflow on a meaningless value.
        let stride: Vec<usize> = t
            .shape
            .iter()
            .zip(&t.stride)
            .map(|(&d, &st)| if d == 1 { 0 } else { st })
            .collect();
        if numel > 0 {
            let last = t
                .shape
                .iter()
                .zip(&stride)
                .try_fold(t.offset, |acc, (&d, &st)| {
                    acc.checked_add((d - 1).checked_mul(st)?)
                })
                .ok_or_else(too_large)?;
            let need = last
                .checked_add(1)
                .and_then(|n| n.checked_mul(size))
                .ok_or_else(too_large)?;
            if need > view.len() {
                return Err(fail(format!(
                    "tensor `{name}`: storage `{}` has {} bytes, needs {need} (offset {}, shape {:?}, stride {:?})",
                    s.key,
                    view.len(),
                    t.offset,
                    t.shape,
                    t.stride
                )));
            }
        }
        let data = gather(view, s.dtype, t.offset, &t.shape, &stride, numel);
        out.push(RawTensor {
            name: name.to_string(),
            shape: t.shape.clone(),
            data,
        });

        if let Some(n) = uses.get_mut(&s.key) {
            *n -= 1;
            if *n == 0 {
                storages.remove(&s.key);
            }
        }
    }
    Ok(out)
}

/// Row-major copy of a strided view. The caller has checked that every index
/// reached (`offset + sum((shape[d]-1) * stride[d])`) lies inside `bytes`.
fn gather(
    bytes: &[u8],
    dtype: Dtype,
    offset: usize,
    shape: &[usize],
    stride: &[usize],
    numel: usize,
) -> Vec<f32> {
    let size = dtype.size();
    let mut out = Vec::with_capacity(numel);
    if numel == 0 {
        return out;
    }
    // Contiguous (row-major) layout: one bulk conversion.
    let mut expect = 1;
    let contiguous = shape.iter().zip(stride).rev().all(|(&d, &st)| {
        let ok = d == 1 || st == expect;
        expect *= d;
        ok
    });
    if contiguous {
        dtype.extend(&bytes[offset * size..(offset + numel) * size], &mut out);
        return out;
    }
    // Odometer over the indices, last dimension fastest.
    let mut index = vec![0usize; shape.len()];
    let mut pos = offset;
    for _ in 0..numel {
        dtype.extend(&bytes[pos * size..(pos + 1) * size], &mut out);
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            pos += stride[d];
            if index[d] < shape[d] {
                break;
            }
            pos -= stride[d] * shape[d];
            index[d] = 0;
        }
    }
    out
}

/// Element type of a typed storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl Dtype {
    /// The storage class name after `torch.` and its element type.
    const ALL: [(&'static str, Dtype); 10] = [
        ("DoubleStorage", Dtype::F64),
        ("FloatStorage", Dtype::F32),
        ("HalfStorage", Dtype::F16),
        ("BFloat16Storage", Dtype::BF16),
        ("LongStorage", Dtype::I64),
        ("IntStorage", Dtype::I32),
        ("ShortStorage", Dtype::I16),
        ("CharStorage", Dtype::I8),
        ("ByteStorage", Dtype::U8),
        ("BoolStorage", Dtype::Bool),
    ];

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, d)| *d == self)
            .map_or("?", |(n, _)| n)
    }

    fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F16 | Dtype::BF16 | Dtype::I16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::Bool => 1,
        }
    }

    /// Appends the little-endian elements of `bytes` (a whole number of them)
    /// converted to `f32`.
    fn extend(self, bytes: &[u8], out: &mut Vec<f32>) {
        fn each<const N: usize>(bytes: &[u8], out: &mut Vec<f32>, f: impl Fn([u8; N]) -> f32) {
            out.extend(bytes.chunks_exact(N).map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                f(a)
            }));
        }
        match self {
            Dtype::F64 => each(bytes, out, |a| f64::from_le_bytes(a) as f32),
            Dtype::F32 => each(bytes, out, f32::from_le_bytes),
            Dtype::F16 => each(bytes, out, |a| f16_to_f32(u16::from_le_bytes(a))),
            Dtype::BF16 => each(bytes, out, |a| bf16_to_f32(u16::from_le_bytes(a))),
            Dtype::I64 => each(bytes, out, |a| i64::from_le_bytes(a) as f32),
            Dtype::I32 => each(bytes, out, |a| i32::from_le_bytes(a) as f32),
            Dtype::I16 => each(bytes, out, |a| f32::from(i16::from_le_bytes(a))),
            Dtype::I8 => each(bytes, out, |a: [u8; 1]| f32::from(a[0] as i8)),
            Dtype::U8 => each(bytes, out, |a: [u8; 1]| f32::from(a[0])),
            Dtype::Bool => each(bytes, out, |a: [u8; 1]| if a[0] != 0 { 1.0 } else { 0.0 }),
        }
    }
}

// ---------------------------------------------------------------------------
// The pickle machine
// ---------------------------------------------------------------------------

/// A storage as referenced by a persistent id: `numel` elements of `dtype`
/// starting `offset` elements into the root storage `key`.
#[derive(Debug)]
struct StorageRef {
    key: Rc<str>,
    dtype: Dtype,
    offset: usize,
    numel: usize,
}

/// A tensor as `_rebuild_tensor[_v2]` describes it.
#[derive(Debug)]
struct TensorRef {
    storage: Rc<StorageRef>,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// Root storages declared by persistent ids: key -> (dtype, element count).
type Decls = HashMap<Rc<str>, (Dtype, usize)>;

/// A whitelisted global.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Global {
    OrderedDict,
    RebuildTensor,
    RebuildTensorV2,
    RebuildParameter,
    /// `torch.Size(tuple)`, which very old files may use for tensor sizes.
    Size,
    Storage(Dtype),
}

impl Global {
    fn resolve(module: &str, name: &str) -> std::result::Result<Global, String> {
        Ok(match (module, name) {
            ("collections", "OrderedDict") => Global::OrderedDict,
            ("torch._utils", "_rebuild_tensor") => Global::RebuildTensor,
            ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
            ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
                Global::RebuildParameter
            }
            ("torch", "Size") => Global::Size,
            ("torch", storage) if storage.ends_with("Storage") => Dtype::ALL
                .iter()
                .find(|(n, _)| *n == storage)
                .map(|&(_, d)| Global::Storage(d))
                .ok_or_else(|| format!("unsupported storage type `torch.{storage}`"))?,
            _ => {
                return Err(format!(
                    "forbidden global `{module}.{name}`: only tensor-rebuilding globals \
                     (collections.OrderedDict, torch._utils._rebuild_*, torch.*Storage) are allowed"
                ))
            }
        })
    }
}

/// A pickled value. Containers are shared (`Rc`) like Python objects, so
/// memo references and mutation behave as in Python.
#[derive(Clone)]
enum Value {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<Seq>),
    List(Rc<RefCell<Seq>>),
    /// Key/value pairs flattened: `k0, v0, k1, v1, ...`, insertion order.
    Dict(Rc<RefCell<Seq>>),
    Global(Global),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
}

impl Value {
    /// A short description for error messages (never recursive).
    fn describe(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(b) => format!("bool {b}"),
            Value::Int(i) => format!("int {i}"),
            Value::Float(f) => format!("float {f}"),
            Value::Str(s) => format!("`{}`", s.chars().take(64).collect::<String>()),
            Value::Bytes(b) => format!("bytes object of {} bytes", b.len()),
            Value::Tuple(t) => format!("tuple of {}", t.0.len()),
            Value::List(_) => "list".into(),
            Value::Dict(_) => "dict".into(),
            Value::Global(g) => format!("global {g:?}"),
            Value::Storage(_) => "storage".into(),
            Value::Tensor(_) => "tensor".into(),
        }
    }

    fn new_dict() -> Value {
        Value::Dict(Rc::new(RefCell::new(Seq(Vec::new()))))
    }

    fn to_usize(&self, what: &str) -> std::result::Result<usize, String> {
        match self {
            Value::Int(i) => usize::try_from(*i).map_err(|_| format!("{what} {i} is out of range")),
            v => Err(format!("{what} is a {}, expected an int", v.describe())),
        }
    }

    fn to_usizes(&self, what: &str) -> std::result::Result<Vec<usize>, String> {
        match self {
            Value::Tuple(t) => t.0.iter().map(|v| v.to_usize(what)).collect(),
            v => Err(format!("{what} is a {}, expected a tuple", v.describe())),
        }
    }
}

/// Items of a container. Dropped iteratively: a deeply nested pickle
/// (`((((...))))`) must not overflow the stack when it is freed.
struct Seq(Vec<Value>);

impl Drop for Seq {
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.0);
        while let Some(v) = pending.pop() {
            match v {
                Value::Tuple(rc) => {
                    if let Ok(mut seq) = Rc::try_unwrap(rc) {
                        pending.append(&mut seq.0);
                    }
                }
                Value::List(rc) | Value::Dict(rc) => {
                    if let Ok(cell) = Rc::try_unwrap(rc) {
                        pending.append(&mut cell.into_inner().0);
                    }
                }
                _ => {}
            }
        }
    }
}

type VmResult<T> = std::result::Result<T, String>;

/// The stack machine for one pickle.
struct Vm<'a, 'd> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    /// Stack heights at each MARK.
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    decls: &'d mut Decls,
}

impl<'a, 'd> Vm<'a, 'd> {
    /// Runs the pickle starting at `start`; returns its value and the
    /// position just after its STOP.
    fn run(data: &'a [u8], start: usize, decls: &'d mut Decls) -> VmResult<(Value, usize)> {
        let mut vm = Vm {
            data,
            pos: start,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            decls,
        };
        loop {
            let at = vm.pos;
            let op = vm.bytes(1)?[0];
            match vm.step(op) {
                Ok(Some(value)) => return Ok((value, vm.pos)),
                Ok(None) => {}
                Err(e) => return Err(format!("opcode {} at byte {at}: {e}", op_name(op))),
            }
        }
    }

    fn bytes(&mut self, n: usize) -> VmResult<&'a [u8]> {
        let slice = self
            .pos
            .checked_add(n)
            .and_then(|end| self.data.get(self.pos..end))
            .ok_or_else(|| {
                format!(
                "pickle needs {n} bytes at byte {} but the data ends at byte {} (truncated file?)",
                self.pos,
                self.data.len()
            )
            })?;
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> VmResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    /// A newline-terminated argument (text opcodes), without the newline.
    fn line(&mut self) -> VmResult<&'a [u8]> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("unterminated line (truncated file?)")?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn len_prefixed(&mut self, len: u64) -> VmResult<&'a [u8]> {
        let len = usize::try_from(len).map_err(|_| format!("length {len} is too large"))?;
        self.bytes(len)
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    /// Pops one value; never below the innermost MARK.
    fn pop(&mut self) -> VmResult<Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err("stack underflow".into());
        }
        self.stack.pop().ok_or_else(|| "stack underflow".into())
    }

    fn top(&self) -> VmResult<&Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        self.stack
            .get(floor..)
            .and_then(<[Value]>::last)
            .ok_or_else(|| "stack underflow".into())
    }

    /// Pops everything above the innermost MARK, and the MARK.
    fn pop_mark(&mut self) -> VmResult<Vec<Value>> {
        let mark = self.marks.pop().ok_or("no MARK on the stack")?;
        if mark > self.stack.len() {
            return Err("stack underflow below MARK".into());
        }
        Ok(self.stack.split_off(mark))
    }

    fn memo_get(&self, key: u32) -> VmResult<Value> {
        self.memo
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("memo entry {key} was never stored"))
    }

    fn string(bytes: &[u8]) -> VmResult<Value> {
        std::str::from_utf8(bytes)
            .map(|s| Value::Str(s.into()))
            .map_err(|e| format!("invalid UTF-8 in string: {e}"))
    }

    /// Adds items to the list or dict on top of the stack.
    fn extend_top(&mut self, items: Vec<Value>, dict: bool) -> VmResult<()> {
        match (self.top()?, dict) {
            (Value::List(l), false) | (Value::Dict(l), true) => {
                if dict && !items.len().is_multiple_of(2) {
                    return Err("odd number of items for a dict".into());
                }
                l.try_borrow_mut()
                    .map_err(|_| "container is busy")?
                    .0
                    .extend(items);
                Ok(())
            }
            (v, _) => Err(format!(
                "target is a {}, expected a {}",
                v.describe(),
                if dict { "dict" } else { "list" }
            )),
        }
    }

    /// Executes one opcode; returns the result at STOP.
    fn step(&mut self, op: u8) -> VmResult<Option<Value>> {
        match op {
            0x80 => {
                let proto = self.bytes(1)?[0];
                if proto > 5 {
                    return Err(format!("pickle protocol {proto} is not supported"));
                }
            }
            0x95 => {
                self.bytes(8)?; // FRAME: a length hint, nothing to do
            }
            b'.' => return self.pop().map(Some),
            b'(' => self.marks.push(self.stack.len()),
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let v = self.top()?.clone();
                self.push(v);
            }

            // Scalars.
            b'N' => self.push(Value::None),
            0x88 => self.push(Value::Bool(true)),
            0x89 => self.push(Value::Bool(false)),
            b'J' => {
                let v = i32::from_le_bytes(self.array()?);
                self.push(Value::Int(v.into()));
            }
            b'K' => {
                let v = self.bytes(1)?[0];
                self.push(Value::Int(v.into()));
            }
            b'M' => {
                let v = u16::from_le_bytes(self.array()?);
                self.push(Value::Int(v.into()));
            }
            0x8a | 0x8b => {
                let n = if op == 0x8a {
                    u64::from(self.bytes(1)?[0])
                } else {
                    u64::try_from(i32::from_le_bytes(self.array()?))
                        .map_err(|_| "negative length")?
                };
                let digits = self.len_prefixed(n)?;
                if digits.len() > 16 {
                    return Err(format!("integer of {} bytes is too large", digits.len()));
                }
                // Two's complement, little-endian: sign-extend to 128 bits.
                let fill = if digits.last().is_some_and(|b| b & 0x80 != 0) {
                    0xff
                } else {
                    0
                };
                let mut a = [fill; 16];
                a[..digits.len()].copy_from_slice(digits);
                self.push(Value::Int(i128::from_le_bytes(a)));
            }
            b'G' => {
                let v = f64::from_be_bytes(self.array()?);
                self.push(Value::Float(v));
            }

            // Strings and bytes.
            b'X' => {
                let n = u32::from_le_bytes(self.array()?);
                let s = Self::string(self.len_prefixed(n.into())?)?;
                self.push(s);
            }
            0x8c => {
                let n = self.bytes(1)?[0];
                let s = Self::string(self.len_prefixed(n.into())?)?;
                self.push(s);
            }
            0x8d => {
                let n = u64::from_le_bytes(self.array()?);
                let s = Self::string(self.len_prefixed(n)?)?;
                self.push(s);
            }
            b'V' => {
                let s = raw_unicode_escape(self.line()?)?;
                self.push(Value::Str(s.into()));
            }
            // Python 2 `str` (old legacy files): text, decoded leniently.
            b'U' | b'T' => {
                let n = if op == b'U' {
                    u64::from(self.bytes(1)?[0])
                } else {
                    u64::try_from(i32::from_le_bytes(self.array()?))
                        .map_err(|_| "negative length")?
                };
                let s = String::from_utf8_lossy(self.len_prefixed(n)?).into_owned();
                self.push(Value::Str(s.into()));
            }
            b'C' | b'B' | 0x8e => {
                let n = match op {
                    b'C' => u64::from(self.bytes(1)?[0]),
                    b'B' => u32::from_le_bytes(self.array()?).into(),
                    _ => u64::from_le_bytes(self.array()?),
                };
                let b = self.len_prefixed(n)?;
                self.push(Value::Bytes(b.into()));
            }

            // Containers.
            b')' => self.push(Value::Tuple(Rc::new(Seq(Vec::new())))),
            b']' => self.push(Value::List(Rc::new(RefCell::new(Seq(Vec::new()))))),
            b'}' => self.push(Value::new_dict()),
            b't' => {
                let items = self.pop_mark()?;
                self.push(Value::Tuple(Rc::new(Seq(items))));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let mut items = (0..n).map(|_| self.pop()).collect::<VmResult<Vec<_>>>()?;
                items.reverse();
                self.push(Value::Tuple(Rc::new(Seq(items))));
            }
            b'l' => {
                let items = self.pop_mark()?;
                self.push(Value::List(Rc::new(RefCell::new(Seq(items)))));
            }
            b'd' => {
                let items = self.pop_mark()?;
                if !items.len().is_multiple_of(2) {
                    return Err("odd number of items for a dict".into());
                }
                self.push(Value::Dict(Rc::new(RefCell::new(Seq(items)))));
            }
            b'a' => {
                let v = self.pop()?;
                self.extend_top(vec![v], false)?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                self.extend_top(items, false)?;
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                self.extend_top(vec![k, v], true)?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.extend_top(items, true)?;
            }

            // Memo.
            b'q' | b'r' | 0x94 => {
                let key = match op {
                    b'q' => self.bytes(1)?[0].into(),
                    b'r' => u32::from_le_bytes(self.array()?),
                    _ => u32::try_from(self.memo.len()).map_err(|_| "memo is full")?,
                };
                let v = self.top()?.clone();
                self.memo.insert(key, v);
            }
            b'h' => {
                let key = self.bytes(1)?[0].into();
                let v = self.memo_get(key)?;
                self.push(v);
            }
            b'j' => {
                let key = u32::from_le_bytes(self.array()?);
                let v = self.memo_get(key)?;
                self.push(v);
            }

            // Globals, calls, persistent ids.
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                let text =
                    |b| std::str::from_utf8(b).map_err(|_| "global name is not UTF-8".to_string());
                let g = Global::resolve(text(module)?, text(name)?)?;
                self.push(Value::Global(g));
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Value::Str(module), Value::Str(name)) = (&module, &name) else {
                    return Err("STACK_GLOBAL needs two strings".into());
                };
                let g = Global::resolve(module, name)?;
                self.push(Value::Global(g));
            }
            b'R' | 0x81 => {
                let args = self.pop()?;
                let func = self.pop()?;
                let Value::Tuple(args) = &args else {
                    return Err(format!(
                        "arguments are a {}, expected a tuple",
                        args.describe()
                    ));
                };
                let result = match (func, op) {
                    (Value::Global(g), b'R') => self.call(g, &args.0)?,
                    (Value::Global(Global::OrderedDict), _) => Value::new_dict(),
                    (f, _) => return Err(format!("cannot call a {}", f.describe())),
                };
                self.push(result);
            }
            b'b' => {
                // BUILD would call __setstate__; the state (e.g. an
                // OrderedDict's `_metadata`) is not needed: drop it.
                self.pop()?;
                self.top()?;
            }
            b'Q' => {
                let pid = self.pop()?;
                let storage = self.persistent_load(&pid)?;
                self.push(storage);
            }
            _ => return Err("not supported by this minimal unpickler".into()),
        }
        Ok(None)
    }

    /// Calls a whitelisted global symbolically.
    fn call(&mut self, g: Global, args: &[Value]) -> VmResult<Value> {
        match g {
            Global::OrderedDict if args.is_empty() => Ok(Value::new_dict()),
            Global::RebuildTensor | Global::RebuildTensorV2 => {
                let arity = if g == Global::RebuildTensor {
                    4..=4
                } else {
                    6..=7
                };
                if !arity.contains(&args.len()) {
                    return Err(format!(
                        "{g:?} takes {arity:?} arguments, got {}",
                        args.len()
                    ));
                }
                let Value::Storage(storage) = &args[0] else {
                    return Err(format!(
                        "tensor storage is a {}, expected a storage",
                        args[0].describe()
                    ));
                };
                let shape = args[2].to_usizes("tensor size")?;
                let stride = args[3].to_usizes("tensor stride")?;
                if shape.len() != stride.len() {
                    return Err(format!(
                        "tensor has {} sizes but {} strides",
                        shape.len(),
                        stride.len()
                    ));
                }
                Ok(Value::Tensor(Rc::new(TensorRef {
                    storage: storage.clone(),
                    offset: args[1].to_usize("storage offset")?,
                    shape,
                    stride,
                })))
            }
            Global::RebuildParameter => match args.first() {
                Some(t @ Value::Tensor(_)) => Ok(t.clone()),
                _ => Err("_rebuild_parameter expects a tensor as first argument".into()),
            },
            Global::Size => match args {
                [t @ Value::Tuple(_)] => Ok(t.clone()),
                _ => Err("torch.Size expects one tuple".into()),
            },
            _ => Err(format!(
                "calling {g:?} with {} arguments is not supported",
                args.len()
            )),
        }
    }

    /// `('storage', storage_type, key, location, numel[, view_metadata])`.
    fn persistent_load(&mut self, pid: &Value) -> VmResult<Value> {
        let Value::Tuple(pid) = pid else {
            return Err(format!(
                "persistent id is a {}, expected a tuple",
                pid.describe()
            ));
        };
        let items = &pid.0;
        match items.first() {
            Some(Value::Str(s)) if &**s == "storage" => {}
            Some(Value::Str(s)) if &**s == "module" => {
                return Err("the file pickles a whole nn.Module, not a state dict; \
                            save `model.state_dict()` instead"
                    .into())
            }
            _ => return Err("unknown persistent id (expected a ('storage', ...) tuple)".into()),
        }
        if !(5..=6).contains(&items.len()) {
            return Err(format!(
                "storage persistent id has {} fields, expected 5 or 6",
                items.len()
            ));
        }
        let Value::Global(Global::Storage(dtype)) = items[1] else {
            return Err(format!(
                "storage type is a {}, expected torch.*Storage",
                items[1].describe()
            ));
        };
        let Value::Str(key) = &items[2] else {
            return Err(format!(
                "storage key is a {}, expected a string",
                items[2].describe()
            ));
        };
        let numel = items[4].to_usize("storage size")?;
        match self.decls.get(key) {
            Some(&(d, _)) if d != dtype => {
                return Err(format!(
                    "storage `{key}` is declared as both {} and {}",
                    d.name(),
                    dtype.name()
                ))
            }
            Some(_) => {}
            None => {
                self.decls.insert(key.clone(), (dtype, numel));
            }
        }
        let root = self.decls.get(key).map_or(numel, |&(_, n)| n);
        // Legacy view: (view_key, offset, size) elements of the root.
        let (offset, numel) = match items.get(5) {
            None | Some(Value::None) => (0, root),
            Some(Value::Tuple(view)) if view.0.len() == 3 => {
                let offset = view.0[1].to_usize("storage view offset")?;
                let size = view.0[2].to_usize("storage view size")?;
                if offset.checked_add(size).is_none_or(|end| end > root) {
                    return Err(format!(
                        "storage view [{offset}, +{size}) lies outside storage `{key}` of {root} elements"
                    ));
                }
                (offset, size)
            }
            Some(v) => return Err(format!("storage view metadata is a {}", v.describe())),
        };
        Ok(Value::Storage(Rc::new(StorageRef {
            key: key.clone(),
            dtype,
            offset,
            numel,
        })))
    }
}

/// Decodes Python's `raw-unicode-escape` (the UNICODE opcode's argument):
/// `\uXXXX` and `\UXXXXXXXX` escapes, every other byte is Latin-1.
fn raw_unicode_escape(b: &[u8]) -> VmResult<String> {
    let mut s = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let digits = match (b[i], b.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            _ => 0,
        };
        if digits == 0 {
            s.push(char::from(b[i]));
            i += 1;
            continue;
        }
        let c = b
            .get(i + 2..i + 2 + digits)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
            .ok_or("invalid \\u escape in UNICODE string")?;
        s.push(c);
        i += 2 + digits;
    }
    Ok(s)
}

/// The name of a pickle opcode, for error messages.
fn op_name(op: u8) -> String {
    let name = match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => return format!("0x{op:02x} (not a pickle opcode)"),
    };
    format!("{name} (0x{op:02x})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/pth")
            .join(name)
    }

    /// Compares a fixture with the values torch itself loaded (expected.json).
    fn check_fixture(name: &str) {
        let json = std::fs::read_to_string(fixture("expected.json")).expect("read expected.json");
        let expected: serde_json::Value = serde_json::from_str(&json).expect("parse expected.json");
        let want = expected[name]
            .as_array()
            .expect("fixture listed in expected.json");
        let got = read_pth(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let names: Vec<&str> = got.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(got.len(), want.len(), "{name}: tensors {names:?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.name, w["name"].as_str().expect("name"), "{name}");
            let shape: Vec<usize> = w["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_u64().expect("dim") as usize)
                .collect();
            assert_eq!(g.shape, shape, "{name}: {}", g.name);
            // torch's values are f32s written as shortest decimal; serde_json's
            // default parser may miss the nearest f64 by an ULP, so compare
            // after rounding to f32, where both are exact.
            let values: Vec<f32> = w["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|v| v.as_f64().expect("float") as f32)
                .collect();
            assert_eq!(g.data, values, "{name}: {}", g.name);
            assert_eq!(g.numel(), g.data.len());
        }
    }

    #[test]
    fn vgg_zip() {
        check_fixture("vgg_zip.pth");
    }

    /// A stored storage entry whose bytes no longer match their CRC-32 is
    /// refused (it once loaded with a silently wrong value).
    #[test]
    fn a_storage_that_fails_its_checksum_is_refused() {
        let good = std::fs::read(fixture("vgg_zip.pth")).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&good)).unwrap();
        let name = zip
            .file_names()
            .find(|n| n.contains("/data/") && !n.ends_with('/'))
            .unwrap()
            .to_string();
        let entry = zip.by_name(&name).unwrap();
        assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
        let at = entry.data_start() as usize;
        drop(entry);
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.pth");
        std::fs::write(&path, &bad).unwrap();
        let err = read_pth(&path).unwrap_err();
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            cause.as_deref().is_some_and(|c| c.contains("checksum")),
            "{err}: {cause:?}"
        );
    }
    #[test]
    fn vgg_legacy() {
        check_fixture("vgg_legacy.pth");
    }
    #[test]
    fn dtypes_zip() {
        check_fixture("dtypes_zip.pth");
    }
    #[test]
    fn dtypes_legacy() {
        check_fixture("dtypes_legacy.pth");
    }
    #[test]
    fn views_zip() {
        check_fixture("views_zip.pth");
    }
    #[test]
    fn views_legacy() {
        check_fixture("views_legacy.pth");
    }
    #[test]
    fn param_zip() {
        check_fixture("param_zip.pth");
    }
    #[test]
    fn param_legacy() {
        check_fixture("param_legacy.pth");
    }

    // --- hand-made pickles for error cases (nothing is ever executed) ---

    fn unicode(p: &mut Vec<u8>, s: &str) {
        p.push(b'X');
        p.extend((s.len() as u32).to_le_bytes());
        p.extend(s.as_bytes());
    }

    /// `{"w": _rebuild_tensor_v2(storage("0", FloatStorage, numel), 0, (len,), (1,), False, OrderedDict())}`
    fn one_tensor_pickle(numel: u8, len: u8) -> Vec<u8> {
        one_tensor_pickle_of(&[b'K', numel], len)
    }

    /// [`one_tensor_pickle`] with the storage's element count as a LONG1.
    fn one_tensor_pickle_long(numel: u64, len: u8) -> Vec<u8> {
        let mut op = vec![0x8a, 8];
        op.extend(numel.to_le_bytes());
        one_tensor_pickle_of(&op, len)
    }

    fn one_tensor_pickle_of(numel_op: &[u8], len: u8) -> Vec<u8> {
        let mut p = vec![0x80, 2, b'}', b'('];
        unicode(&mut p, "w");
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n((");
        unicode(&mut p, "storage");
        p.extend(b"ctorch\nFloatStorage\n");
        unicode(&mut p, "0");
        unicode(&mut p, "cpu");
        p.extend(numel_op);
        p.extend([b't', b'Q', b'K', 0, b'K', len, 0x85, b'K', 1, 0x85, 0x89]);
        p.extend(b"ccollections\nOrderedDict\n)Rt");
        p.extend(b"Ru.");
        p
    }

    fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
        let file = File::create(path).expect("create zip");
        let mut zip = zip::ZipWriter::new(file);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, data) in entries {
            zip.start_file(*name, opts).expect("start entry");
            zip.write_all(data).expect("write entry");
        }
        zip.finish().expect("finish zip");
    }

    fn error_of(path: &Path) -> String {
        match read_pth(path) {
            Ok(t) => panic!(
                "{}: expected an error, read {} tensors",
                path.display(),
                t.len()
            ),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn hand_made_zip_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ok.pth");
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        write_zip(
            &path,
            &[
                ("ok/data.pkl", &one_tensor_pickle(4, 3)),
                ("ok/data/0", &data),
            ],
        );
        let t = read_pth(&path).expect("read");
        assert_eq!(
            t,
            vec![RawTensor {
                name: "w".into(),
                shape: vec![3],
                data: vec![1.0, 2.0, 3.0]
            }]
        );
    }

    /// A zip whose storage entry claims, in its ZIP64 field, 4 bytes per
    /// declared element but holds four bytes. Declaring 2^40 elements
    /// made the reader reserve 4 TiB, which aborts the process: now the
    /// declaration is refused. At the most accepted (2^32), the short
    /// entry is an error naming both sizes, reserving no more than
    /// [`MAX_PREALLOC_BYTES`] on the entry's word.
    #[test]
    fn declared_sizes_do_not_reserve_memory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lying_zip = |name: &str, numel: u64| {
            let path = dir.path().join(name);
            let file = File::create(&path).expect("create zip");
            let mut zip = zip::ZipWriter::new(file);
            let stored = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            zip.start_file("h/data.pkl", stored).expect("start entry");
            zip.write_all(&one_tensor_pickle_long(numel, 1))
                .expect("write entry");
            zip.start_file("h/data/0", stored.large_file(true))
                .expect("start entry");
            zip.write_all(&[0, 0, 128, 63]).expect("write entry");
            zip.finish().expect("finish zip");
            // Each ZIP64 field (id 1) starts with the uncompressed size: 4,
            // made to claim 4 bytes an element.
            let mut bytes = std::fs::read(&path).expect("read back");
            let mut patched = 0;
            for size in [16u16, 24, 28] {
                let mut field = vec![1, 0];
                field.extend(size.to_le_bytes());
                field.extend(4u64.to_le_bytes());
                while let Some(at) = bytes.windows(field.len()).position(|w| w == &field[..]) {
                    bytes[at + 4..at + 12].copy_from_slice(&(numel * 4).to_le_bytes());
                    patched += 1;
                }
            }
            assert!(patched >= 1, "no ZIP64 size field found to patch");
            std::fs::write(&path, &bytes).expect("write patched");
            let claimed = zip::ZipArchive::new(File::open(&path).expect("open"))
                .expect("zip")
                .by_name("h/data/0")
                .expect("entry")
                .size();
            assert_eq!(claimed, numel * 4, "the patch did not reach the reader");
            path
        };
        let e = error_of(&lying_zip("huge.pth", 1 << 40));
        assert!(
            e.contains("1099511627776 elements is too large (at most 4294967296)"),
            "{e}"
        );
        let e = error_of(&lying_zip("most.pth", 1 << 32));
        assert!(e.contains("has 4 bytes, needs 17179869184"), "{e}");
    }

    /// A legacy file as torch < 0.4 under Python 2 wrote it: `_rebuild_tensor`,
    /// `torch.Size`, byte strings, and a storage view (`view_metadata`).
    #[test]
    fn hand_made_old_legacy_file_reads() {
        fn short_str(p: &mut Vec<u8>, s: &str) {
            p.extend([b'U', s.len() as u8]);
            p.extend(s.as_bytes());
        }
        let mut f = vec![0x80, 2, 0x8a, 10];
        f.extend(&LEGACY_MAGIC.to_le_bytes()[..10]);
        f.extend(b".\x80\x02M\xe9\x03.\x80\x02}.");
        // {'w': _rebuild_tensor(('storage', FloatStorage, 'k', 'cpu', 6, ('v', 2, 3)), 1, Size((2,)), (1,))}
        f.extend(b"\x80\x02}(");
        short_str(&mut f, "w");
        f.extend(b"ctorch._utils\n_rebuild_tensor\n((");
        short_str(&mut f, "storage");
        f.extend(b"ctorch\nFloatStorage\n");
        short_str(&mut f, "k");
        short_str(&mut f, "cpu");
        f.extend(b"K\x06(");
        short_str(&mut f, "v");
        f.extend(b"K\x02K\x03ttQK\x01ctorch\nSize\nK\x02\x85\x85RK\x01\x85tRu.");
        // Storage keys, then the storage: count and data.
        f.extend(b"\x80\x02](");
        short_str(&mut f, "k");
        f.extend(b"e.");
        f.extend(6u64.to_le_bytes());
        for v in 0..6 {
            f.extend((v as f32).to_le_bytes());
        }
        let t = read_legacy(Path::new("old.pth"), &f).expect("read");
        assert_eq!(
            t,
            vec![RawTensor {
                name: "w".into(),
                shape: vec![2],
                data: vec![3.0, 4.0]
            }]
        );
    }

    #[test]
    fn storage_too_small_for_tensor() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("short.pth");
        write_zip(
            &path,
            &[
                ("short/data.pkl", &one_tensor_pickle(4, 8)),
                ("short/data/0", &[0u8; 16]),
            ],
        );
        let msg = error_of(&path);
        assert!(
            msg.contains("tensor `w`: storage `0` has 16 bytes, needs 32"),
            "{msg}"
        );
    }

    #[test]
    fn storage_entry_shorter_than_declared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("short.pth");
        write_zip(
            &path,
            &[
                ("short/data.pkl", &one_tensor_pickle(4, 4)),
                ("short/data/0", &[0u8; 12]),
            ],
        );
        let msg = error_of(&path);
        assert!(
            msg.contains("storage `0` (`short/data/0`) has 12 bytes, needs 16"),
            "{msg}"
        );
    }

    #[test]
    fn forbidden_global_in_zip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("evil.pth");
        let mut pickle = b"\x80\x02cos\nsystem\n(".to_vec();
        unicode(&mut pickle, "echo pwned");
        pickle.extend(b"tR.");
        write_zip(&path, &[("evil/data.pkl", &pickle)]);
        let msg = error_of(&path);
        assert!(msg.contains("forbidden global `os.system`"), "{msg}");
        assert!(msg.contains("GLOBAL"), "{msg}");
    }

    #[test]
    fn forbidden_stack_global_in_legacy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("evil.pth");
        let mut pickle = vec![0x80, 4];
        for s in ["builtins", "eval"] {
            pickle.push(0x8c);
            pickle.push(s.len() as u8);
            pickle.extend(s.as_bytes());
        }
        pickle.extend([0x93, b'.']);
        std::fs::write(&path, &pickle).expect("write");
        let msg = error_of(&path);
        assert!(msg.contains("forbidden global `builtins.eval`"), "{msg}");
    }

    #[test]
    fn unsupported_opcode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("inst.pth");
        write_zip(&path, &[("inst/data.pkl", b"\x80\x02(ios\nsystem\n.")]);
        let msg = error_of(&path);
        assert!(msg.contains("opcode INST (0x69) at byte 3"), "{msg}");
    }

    #[test]
    fn truncated_legacy_file() {
        let data = std::fs::read(fixture("vgg_legacy.pth")).expect("read fixture");
        let dir = tempfile::tempdir().expect("tempdir");
        // Cut inside the storages, then inside the main pickle.
        for cut in [data.len() - 100, 200] {
            let path = dir.path().join("cut.pth");
            std::fs::write(&path, &data[..cut]).expect("write");
            let msg = error_of(&path);
            assert!(msg.contains("truncated file?"), "cut at {cut}: {msg}");
        }
    }

    #[test]
    fn truncated_zip_file() {
        let data = std::fs::read(fixture("vgg_zip.pth")).expect("read fixture");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cut.pth");
        std::fs::write(&path, &data[..data.len() / 2]).expect("write");
        let msg = error_of(&path);
        assert!(msg.contains("truncated or corrupt zip"), "{msg}");
    }

    #[test]
    fn not_a_checkpoint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hello.pth");
        std::fs::write(&path, b"hello, world\n").expect("write");
        let msg = error_of(&path);
        assert!(msg.contains("not a PyTorch checkpoint"), "{msg}");
        assert!(msg.contains("68 65 6c 6c"), "{msg}");
    }

    #[test]
    fn plain_pickle_without_magic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("list.pth");
        std::fs::write(&path, b"\x80\x02]q\x00.").expect("write");
        let msg = error_of(&path);
        assert!(
            msg.contains("does not start with torch's magic number"),
            "{msg}"
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("deep.pth");
        let mut pickle = vec![0x80, 2, b'N'];
        pickle.extend(std::iter::repeat_n(0x85u8, 1_000_000)); // TUPLE1, a million times
        pickle.push(b'.');
        std::fs::write(&path, &pickle).expect("write");
        let msg = error_of(&path);
        assert!(msg.contains("magic number"), "{msg}");
    }

    #[test]
    fn corrupted_legacy_bytes_never_panic() {
        // Every truncation and many single-byte corruptions of real files
        // must give an error or a result, never a panic.
        for name in [
            "vgg_legacy.pth",
            "dtypes_legacy.pth",
            "views_legacy.pth",
            "param_legacy.pth",
        ] {
            let data = std::fs::read(fixture(name)).expect("read fixture");
            for n in 0..data.len() {
                assert!(
                    read_legacy(Path::new(name), &data[..n]).is_err(),
                    "{name} cut at {n}"
                );
            }
            let mut bad = data.clone();
            for i in 0..data.len() {
                for v in [0x00, 0xff, 0x7f, b'(', b'.', data[i] ^ 0x01] {
                    bad[i] = v;
                    let _ = read_legacy(Path::new(name), &bad);
                }
                bad[i] = data[i];
            }
        }
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_pth(&dir.path().join("absent.pth")).expect_err("must fail");
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }
}
