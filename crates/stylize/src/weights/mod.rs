//! Pretrained VGG weights: reading files, recognising the network in them,
//! and the input preprocessing they expect.
//!
//! A file is read by the reader for its format (detected from its first
//! bytes, not its name) into a list of [`RawTensor`]s; [`vgg_from_tensors`]
//! then finds the 3x3 convolutions, decides VGG16 or VGG19, and checks every
//! shape.

pub(crate) mod default;
pub(crate) mod download;
pub(crate) mod keras_h5;
pub(crate) mod pth;
pub(crate) mod raw;
mod rgb;
pub(crate) mod safetensors;

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::architecture::Architecture;
use crate::error::{Error, Result};
use crate::preprocess::Preprocess;
pub use raw::RawTensor;

use keras_h5::natural_cmp;
pub(crate) use rgb::rgb_kernels;

/// A weights file's container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PyTorch `torch.save` state dict, zip or legacy layout.
    Pth,
    /// Keras HDF5, Keras 2 or Keras 3 layout.
    KerasH5,
    /// safetensors.
    SafeTensors,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Pth => "PyTorch state dict",
            Format::KerasH5 => "Keras HDF5",
            Format::SafeTensors => "safetensors",
        })
    }
}

/// One convolution's weights, converted to `[out, in, 3, 3]` (OIHW).
#[derive(Debug, Clone)]
pub struct ConvWeights {
    /// The kernel's name in the file.
    pub name: String,
    /// `[out, in, kh, kw]`.
    pub shape: [usize; 4],
    /// Row-major OIHW values.
    pub kernel: Vec<f32>,
    /// `out` values.
    pub bias: Vec<f32>,
}

/// A complete VGG feature stack's weights and how to feed it.
#[derive(Debug, Clone)]
pub struct VggWeights {
    /// VGG16 or VGG19, from the layers present.
    pub arch: Architecture,
    /// The input preprocessing the network expects.
    pub preprocess: Preprocess,
    /// Why that preprocessing was chosen (detected how, or overridden).
    pub preprocess_reason: String,
    /// Convolutions in forward order.
    pub convs: Vec<ConvWeights>,
    /// The file they came from (empty for weights built in memory).
    pub path: PathBuf,
    /// The file's format.
    pub format: Format,
}

impl VggWeights {
    /// Checks that the weights fit their architecture: one convolution per
    /// position, each `[out, in, 3, 3]` as the network has it there, with
    /// as many kernel values as its shape says and one bias per output
    /// channel, every value finite; and that [`Self::preprocess`] can be
    /// used (a finite mean, a finite standard deviation above 0).
    /// [`load_vgg_weights`] gives only weights that pass; a program that
    /// builds or edits them in memory can check them here, and a
    /// [`crate::Stylizer`] given weights that fail gives this error from
    /// each run rather than panicking or painting with them.
    ///
    /// # Errors
    /// [`Error::WeightsFormat`] for a wrong number of convolutions or a
    /// value that is not finite (naming the tensor),
    /// [`Error::WeightsShape`] naming the first tensor that does not fit,
    /// [`Error::Parameter`] (`preprocess`) for a preprocessing that cannot
    /// be used.
    pub fn check(&self) -> Result<()> {
        match self.unfit() {
            Some(unfit) => Err(unfit.error()),
            None => Ok(()),
        }
    }

    /// What [`Self::check`] finds, kept to give as an error later.
    pub(crate) fn unfit(&self) -> Option<Unfit> {
        let expected = self.arch.conv_count();
        // Weights built in memory have no file to name.
        let path = if self.path.as_os_str().is_empty() {
            PathBuf::from("(built in memory)")
        } else {
            self.path.clone()
        };
        let unfit = |reason: UnfitReason| {
            Some(Unfit {
                path: path.clone(),
                reason,
            })
        };
        if self.convs.len() != expected {
            return unfit(UnfitReason::Count {
                found: self.convs.len(),
                arch: self.arch,
            });
        }
        for (c, want) in self.convs.iter().zip(self.arch.kernel_shapes()) {
            let [cout, cin, _, _] = want;
            let shape = |tensor: String, expected: Vec<usize>, found: Vec<usize>| {
                unfit(UnfitReason::Shape {
                    tensor,
                    expected,
                    found,
                })
            };
            if c.shape != want {
                return shape(c.name.clone(), want.to_vec(), c.shape.to_vec());
            }
            if c.kernel.len() != cout * cin * 9 {
                return shape(c.name.clone(), vec![cout * cin * 9], vec![c.kernel.len()]);
            }
            if c.bias.len() != cout {
                return shape(format!("{} (bias)", c.name), vec![cout], vec![c.bias.len()]);
            }
        }
        // As loading refuses them (`check_finite`): weights edited in
        // memory would otherwise paint with a NaN silently.
        for c in &self.convs {
            let bias = format!("{} (bias)", c.name);
            let found = not_finite(&c.name, &c.kernel).or_else(|| not_finite(&bias, &c.bias));
            if let Some(why) = found {
                return unfit(UnfitReason::NotFinite(why));
            }
        }
        if let Some(why) = self.preprocess.unusable() {
            return unfit(UnfitReason::Preprocess(why));
        }
        None
    }
}

/// Weights that do not fit their architecture ([`VggWeights::check`]).
#[derive(Debug, Clone)]
pub(crate) struct Unfit {
    path: PathBuf,
    reason: UnfitReason,
}

#[derive(Debug, Clone)]
enum UnfitReason {
    Count {
        found: usize,
        arch: Architecture,
    },
    Shape {
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// A kernel or bias holds a NaN or an infinity: why, naming it.
    NotFinite(String),
    /// The preprocessing cannot be used: why.
    Preprocess(String),
}

impl Unfit {
    /// The error it is: the same each time it is asked for.
    pub(crate) fn error(&self) -> Error {
        match &self.reason {
            UnfitReason::Count { found, arch } => Error::weights_format(
                &self.path,
                format!("{found} convolutions, but {arch} has {}", arch.conv_count()),
            ),
            UnfitReason::Shape {
                tensor,
                expected,
                found,
            } => Error::WeightsShape {
                path: self.path.clone(),
                tensor: tensor.clone(),
                expected: expected.clone(),
                found: found.clone(),
            },
            UnfitReason::NotFinite(why) => Error::weights_format(&self.path, why.clone()),
            UnfitReason::Preprocess(why) => Error::parameter("preprocess", why.clone()),
        }
    }
}

/// How a file lays out its convolution kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelLayout {
    /// `[out, in, kh, kw]` (PyTorch).
    Oihw,
    /// `[kh, kw, in, out]` (Keras / TensorFlow).
    Hwio,
}

/// Reads a weights file, recognises the VGG in it and the preprocessing it
/// expects; `preprocess` overrides the detected preprocessing.
///
/// # Errors
/// [`Error::Parameter`] (`preprocess`) for a `preprocess` that cannot be
/// used (a mean or standard deviation that is not finite, a standard
/// deviation of 0 or below), [`Error::Io`], [`Error::WeightsFormat`]
/// (unknown layout, truncated, a value that is not finite),
/// [`Error::WeightsMissing`] and [`Error::WeightsShape`] naming the tensor.
pub fn load_vgg_weights(path: &Path, preprocess: Option<Preprocess>) -> Result<VggWeights> {
    // Before the file is read: the run would diverge at its first step,
    // with advice about cost weights that cannot help.
    if let Some(why) = preprocess.and_then(|p| p.unusable()) {
        return Err(Error::parameter("preprocess", why));
    }
    let format = detect_format(path)?;
    let (tensors, layout, metadata) = match format {
        Format::Pth => (pth::read_pth(path)?, KernelLayout::Oihw, Vec::new()),
        Format::KerasH5 => (
            keras_h5::read_keras_h5(path)?,
            KernelLayout::Hwio,
            Vec::new(),
        ),
        Format::SafeTensors => {
            let (t, m) = safetensors::read_safetensors(path)?;
            let layout = guess_layout(&t);
            (t, layout, m)
        }
    };
    let (arch, convs) = vgg_from_tensors(path, &tensors, layout)?;
    let (detected, reason) = detect_preprocess(path, format, &tensors, &metadata);
    let (preprocess, preprocess_reason) = match preprocess {
        Some(p) => (p, "set by the caller".to_string()),
        None => (detected, reason),
    };
    Ok(VggWeights {
        arch,
        preprocess,
        preprocess_reason,
        convs,
        path: path.to_path_buf(),
        format,
    })
}

/// Tells the container format from the file's first bytes.
///
/// # Errors
/// [`Error::Io`] if unreadable; [`Error::WeightsFormat`] if empty or of no
/// known format.
pub fn detect_format(path: &Path) -> Result<Format> {
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    let head = &head[..n];
    if head.is_empty() {
        return Err(Error::weights_format(path, "the file is empty"));
    }
    if head.starts_with(b"\x89HDF\r\n\x1a\n") {
        keras_h5::check_length(path)?;
        return Ok(Format::KerasH5);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(&[0x80, 0x02]) {
        return Ok(Format::Pth);
    }
    if head.len() >= 9 {
        let header_len = u64::from_le_bytes([
            head[0], head[1], head[2], head[3], head[4], head[5], head[6], head[7],
        ]);
        if head[8] == b'{' && header_len.saturating_add(8) <= len {
            check_safetensors_length(path, &mut file, header_len, len)?;
            return Ok(Format::SafeTensors);
        }
        // A header longer than the file: a safetensors file cut short (an
        // interrupted download), not an unknown format (said before).
        if head[8] == b'{' && header_len < 1 << 30 && path_says(path, "safetensors") {
            return Err(Error::weights_format(
                path,
                format!(
                    "a .safetensors file cut short: its header is {header_len} bytes, and the \
                     whole file {len} bytes (an interrupted download? fetch it again)"
                ),
            ));
        }
    }
    Err(Error::weights_format(
        path,
        format!(
            "unknown format (first bytes {:02x?}); expected a PyTorch .pth, a Keras .h5 or a .safetensors file",
            &head[..n.min(8)]
        ),
    ))
}

/// Whether `path`'s extension is `ext` (any case).
fn path_says(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext))
}

/// A safetensors file whose tensors end past its last byte is cut short
/// (before: "not a safetensors file", caused by "incomplete metadata").
/// Read from its header alone; a header that is not JSON is left to the
/// reader to refuse.
fn check_safetensors_length(
    path: &Path,
    file: &mut std::fs::File,
    header_len: u64,
    len: u64,
) -> Result<()> {
    use std::io::{Seek, SeekFrom};
    // (A header of more than 100 MB is not read here: the reader refuses
    // what it must.)
    let Ok(n) = usize::try_from(header_len).map(|n| n.min(100 << 20)) else {
        return Ok(());
    };
    if u64::try_from(n) != Ok(header_len) {
        return Ok(());
    }
    let mut header = vec![0u8; n];
    file.seek(SeekFrom::Start(8))
        .and_then(|_| file.read_exact(&mut header))
        .map_err(|e| Error::io(path, e))?;
    let Ok(serde_json::Value::Object(entries)) = serde_json::from_slice(&header) else {
        return Ok(());
    };
    let end = entries
        .values()
        .filter_map(|t| t.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0);
    let needed = 8u64.saturating_add(header_len).saturating_add(end);
    if needed > len {
        return Err(Error::weights_format(
            path,
            format!(
                "a .safetensors file cut short: its tensors end at byte {needed}, and the file \
                 has {len} bytes (an interrupted download? fetch it again)"
            ),
        ));
    }
    Ok(())
}

fn guess_layout(tensors: &[RawTensor]) -> KernelLayout {
    let hwio = tensors
        .iter()
        .filter(|t| t.shape.len() == 4)
        .any(|t| t.shape[0] == 3 && t.shape[1] == 3 && !(t.shape[2] == 3 && t.shape[3] == 3));
    if hwio {
        KernelLayout::Hwio
    } else {
        KernelLayout::Oihw
    }
}

/// A kernel with its bias, under the name of the layer that holds them.
struct Candidate<'a> {
    key: String,
    kernel: &'a RawTensor,
    bias: Option<&'a RawTensor>,
    /// `[out, in, kh, kw]` whatever the file's layout.
    oihw: [usize; 4],
}

/// How the file names its convolutions, which says where each one sits.
enum Naming {
    /// torchvision `features.N` indices.
    TorchIndex,
    /// Keras `blockB_convC`.
    KerasBlock,
    /// No positional names: the 3x3 convolutions in (natural) name order.
    Sequential,
}

/// torchvision `features` indices of the convolutions.
fn torch_indices(arch: Architecture) -> Vec<usize> {
    let mut idx = 0;
    let mut out = Vec::new();
    for n in arch.convs_per_block() {
        for _ in 0..n {
            out.push(idx);
            idx += 2; // conv, relu
        }
        idx += 1; // max-pool
    }
    out
}

/// Finds the VGG convolutions in `tensors`, decides the architecture and
/// checks every shape. Layers that are not 3x3 convolutions (classifier,
/// HED's 1x1 side outputs) are ignored.
///
/// # Errors
/// [`Error::WeightsFormat`] when no VGG is recognisable,
/// [`Error::WeightsMissing`] / [`Error::WeightsShape`] naming the tensor.
pub fn vgg_from_tensors(
    path: &Path,
    tensors: &[RawTensor],
    layout: KernelLayout,
) -> Result<(Architecture, Vec<ConvWeights>)> {
    let candidates = candidates(tensors, layout);
    if candidates.is_empty() {
        return Err(Error::weights_format(
            path,
            format!(
                "no 3x3 convolution kernels found among its {} tensors; not a VGG weights file",
                tensors.len()
            ),
        ));
    }
    let naming = if candidates.iter().all(|c| torch_index(&c.key).is_some()) {
        Naming::TorchIndex
    } else if candidates.iter().all(|c| keras_block(&c.key).is_some()) {
        Naming::KerasBlock
    } else {
        Naming::Sequential
    };

    // Position of each candidate: (block, conv) 1-based, or sequence number.
    let arch;
    let mut by_position: HashMap<usize, &Candidate> = HashMap::new();
    let expected_name: Box<dyn Fn(usize, Architecture) -> String>;
    match naming {
        Naming::TorchIndex => {
            let present: Vec<usize> = candidates
                .iter()
                .filter_map(|c| torch_index(&c.key))
                .collect();
            let (i16, i19) = (
                torch_indices(Architecture::Vgg16),
                torch_indices(Architecture::Vgg19),
            );
            let only19 = present
                .iter()
                .filter(|i| i19.contains(i) && !i16.contains(i))
                .count();
            let only16 = present
                .iter()
                .filter(|i| i16.contains(i) && !i19.contains(i))
                .count();
            arch = match only19.cmp(&only16) {
                Ordering::Greater => Architecture::Vgg19,
                Ordering::Less => Architecture::Vgg16,
                Ordering::Equal if present.len() > 13 => Architecture::Vgg19,
                Ordering::Equal => Architecture::Vgg16,
            };
            let indices = torch_indices(arch);
            for c in &candidates {
                let Some(i) = torch_index(&c.key) else {
                    continue;
                };
                let pos = indices.iter().position(|&x| x == i);
                place(path, &mut by_position, c, pos, || {
                    format!("sits where {arch} has no convolution (index {i})")
                })?;
            }
            let prefix = candidates
                .first()
                .map(|c| {
                    c.key
                        .rsplit_once("features.")
                        .map(|(p, _)| p.to_string())
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            expected_name = Box::new(move |pos, arch| {
                format!("{prefix}features.{}.weight", torch_indices(arch)[pos])
            });
        }
        Naming::KerasBlock => {
            let vgg19 = candidates
                .iter()
                .filter_map(|c| keras_block(&c.key))
                .any(|(b, c)| b >= 3 && c == 4);
            arch = if vgg19 {
                Architecture::Vgg19
            } else {
                Architecture::Vgg16
            };
            let positions = arch.conv_positions();
            for c in &candidates {
                let Some(bc) = keras_block(&c.key) else {
                    continue;
                };
                let pos = positions.iter().position(|&p| p == bc);
                place(path, &mut by_position, c, pos, || {
                    format!("{arch} has no layer block{}_conv{}", bc.0, bc.1)
                })?;
            }
            expected_name = Box::new(|pos, arch| {
                let (b, c) = arch.conv_positions()[pos];
                format!("block{b}_conv{c} kernel")
            });
        }
        Naming::Sequential => {
            let n = candidates.len();
            arch = if n > 13 {
                Architecture::Vgg19
            } else {
                Architecture::Vgg16
            };
            if n > arch.conv_count() {
                return Err(Error::weights_format(
                    path,
                    format!("found {n} 3x3 convolutions; VGG16 has 13 and VGG19 16"),
                ));
            }
            let mut sorted: Vec<&Candidate> = candidates.iter().collect();
            sorted.sort_by(|a, b| natural_cmp(&a.key, &b.key));
            for (pos, c) in sorted.into_iter().enumerate() {
                by_position.insert(pos, c);
            }
            expected_name = Box::new(|pos, arch| {
                let (b, c) = arch.conv_positions()[pos];
                format!("3x3 convolution #{} (block{b}_conv{c}) kernel", pos + 1)
            });
        }
    }

    let mut convs = Vec::with_capacity(arch.conv_count());
    for (pos, want) in arch.kernel_shapes().into_iter().enumerate() {
        let Some(c) = by_position.get(&pos) else {
            let tensor = expected_name(pos, arch);
            // There, but not a 3x3 kernel: its shape is what is wrong. By
            // its name (`features.2.weight`), or, named by block
            // (`block1_conv2/kernel:0`), the largest tensor of its block
            // (the kernel, not the bias), where the block has more than a
            // bias: a lone vector is the bias, and the kernel is missing.
            let block = arch.conv_positions()[pos];
            let there = tensors.iter().find(|t| t.name == tensor).or_else(|| {
                let in_block: Vec<&RawTensor> = tensors
                    .iter()
                    .filter(|t| keras_block(&t.name) == Some(block))
                    .collect();
                match in_block[..] {
                    [lone] if lone.shape.len() == 1 => None,
                    _ => in_block
                        .into_iter()
                        .max_by_key(|t| t.shape.iter().product::<usize>()),
                }
            });
            if let Some(t) = there {
                return Err(Error::WeightsShape {
                    path: path.to_path_buf(),
                    tensor: t.name.clone(),
                    expected: in_layout(want, layout),
                    found: t.shape.clone(),
                });
            }
            return Err(Error::WeightsMissing {
                path: path.to_path_buf(),
                tensor,
                expected: in_layout(want, layout),
            });
        };
        if c.oihw != want {
            return Err(Error::WeightsShape {
                path: path.to_path_buf(),
                tensor: c.kernel.name.clone(),
                expected: in_layout(want, layout),
                found: c.kernel.shape.clone(),
            });
        }
        let Some(bias) = c.bias else {
            // A tensor beside the kernel that is not a vector: a bias of
            // the wrong shape, said as such.
            let beside = tensors.iter().find(|t| {
                t.name != c.kernel.name && t.shape.len() != 4 && parent_key(&t.name) == c.key
            });
            if let Some(t) = beside {
                return Err(Error::WeightsShape {
                    path: path.to_path_buf(),
                    tensor: t.name.clone(),
                    expected: vec![want[0]],
                    found: t.shape.clone(),
                });
            }
            return Err(Error::WeightsMissing {
                path: path.to_path_buf(),
                tensor: format!("bias of `{}`", c.kernel.name),
                expected: vec![want[0]],
            });
        };
        if bias.shape != [want[0]] {
            return Err(Error::WeightsShape {
                path: path.to_path_buf(),
                tensor: bias.name.clone(),
                expected: vec![want[0]],
                found: bias.shape.clone(),
            });
        }
        check_len(path, c.kernel)?;
        check_len(path, bias)?;
        check_finite(path, c.kernel)?;
        check_finite(path, bias)?;
        let kernel = match layout {
            KernelLayout::Oihw => c.kernel.data.clone(),
            KernelLayout::Hwio => hwio_to_oihw(&c.kernel.data, want),
        };
        convs.push(ConvWeights {
            name: c.kernel.name.clone(),
            shape: want,
            kernel,
            bias: bias.data.clone(),
        });
    }
    Ok((arch, convs))
}

/// Records `c` at forward position `pos`, or fails with `why` when the
/// network has no such position.
fn place<'c, 'a>(
    path: &Path,
    slots: &mut HashMap<usize, &'c Candidate<'a>>,
    c: &'c Candidate<'a>,
    pos: Option<usize>,
    why: impl FnOnce() -> String,
) -> Result<()> {
    match pos {
        Some(pos) => {
            slots.insert(pos, c);
            Ok(())
        }
        None => Err(Error::weights_format(
            path,
            format!("tensor `{}`: {}", c.kernel.name, why()),
        )),
    }
}

/// A NaN or infinity in a kernel or bias would reach the painting silently
/// (ReLU's `max(0, x)` drops a NaN) or make the first step diverge with
/// advice about the learning rate, so it is refused here, by tensor.
fn check_finite(path: &Path, t: &RawTensor) -> Result<()> {
    match not_finite(&t.name, &t.data) {
        None => Ok(()),
        Some(why) => Err(Error::weights_format(path, why)),
    }
}

/// Why the tensor `name` holding `data` is refused, when a value in it is
/// not finite ([`check_finite`], [`VggWeights::check`]).
fn not_finite(name: &str, data: &[f32]) -> Option<String> {
    let i = data.iter().position(|v| !v.is_finite())?;
    Some(format!(
        "tensor `{name}` holds a value that is not finite ({} at element {i})",
        data[i]
    ))
}

fn check_len(path: &Path, t: &RawTensor) -> Result<()> {
    if t.data.len() == t.numel() {
        Ok(())
    } else {
        Err(Error::weights_format(
            path,
            format!(
                "tensor `{}` has {} values for shape {:?}",
                t.name,
                t.data.len(),
                t.shape
            ),
        ))
    }
}

/// Groups tensors into (kernel, bias) pairs by their parent name and keeps
/// the 3x3 kernels, in file order.
fn candidates(tensors: &[RawTensor], layout: KernelLayout) -> Vec<Candidate<'_>> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut biases: HashMap<String, &RawTensor> = HashMap::new();
    for t in tensors {
        let key = parent_key(&t.name);
        match t.shape.len() {
            4 => {
                let s = &t.shape;
                let oihw = match layout {
                    KernelLayout::Oihw => [s[0], s[1], s[2], s[3]],
                    KernelLayout::Hwio => [s[3], s[2], s[0], s[1]],
                };
                if oihw[2] == 3 && oihw[3] == 3 {
                    out.push(Candidate {
                        key,
                        kernel: t,
                        bias: None,
                        oihw,
                    });
                }
            }
            1 => {
                biases.entry(key).or_insert(t);
            }
            _ => {}
        }
    }
    for c in &mut out {
        c.bias = biases.get(&c.key).copied();
    }
    out
}

/// `features.0.weight` -> `features.0`; `block1_conv1/kernel:0` ->
/// `block1_conv1`; `block1/layers/conv2d/vars/0` -> `block1/layers/conv2d/vars`.
fn parent_key(name: &str) -> String {
    match name.rsplit_once('/') {
        Some((parent, _)) => parent.to_string(),
        None => match name.rsplit_once('.') {
            Some((parent, _)) => parent.to_string(),
            None => String::new(),
        },
    }
}

/// The `N` of a key ending in `features.N`.
fn torch_index(key: &str) -> Option<usize> {
    let (before, n) = key.rsplit_once('.')?;
    if before == "features" || before.ends_with(".features") {
        n.parse().ok()
    } else {
        None
    }
}

/// `(B, C)` of the first `blockB_convC` component of a key.
fn keras_block(key: &str) -> Option<(usize, usize)> {
    key.split('/').find_map(|part| {
        let rest = part.strip_prefix("block")?;
        let (b, rest) = rest.split_once("_conv")?;
        let c: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((b.parse().ok()?, c.parse().ok()?))
    })
}

fn in_layout([o, i, kh, kw]: [usize; 4], layout: KernelLayout) -> Vec<usize> {
    match layout {
        KernelLayout::Oihw => vec![o, i, kh, kw],
        KernelLayout::Hwio => vec![kh, kw, i, o],
    }
}

fn hwio_to_oihw(data: &[f32], [o, i, kh, kw]: [usize; 4]) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for y in 0..kh {
        for x in 0..kw {
            for ic in 0..i {
                for oc in 0..o {
                    out[((oc * i + ic) * kh + y) * kw + x] = data[((y * kw + x) * i + ic) * o + oc];
                }
            }
        }
    }
    out
}

/// The preprocessing a file's weights expect, and why we think so.
fn detect_preprocess(
    path: &Path,
    format: Format,
    tensors: &[RawTensor],
    metadata: &[(String, String)],
) -> (Preprocess, String) {
    if let Some((_, v)) = metadata.iter().find(|(k, _)| k == "stylize.preprocess") {
        match v.as_str() {
            "caffe" => return (Preprocess::KERAS_CAFFE, "file metadata says caffe".into()),
            "hed" => return (Preprocess::HED, "file metadata says hed".into()),
            "torch" => return (Preprocess::TORCH, "file metadata says torch".into()),
            _ => {}
        }
    }
    // HED's 1x1 side-output convolutions (one output channel each).
    let hed = tensors.iter().any(|t| {
        t.shape.len() == 4
            && t.shape[0] == 1
            && t.shape[1] == 1
            && t.shape[3] == 1
            && t.shape[2] > 1
    });
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match format {
        Format::KerasH5 if hed => (
            Preprocess::HED,
            "HED layout (1x1 side-output convolutions): HED's Caffe means".into(),
        ),
        Format::KerasH5 => (
            Preprocess::KERAS_CAFFE,
            "Keras VGG weights are trained on Caffe-style input".into(),
        ),
        _ if ["caffe", "d01eb7cb", "00b39a1b"].iter().any(|k| file_name.contains(k)) => (
            Preprocess::KERAS_CAFFE,
            "the file name marks a Caffe-converted VGG".into(),
        ),
        _ if tensors.iter().any(|t| keras_block(&t.name).is_some()) => (
            Preprocess::KERAS_CAFFE,
            "Keras layer names: Caffe-style input".into(),
        ),
        _ => (
            Preprocess::TORCH,
            "PyTorch layout: torchvision normalisation (Caffe-converted weights need Caffe preprocessing instead)".into(),
        ),
    }
}

#[cfg(test)]
mod tests;
