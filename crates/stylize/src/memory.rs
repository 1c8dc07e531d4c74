//! How much memory a run needs, estimated before it starts, so that a run
//! too big for the machine fails at once with the size that would fit.
//!
//! The model counts the activations a forward and backward pass keeps per
//! pixel of the content's working size (every convolution output up to the
//! deepest layer a cost reads, with ReLU outputs and the gradients of the
//! backward pass), the style images' forward passes, the optimiser's state
//! and the weights. Its constants were calibrated on measured peak resident
//! memory of the CLI (VGG16, 2 threads): see `BYTES_PER_ACTIVATION`.
//!
//! The fast engine (`fast/`) keeps much less: one byte per
//! activation (the ReLU masks), the taps' gradients, and a few buffers of
//! the largest layer at a time; `estimate_fast_bytes` counts those.

use crate::architecture::{Architecture, BLOCK_WIDTHS};
use crate::config::{ColorPreservation, Optimizer, ResolvedLayers, StyleConfig};
use crate::engine::Engine;
use crate::layer::{Layer, TapKind};

/// Bytes kept per activation element of the generated image's forward pass
/// through backward: f32 conv output, ReLU output and their gradients, with
/// allocator slack. Measured: 1.9-2.6 KB per pixel for VGG16 to block5
/// (270 activation elements per pixel) between 128 and 384 px; 12 bytes per
/// element is an upper bound of those.
pub(crate) const BYTES_PER_ACTIVATION: f64 = 12.0;

/// Fixed cost: the program, the thread pool, decoded images, allocator.
pub(crate) const BASE_BYTES: u64 = 120 << 20;

/// Activation elements per input pixel of one forward pass up to `deepest`
/// (sum over the convolutions run of `channels / 4^(block-1)`).
pub(crate) fn activations_per_pixel(
    arch: Architecture,
    deepest_block: usize,
    deepest_conv: usize,
) -> f64 {
    let mut total = 0.0;
    for (b, &n) in arch.convs_per_block().iter().enumerate() {
        let block = b + 1;
        if block > deepest_block {
            break;
        }
        let convs = if block == deepest_block {
            deepest_conv.min(n)
        } else {
            n
        };
        let per = BLOCK_WIDTHS[b] as f64 / 4f64.powi(b as i32);
        total += convs as f64 * per;
    }
    total
}

/// The deepest `(block, conv)` any cost of `layers` reads (a pool tap counts
/// as the block's last convolution).
fn deepest(arch: Architecture, layers: &ResolvedLayers) -> (usize, usize) {
    let all = layers.style.iter().map(|(l, _)| *l).chain([layers.content]);
    all.map(|l| {
        let conv = if l.conv == 0 {
            arch.convs_per_block()[l.block - 1]
        } else {
            l.conv
        };
        (l.block, conv)
    })
    .max()
    .unwrap_or((5, arch.convs_per_block()[4]))
}

/// Estimated peak bytes of one scale on `engine`: content working size
/// `(w, h)`, style working sizes `styles`.
pub(crate) fn estimate_engine_bytes(
    engine: Engine,
    arch: Architecture,
    layers: &ResolvedLayers,
    config: &StyleConfig,
    size: (u32, u32),
    styles: &[(u32, u32)],
) -> u64 {
    match engine {
        Engine::Burn => estimate_bytes(arch, layers, config, size, styles),
        Engine::Fast => estimate_fast_bytes(arch, layers, config, size, styles),
    }
}

/// Elements per input pixel of a tap's tensor.
fn tap_elements_per_pixel(layer: Layer) -> f64 {
    let pools = match layer.kind {
        TapKind::Pool => layer.block,
        _ => layer.block - 1,
    };
    BLOCK_WIDTHS[layer.block - 1] as f64 / 4f64.powi(pools as i32)
}

/// Buffers of the largest layer (64 channels at full size) alive at once
/// besides the taps' gradients: in the backward pass through block 1, the
/// incoming gradient and the convolution's output. Calibrated on measured
/// peak resident memory (see the tests): the estimate is 17-36% above it
/// between 1024x1024 and 3840x2160.
pub(crate) const FAST_LIVE_LARGEST: f64 = 2.0;

/// Estimated peak bytes of one scale on the fast engine, which keeps per
/// pixel: one byte per activation up to the deepest tap (ReLU masks, pool
/// argmax), four per element of each tap's gradient, and
/// [`FAST_LIVE_LARGEST`] buffers of the largest layer; plus the recycled
/// buffers it holds ((`fast/buffers.rs`)), its transformed kernels
/// and the images and optimiser state.
pub(crate) fn estimate_fast_bytes(
    arch: Architecture,
    layers: &ResolvedLayers,
    config: &StyleConfig,
    (w, h): (u32, u32),
    styles: &[(u32, u32)],
) -> u64 {
    let (block, conv) = deepest(arch, layers);
    let pixels = f64::from(w) * f64::from(h);
    let masks = activations_per_pixel(arch, block, conv);
    let pools: f64 = (1..block)
        .map(|b| BLOCK_WIDTHS[b - 1] as f64 / 4f64.powi(b as i32))
        .sum();
    let mut taps: Vec<Layer> = layers.style.iter().map(|(l, _)| *l).collect();
    taps.push(layers.content);
    taps.sort_by_key(|l| (l.block, l.conv, l.kind));
    taps.dedup();
    let tap_grads: f64 = taps.iter().map(|l| tap_elements_per_pixel(*l)).sum();
    let largest = 64.0 * 4.0;
    let per_pixel = masks + pools + 4.0 * tap_grads + FAST_LIVE_LARGEST * largest;
    // Recycled buffers: at most two of the largest layer are free at once.
    let kept = (2.0 * largest * pixels).min(crate::fast::buffers::MAX_KEPT_BYTES as f64);
    // Tile groups of the convolutions: two buffers of 4M floats.
    let scratch = 2.0 * 4.0 * f64::from(1u32 << 22);
    // The content target (the content layer's activation).
    let target = 4.0 * tap_elements_per_pixel(layers.content) * pixels;
    // Style images run forward only: two buffers of their largest layer.
    let style = largest_style_pixels(styles) * 2.0 * largest;
    let images = pixels * 3.0 * 4.0 * 4.0;
    let optimizer = optimizer_bytes(config, pixels);
    // Raw kernels (twice: burn's reference copy and the engine's) and the
    // Winograd kernels, 36/9 their size, of the convolutions up to the
    // deepest tap (the backward pass runs on the same ones).
    let params: usize = arch
        .kernel_shapes()
        .iter()
        .zip(arch.conv_positions())
        .filter(|(_, (b, c))| (*b, *c) <= (block, conv))
        .map(|(s, _)| s.iter().product::<usize>() + s[0])
        .sum();
    let all_params: usize = arch
        .kernel_shapes()
        .iter()
        .map(|s| s.iter().product::<usize>() + s[0])
        .sum();
    let weights = 4.0 * (2 * all_params) as f64 + 4.0 * 4.0 * params as f64;
    let gradient_pass = pixels * per_pixel + kept + scratch;
    // Summed in f64 and converted once: the cast saturates, so a size
    // read from a header cannot wrap the sum round to a small need.
    BASE_BYTES.saturating_add(
        (gradient_pass.max(style + kept + scratch) + target + images + optimizer + weights) as u64,
    )
}

/// Bytes per pixel of the photo's own size that a run keeps beside the
/// working buffers: the decoded photo and the result resized back to the
/// photo's size (f32, then 8-bit with alpha), at the end of the run.
/// Measured: 29.4 bytes a pixel over a 64x64 photo's peak for an
/// 8000x8000 8-bit RGB photo at `--size 64` (2 iterations, 1 thread); a
/// 16-bit RGBA photo holds more (8 bytes a pixel decoded, its alpha
/// channel, an RGBA result): 3.67 GiB peak RSS for a 10000x10000 one at
/// `--size 64` (Intel Xeon), where 32 here gave 3.5 GiB. (Since
/// 2026-12-06 the photo is read to each scale a row at a time, not as an
/// f32 copy; the peak, at the end, was the same: 3.58 GiB.)
const FULL_SIZE_BYTES_PER_PIXEL: f64 = 38.0;

/// Extra bytes per pixel of the photo's size with the luminance colour
/// mode, which puts the photo's colours back at full size (measured: 23.4
/// more than without).
const LUMINANCE_BYTES_PER_PIXEL: f64 = 24.0;

/// Bytes of the buffers at the photo's own size `(w, h)`: the result has
/// that size whatever the working size. Part of every estimate; known from
/// the photo's header alone, so a caller can refuse a small file that
/// holds a huge photo before decoding it.
pub fn full_size_bytes((w, h): (u32, u32), config: &StyleConfig) -> u64 {
    let per_pixel = FULL_SIZE_BYTES_PER_PIXEL
        + match config.preserve_colors {
            Some(ColorPreservation::Luminance) => LUMINANCE_BYTES_PER_PIXEL,
            _ => 0.0,
        };
    (f64::from(w) * f64::from(h) * per_pixel) as u64
}

/// Bytes per pixel of a decoded painting, held by the caller through the
/// run: 8, for 16-bit RGBA (the usual 8-bit RGB takes 3; the kind is not
/// known from the size).
const DECODED_STYLE_BYTES_PER_PIXEL: f64 = 8.0;

/// Float rows a thread holds while it reads a painting to its working
/// size (`stylize_frames::resize_to_rgb32f`): the output rows still open
/// (seven at a reduction with Lanczos3), the row being converted and its
/// copy. (When enlarging, the open rows span at most seven rows of the
/// output's width.)
const STYLE_READ_ROWS_PER_THREAD: f64 = 9.0;

/// Bytes of the paintings at their own sizes `styles`: each decoded, and
/// read to working sizes as wide as `widest` on `threads` threads, each
/// thread holding float rows of the wider of the two (one painting at a
/// time, so the widest counts). Before 2026-12-06 each painting was first
/// copied whole as floats, 12 more bytes a pixel: 10 GB for one scanned
/// at 30000x30000.
pub(crate) fn style_inputs_bytes(styles: &[(u32, u32)], widest: u32, threads: usize) -> u64 {
    let decoded: f64 = styles
        .iter()
        .map(|&(w, h)| f64::from(w) * f64::from(h) * DECODED_STYLE_BYTES_PER_PIXEL)
        .sum();
    let own = styles.iter().map(|&(w, _)| w).max().unwrap_or(0);
    let row = f64::from(own.max(widest)) * 3.0 * 4.0;
    (decoded + row * STYLE_READ_ROWS_PER_THREAD * threads as f64) as u64
}

/// Pixels of the largest style image.
fn largest_style_pixels(styles: &[(u32, u32)]) -> f64 {
    styles
        .iter()
        .map(|&(sw, sh)| f64::from(sw) * f64::from(sh))
        .fold(0.0, f64::max)
}

fn optimizer_bytes(config: &StyleConfig, pixels: f64) -> f64 {
    match config.optimizer {
        // m and v.
        Optimizer::Adam => pixels * 3.0 * 4.0 * 2.0,
        // history pairs (s, y) plus direction, previous gradient, line
        // search point and cached evaluation; the projected search adds the
        // step taken, the free directions and the masked gradient.
        // A pair a step: a run of fewer steps than the history holds fewer
        // (before: `--lbfgs-history 10000 --iterations 3` counted 10000).
        Optimizer::Lbfgs => {
            let pairs = config.lbfgs_history.min(config.iterations) as f64;
            pixels * 3.0 * 4.0 * (2.0 * pairs + 9.0)
        }
    }
}

/// Estimated peak bytes of one scale on burn's engine: content working
/// size `(w, h)`, style working sizes `styles`.
pub(crate) fn estimate_bytes(
    arch: Architecture,
    layers: &ResolvedLayers,
    config: &StyleConfig,
    (w, h): (u32, u32),
    styles: &[(u32, u32)],
) -> u64 {
    let (block, conv) = deepest(arch, layers);
    let per_pixel = activations_per_pixel(arch, block, conv);
    let pixels = f64::from(w) * f64::from(h);
    let activations = pixels * per_pixel * BYTES_PER_ACTIVATION;
    // Style images run forward only, one layer alive at a time: the largest
    // is block 1 (64 channels), input and output.
    let style = largest_style_pixels(styles) * 2.0 * 64.0 * 4.0;
    // Images as f32 RGB: generated, gradient, content, initial.
    let images = pixels * 3.0 * 4.0 * 4.0;
    let optimizer = optimizer_bytes(config, pixels);
    let weights: usize = arch
        .kernel_shapes()
        .iter()
        .map(|s| s.iter().product::<usize>() + s[0])
        .sum();
    BASE_BYTES
        .saturating_add((activations + style + images + optimizer) as u64)
        .saturating_add(weights as u64 * 4)
}

/// Bytes as `12.3 GiB`.
pub fn human(bytes: u64) -> String {
    let gib = bytes as f64 / f64::from(1u32 << 30);
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else if bytes >= 1 << 20 {
        format!("{:.0} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else if bytes >= 1 << 10 {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    } else {
        // `--max-memory 1` is a byte, not "0 KiB".
        format!("{bytes} byte{}", if bytes == 1 { "" } else { "s" })
    }
}

/// `a` and `b` as [`human`] writes them, with more digits where one
/// decimal shows two different figures alike (`2.63 GiB` and `2.58 GiB`,
/// not `2.6 GiB` twice).
pub fn human_apart(a: u64, b: u64) -> (String, String) {
    let (x, y) = (human(a), human(b));
    if x != y || a == b {
        return (x, y);
    }
    let precise = |n: u64| {
        let gib = n as f64 / f64::from(1u32 << 30);
        if gib >= 1.0 {
            format!("{gib:.3} GiB")
        } else if n >= 1 << 20 {
            format!("{:.2} MiB", n as f64 / f64::from(1u32 << 20))
        } else {
            format!("{n} bytes")
        }
    };
    let (x, y) = (precise(a), precise(b));
    if x != y {
        return (x, y);
    }
    // Closer still: the bytes themselves.
    (format!("{a} bytes"), format!("{b} bytes"))
}

/// Memory this process may use: the machine's, or a container's cgroup
/// limit when that is lower (read with `sysinfo`, which knows both cgroup
/// versions), or, under an address-space limit (`ulimit -v`, as shared
/// servers set), what of that limit is not mapped yet, or under strict
/// overcommit what the system may still commit; `None` where none can be
/// read.
pub fn machine_memory() -> Option<u64> {
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    let mut limits = vec![system.total_memory()];
    // The whole system's cgroup, and this process's own (a container, or
    // a cgroup it was started in), whichever is lower.
    limits.extend(system.cgroup_limits().map(|l| l.total_memory));
    if let Ok(pid) = sysinfo::get_current_pid() {
        system.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[pid]), false);
        let own = system.process(pid).and_then(|p| p.cgroup_limits());
        limits.extend(own.map(|l| l.total_memory));
    }
    limits.extend(reservable_left());
    limits.into_iter().filter(|&t| t > 0).min()
}

/// Address space one worker thread's matrix products reserve, once, for
/// the thread's life. On x86-64 the kernels faer calls
/// (`private-gemm-x86`) keep two buffers of the last-level cache's size a
/// thread: 600 MiB where the CPU reports a 300 MiB L3, as large servers'
/// do. Elsewhere faer's `gemm` keeps one of the L2's. Only the pages used
/// become resident, so this counts against an address-space limit
/// (`ulimit -v`) or strict overcommit, where an allocation past it aborts
/// the process, and not against memory.
pub fn matrix_buffers_per_thread() -> u64 {
    let caches = &*gemm_common::cache::CACHE_INFO;
    if cfg!(target_arch = "x86_64") {
        2 * (caches[2].cache_bytes as u64).div_ceil(4096) * 4096
    } else {
        caches[1].cache_bytes as u64
    }
}

/// Address space each worker thread takes beside its matrix buffers: its
/// stack (2 MiB, Rust's default) and the arena of 64 MiB that glibc's
/// malloc reserves for a thread that allocates (measured: a thread's
/// first allocation maps 66 MiB).
pub const THREAD_RESERVE: u64 = 66 << 20;

/// Address space each optimiser worker thread takes: its matrix buffers
/// ([`matrix_buffers_per_thread`]) and [`THREAD_RESERVE`].
pub fn optimiser_thread_reserve() -> u64 {
    matrix_buffers_per_thread() + THREAD_RESERVE
}

/// What an address-space limit leaves a run on the CPU ([`address_space`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressSpace {
    /// The worker threads to use: those asked for, or fewer where what
    /// each reserves would take more than half of what the limit leaves;
    /// at least 1.
    pub threads: usize,
    /// What is left for the run once those threads' buffers are set
    /// aside: the memory limit to check it against.
    pub left: u64,
    /// What the limit left before (not mapped yet).
    pub room: u64,
    /// What each thread reserves.
    pub per_thread: u64,
}

/// Under an address-space limit (`ulimit -v`) or strict overcommit
/// (`vm.overcommit_memory = 2`), how many of `threads` worker threads,
/// each reserving `per_thread` bytes, fit beside a run and what is left
/// for it; `None` without such a limit (or off Linux). Call
/// it before the threads' first run: what they reserve, once made, is
/// already counted as mapped. For the optimiser's engine `per_thread` is
/// [`matrix_buffers_per_thread`] plus [`THREAD_RESERVE`]; for the
/// feed-forward networks, which make no such products, [`THREAD_RESERVE`].
pub fn address_space(threads: usize, per_thread: u64) -> Option<AddressSpace> {
    Some(fit_threads(reservable_left()?, threads, per_thread))
}

/// [`address_space`] for `room` bytes left and `per_thread` buffers.
fn fit_threads(room: u64, threads: usize, per_thread: u64) -> AddressSpace {
    let threads = threads.max(1);
    let fit = match (room / 2).checked_div(per_thread) {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).clamp(1, threads),
        None => threads,
    };
    AddressSpace {
        threads: fit,
        left: room.saturating_sub(fit as u64 * per_thread).max(1),
        room,
        per_thread,
    }
}

/// What this process may still reserve, where reserving is limited: by
/// its address-space limit ([`address_space_left`]), or, under Linux's
/// strict overcommit (`vm.overcommit_memory = 2`), by what the system may
/// still commit ([`commit_left`]), whichever is lower. Reserved memory
/// counts there whether or not it is touched. `None` where neither holds.
fn reservable_left() -> Option<u64> {
    [address_space_left(), commit_left()]
        .into_iter()
        .flatten()
        .min()
}

/// Under strict overcommit (`vm.overcommit_memory = 2`), what the whole
/// system may still commit (`CommitLimit - Committed_AS` of
/// `/proc/meminfo`): an allocation past it fails, and the process aborts.
/// `None` in the default heuristic mode, or off Linux.
fn commit_left() -> Option<u64> {
    let mode = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").ok()?;
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    strict_commit_left(&mode, &meminfo)
}

/// [`commit_left`] from the texts of `/proc/sys/vm/overcommit_memory` and
/// `/proc/meminfo`.
fn strict_commit_left(mode: &str, meminfo: &str) -> Option<u64> {
    if mode.trim() != "2" {
        return None;
    }
    let limit = first_number_after(meminfo, "CommitLimit:")?.saturating_mul(1024);
    let committed = first_number_after(meminfo, "Committed_AS:")?.saturating_mul(1024);
    Some(limit.saturating_sub(committed).max(1))
}

/// What this process may still map under its address-space limit
/// (`RLIMIT_AS`): the limit less what is mapped now. An allocation past
/// it fails at once (an abort), whatever the machine has free. Linux only
/// (`/proc/self/limits`, `/proc/self/status`); `None` without a limit.
fn address_space_left() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let limit = address_space_limit(&limits)?;
    Some(
        limit
            .saturating_sub(mapped_bytes(&status).unwrap_or(0))
            .max(1),
    )
}

/// The soft `Max address space` of a `/proc/self/limits` text, in bytes;
/// `None` when unlimited or absent.
fn address_space_limit(limits: &str) -> Option<u64> {
    first_number_after(limits, "Max address space")
}

/// `VmSize` of a `/proc/self/status` text, in bytes.
fn mapped_bytes(status: &str) -> Option<u64> {
    Some(first_number_after(status, "VmSize:")?.saturating_mul(1024))
}

/// The number that follows `key` on the first line of `text` starting with
/// it; `None` when there is no such line or no number (`unlimited`).
fn first_number_after(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Parses `8G`, `512M`, `1.5GiB`, `2000000000` into bytes.
///
/// # Errors
/// A message for a string that is not a size.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 8G, 512M)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        u => return Err(format!("`{s}`: unknown unit `{u}` (use K, M, G or T)")),
    };
    // A fraction of a byte would truncate to a limit of 0.
    let bytes = v * mult;
    if !(bytes.is_finite() && bytes >= 1.0) {
        return Err(format!("`{s}` must be at least 1 byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two figures that one decimal shows alike get more digits; others
    /// are as `human` writes them.
    #[test]
    fn figures_that_round_alike_are_written_apart() {
        let gib = 1u64 << 30;
        assert_eq!(
            human_apart(gib * 263 / 100, gib * 258 / 100),
            ("2.630 GiB".to_string(), "2.580 GiB".to_string())
        );
        assert_eq!(
            human_apart(3 * gib, gib),
            ("3.0 GiB".to_string(), "1.0 GiB".to_string())
        );
        assert_eq!(
            human_apart(gib, gib),
            ("1.0 GiB".to_string(), "1.0 GiB".to_string())
        );
        assert_eq!(
            human_apart(405_504, 405_000),
            ("405504 bytes".to_string(), "405000 bytes".to_string())
        );
        // Alike even with more digits: the bytes.
        assert_eq!(
            human_apart(203_546_624, 203_546_623),
            ("203546624 bytes".to_string(), "203546623 bytes".to_string())
        );
    }

    /// An address-space limit (`ulimit -v 3000000`) and what is mapped,
    /// read from the texts Linux gives; unlimited is no limit.
    #[test]
    fn an_address_space_limit_is_read_from_proc() {
        let limited =
            "Limit                     Soft Limit           Hard Limit           Units     \n\
             Max resident set          unlimited            unlimited            bytes     \n\
             Max address space         3072000000           unlimited            bytes     \n";
        assert_eq!(address_space_limit(limited), Some(3_072_000_000));
        let unlimited = "Max address space         unlimited            unlimited            bytes";
        assert_eq!(address_space_limit(unlimited), None);
        assert_eq!(address_space_limit(""), None);
        let status = "Name:\tstylize\nVmPeak:\t 2000 kB\nVmSize:\t    3892 kB\nVmLck:\t 0 kB\n";
        assert_eq!(mapped_bytes(status), Some(3892 * 1024));
        assert_eq!(mapped_bytes("Name:\tx\n"), None);
    }

    /// Strict overcommit limits what may be reserved; the default mode
    /// does not.
    #[test]
    fn strict_overcommit_is_read_from_proc() {
        let meminfo = "MemTotal:       24000000 kB\nCommitLimit:    12000000 kB\n\
                       Committed_AS:    4000000 kB\n";
        assert_eq!(strict_commit_left("2\n", meminfo), Some(8_000_000 * 1024));
        assert_eq!(strict_commit_left("0\n", meminfo), None);
        assert_eq!(strict_commit_left("1", meminfo), None);
        let over = "CommitLimit: 1000 kB\nCommitted_AS: 5000 kB\n";
        assert_eq!(strict_commit_left("2", over), Some(1));
        assert_eq!(strict_commit_left("2", "MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn threads_are_fitted_to_an_address_space_limit() {
        const MIB: u64 = 1 << 20;
        // 2.9 GB left, 600 MiB a thread: two threads' buffers fit in half.
        let s = fit_threads(2900 * MIB, 8, 600 * MIB);
        assert_eq!((s.threads, s.left), (2, 1700 * MIB));
        // Fewer asked for than fit: as asked.
        assert_eq!(fit_threads(2900 * MIB, 1, 600 * MIB).threads, 1);
        // Not even one fits in half: one, and what is left for the run.
        let s = fit_threads(800 * MIB, 4, 600 * MIB);
        assert_eq!((s.threads, s.left), (1, 200 * MIB));
        let s = fit_threads(500 * MIB, 4, 600 * MIB);
        assert_eq!((s.threads, s.left), (1, 1));
        // No buffers (or none known): every thread.
        assert_eq!(fit_threads(100 * MIB, 16, 0).threads, 16);
        assert_eq!(fit_threads(100 * MIB, 0, 0).threads, 1);
    }

    /// The figure is what a fresh thread's first matrix product maps
    /// (`VmSize` before and after), so that the limit's share is right.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn a_threads_matrix_buffers_are_as_counted() {
        let vm = || {
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            mapped_bytes(&status).unwrap()
        };
        let first_product = || {
            std::thread::spawn(move || {
                let a = faer::Mat::<f32>::from_fn(64, 64, |i, j| (i + j) as f32);
                let mut c = faer::Mat::<f32>::zeros(64, 64);
                let before = vm();
                stylize_matmul::matmul(
                    c.as_mut(),
                    faer::Accum::Replace,
                    a.as_ref(),
                    a.as_ref(),
                    1.0,
                    stylize_matmul::Isa::Best,
                );
                let after = vm();
                assert!(c[(1, 1)] > 0.0);
                after.saturating_sub(before)
            })
            .join()
            .unwrap()
        };
        let per = matrix_buffers_per_thread();
        // Within a MiB below (the allocator may take a few pages from its
        // arena) and 64 MiB above. Other tests' threads map and unmap in
        // this process meanwhile, so a fresh thread tries up to 3 times.
        let tries: Vec<u64> = (0..3).map(|_| first_product()).collect();
        assert!(
            tries
                .iter()
                .any(|&grown| grown + (1 << 20) >= per && grown <= per + (64 << 20)),
            "a thread's first product mapped {tries:?} bytes; counted {per}"
        );
    }

    #[test]
    fn sizes_are_said_in_the_unit_that_fits() {
        assert_eq!(human(36_864), "36 KiB");
        assert_eq!(human(150 << 20), "150 MiB");
        assert_eq!(human(3 << 29), "1.5 GiB");
        assert_eq!(human(1), "1 byte");
        assert_eq!(human(1000), "1000 bytes");
    }

    #[test]
    fn vgg16_to_block5_keeps_270_activations_per_pixel() {
        // 2*64 + 2*128/4 + 3*256/16 + 3*512/64 + 3*512/256
        assert_eq!(activations_per_pixel(Architecture::Vgg16, 5, 3), 270.0);
        assert_eq!(activations_per_pixel(Architecture::Vgg16, 1, 1), 64.0);
        assert_eq!(
            activations_per_pixel(Architecture::Vgg19, 4, 2),
            128.0 + 64.0 + 64.0 + 16.0
        );
    }

    #[test]
    fn estimates_grow_with_pixels_and_history() {
        let c = StyleConfig::gatys();
        let layers = c.resolve_layers(Architecture::Vgg16).unwrap();
        let small = estimate_bytes(Architecture::Vgg16, &layers, &c, (256, 256), &[(256, 256)]);
        let big = estimate_bytes(Architecture::Vgg16, &layers, &c, (512, 512), &[(512, 512)]);
        assert!(big > 3 * (small - BASE_BYTES));
        let more = c.clone().with_optimizer(Optimizer::Adam);
        let adam = estimate_bytes(
            Architecture::Vgg16,
            &layers,
            &more,
            (512, 512),
            &[(512, 512)],
        );
        assert!(adam < big);
        // At 384x255 the CLI measured 355 MB peak: the estimate must not
        // be below what was measured, nor wildly above it.
        let seed = StyleConfig::seed();
        let l = seed.resolve_layers(Architecture::Vgg16).unwrap();
        let e = estimate_bytes(Architecture::Vgg16, &l, &seed, (384, 255), &[(384, 266)]);
        assert!(e > 355_000_000 && e < 700_000_000, "{e}");
        // A history longer than the run's steps holds no more pairs.
        let short = c.clone().with_iterations(3);
        let long = short.clone().with_lbfgs_history(10_000);
        let at = |c: &StyleConfig| {
            estimate_bytes(Architecture::Vgg16, &layers, c, (512, 512), &[(512, 512)])
        };
        assert_eq!(at(&long), at(&short.clone().with_lbfgs_history(3)));
        assert!(at(&short.with_lbfgs_history(2)) < at(&long));
    }

    /// Peak resident memory measured with the fast engine (HED's VGG16, 2
    /// threads): `bench_step` (the `gatys` objective, no optimiser state,
    /// `/usr/bin/time -v`, Intel Xeon) at 1024x1024 and 2048x2048, and the
    /// CLI's 3840x2160 run (seed preset, Adam, `--scales 3`), measured
    /// when the backward pass still had its own transformed kernels (about
    /// 160 MB more than now, so a bound from above).
    #[test]
    fn fast_estimates_bound_measured_peaks_without_wild_excess() {
        let adam = |c: StyleConfig| c.with_optimizer(Optimizer::Adam);
        let cases = [
            (
                adam(StyleConfig::gatys()),
                (1024u32, 1024u32),
                1_884_020u64 << 10,
            ),
            (adam(StyleConfig::gatys()), (2048, 2048), 6_157_808 << 10),
            (StyleConfig::seed(), (3840, 2160), 12_686_044 << 10),
        ];
        for (c, (w, h), measured) in cases {
            let layers = c.resolve_layers(Architecture::Vgg16).unwrap();
            let style = (w.max(h), w.max(h) * 5 / 8);
            let e = estimate_fast_bytes(Architecture::Vgg16, &layers, &c, (w, h), &[style]);
            assert!(
                e >= measured && e <= measured * 3 / 2,
                "{w}x{h}: estimate {} for {} measured",
                human(e),
                human(measured)
            );
        }
        // 4K fits this project's 24 GiB machines.
        let seed = StyleConfig::seed();
        let l = seed.resolve_layers(Architecture::Vgg16).unwrap();
        let e = estimate_fast_bytes(
            Architecture::Vgg16,
            &l,
            &seed,
            (3840, 2160),
            &[(3840, 2400)],
        );
        assert!(e < 20 << 30, "{}", human(e));
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("8G").unwrap(), 8 << 30);
        assert_eq!(parse_size("512 MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5X").unwrap_err().contains("unknown unit"));
        assert!(parse_size("0G").is_err());
        assert!(parse_size("0.5").unwrap_err().contains("at least 1 byte"));
        assert_eq!(parse_size("0.5K").unwrap(), 512);
    }
}
