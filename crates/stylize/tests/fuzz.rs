//! Fuzzing the parsers on stable Rust: the `.pth` reader (zip and legacy
//! pickle layouts), the Keras HDF5 reader, the safetensors reader and the
//! image loading path, each through its public entry point
//! ([`load_vgg_weights`], [`load_image_with_limits`]) on bytes written to a
//! file. See `docs/FUZZING.md`.
//!
//! A mutation loop (no coverage instrumentation, which needs nightly): each
//! input is a committed seed (the fixtures and `tests/fuzz_corpus/<target>/`)
//! changed by one to eight mutations (bit flips, interesting integers, byte
//! insertion and deletion, block copies, splices with another input,
//! truncation). An input whose outcome is new (the error message with its
//! numbers blanked, or the number of tensors read) joins the pool, so inputs
//! that get past one check are mutated further. Two targets are
//! structure-aware: `pickle` mutates the pickle inside a zip checkpoint and
//! repacks it (a raw mutation mostly breaks the zip's CRC), and
//! `pickle_globals` writes random pickles whose GLOBAL / STACK_GLOBAL opcodes
//! name random and dangerous callables, and checks that the reader stops at
//! the first global outside its allow-list.
//!
//! Each input is checked for a panic (`catch_unwind`), a hang (a watchdog
//! fails the target when one input runs over 10 s) and memory: the test
//! binary's allocator refuses any allocation that takes the live heap more
//! than 1 GiB over what it was when the target started, which aborts the
//! process with `memory allocation of N bytes failed`; the input that did it
//! is left in the file the target printed at its start.
//!
//! * Smoke (every `cargo test`): `STYLIZE_FUZZ_SECONDS` per target, default
//!   6 (7 targets, about a minute in all).
//! * Long: `STYLIZE_FUZZ_SECONDS=600 cargo test --release --test fuzz --
//!   --test-threads 1 --nocapture [target]`; `STYLIZE_FUZZ_INPUTS` stops a
//!   target after that many inputs, `STYLIZE_FUZZ_SEED` repeats a run.
//!
//! A failing input is saved to `STYLIZE_FUZZ_OUT` (default
//! `<temp>/stylize-fuzz/<target>/`); copy it to `tests/fuzz_corpus/<target>/`
//! with the fix, where every later run tries it first.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::alloc::System;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cap::Cap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stylize::{load_image_with_limits, load_vgg_weights, ImageLimits};

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

/// The most one input may add to the live heap.
const HEAP_LIMIT: usize = 1 << 30;
/// An input running longer than this is a hang.
const HANG: Duration = Duration::from_secs(10);
/// Inputs grow no larger than this.
const MAX_INPUT: usize = 256 << 10;
/// Inputs kept for mutation besides the seeds.
const POOL: usize = 512;

/// The heap limit is per target: one target at a time.
static SERIAL: Mutex<()> = Mutex::new(());
/// The last panic's message (the hook replaces the default printing).
static PANIC: Mutex<Option<String>> = Mutex::new(None);

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// The files of `dir` whose names end in one of `exts` (all when empty).
fn files(dir: &Path, exts: &[&str]) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .into_iter()
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            exts.is_empty() || exts.iter().any(|e| name.ends_with(e))
        })
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    files(&crate_dir().join("tests/fuzz_corpus").join(target), &[])
}

fn fixtures(sub: &str, exts: &[&str]) -> Vec<Vec<u8>> {
    files(&crate_dir().join("tests/fixtures").join(sub), exts)
}

/// What an input led to, with numbers blanked: an outcome not seen before
/// marks an input worth mutating further.
fn signature(outcome: &str, path: &Path) -> String {
    let s = outcome.replace(&path.display().to_string(), "<file>");
    let mut out = String::with_capacity(s.len());
    for c in s.chars().take(300) {
        if c.is_ascii_digit() {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------

const INTERESTING: [i64; 18] = [
    0,
    1,
    -1,
    2,
    7,
    8,
    16,
    127,
    128,
    255,
    256,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    i64::MAX,
    i64::MIN,
    1 << 40,
];

/// One to eight random changes to `data`; `other` is a splice partner.
fn mutate(rng: &mut StdRng, data: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..rng.random_range(1..=8) {
        let len = data.len();
        let at = |rng: &mut StdRng| rng.random_range(0..=len);
        match rng.random_range(0..11) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] = rng.random();
            }
            2 | 3 if len > 0 => {
                // An interesting integer, 1/2/4/8 bytes, either endianness.
                let v = INTERESTING[rng.random_range(0..INTERESTING.len())];
                let v = if rng.random_bool(0.3) {
                    v.wrapping_add(rng.random_range(-2..=2))
                } else {
                    v
                };
                let width = [1, 2, 4, 8][rng.random_range(0..4)];
                let bytes = if rng.random_bool(0.5) {
                    v.to_le_bytes()[..width].to_vec()
                } else {
                    v.to_be_bytes()[8 - width..].to_vec()
                };
                let i = rng.random_range(0..len);
                let n = width.min(len - i);
                data[i..i + n].copy_from_slice(&bytes[..n]);
            }
            4 => {
                let i = at(rng);
                let n = rng.random_range(1..=16);
                let fill: Vec<u8> = if rng.random_bool(0.5) {
                    (0..n).map(|_| rng.random()).collect()
                } else {
                    vec![rng.random(); n]
                };
                data.splice(i..i, fill);
            }
            5 if len > 0 => {
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(64));
                data.drain(i..i + n);
            }
            6 if len > 0 => {
                // Copy a block elsewhere (overwrite or insert).
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(64));
                let block = data[i..i + n].to_vec();
                let j = at(rng);
                if rng.random_bool(0.5) {
                    data.splice(j..j, block);
                } else {
                    let m = n.min(len - j);
                    data[j..j + m].copy_from_slice(&block[..m]);
                }
            }
            7 if !other.is_empty() => {
                // Splice: our head, the other's tail.
                let i = at(rng);
                let j = rng.random_range(0..other.len());
                data.truncate(i);
                data.extend_from_slice(&other[j..]);
            }
            8 if len > 0 => data.truncate(rng.random_range(0..len)),
            9 if len > 1 => {
                let i = rng.random_range(0..len);
                let j = rng.random_range(0..len);
                data.swap(i, j);
            }
            _ => {
                let i = at(rng);
                let n = rng.random_range(0..=3);
                let fill = vec![[0u8, 0xff, b'\n', b'.'][rng.random_range(0..4)]; n];
                data.splice(i..i, fill);
            }
        }
    }
    data.truncate(MAX_INPUT);
}

// ---------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------

/// Counts for one target.
#[derive(Debug, Default)]
struct Report {
    inputs: u64,
    ok: u64,
    panics: u64,
    hangs: u64,
    slowest: Duration,
    outcomes: usize,
}

/// A target: makes an input, runs it on the file where it was written.
trait Target: Send {
    /// Seeds, tried first, then mutated.
    fn seeds(&self) -> Vec<Vec<u8>>;
    /// A new input from the pool (default: mutate one of its inputs).
    fn input(&mut self, rng: &mut StdRng, pool: &[Vec<u8>]) -> Vec<u8> {
        let mut data = pool[rng.random_range(0..pool.len())].clone();
        let other = &pool[rng.random_range(0..pool.len())];
        mutate(rng, &mut data, other);
        data
    }
    /// Reads the file; `Ok` or `Err` with what happened. A broken property
    /// is a panic.
    fn run(&mut self, path: &Path, input: &[u8]) -> Result<String, String>;
    /// Target-specific counts for the report.
    fn summary(&self) -> String {
        String::new()
    }
}

fn out_dir(target: &str) -> PathBuf {
    std::env::var_os("STYLIZE_FUZZ_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("stylize-fuzz"))
        .join(target)
}

fn save_failure(target: &str, kind: &str, input: &[u8]) -> PathBuf {
    let dir = out_dir(target);
    std::fs::create_dir_all(&dir).unwrap();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in input {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let path = dir.join(format!("{kind}-{h:016x}.bin"));
    std::fs::write(&path, input).unwrap();
    path
}

fn fuzz<T: Target + 'static>(name: &'static str, mut target: T) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        // Panics of the fuzzed code are kept for the report; any other (a
        // failed assertion of the harness) is printed as usual.
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let worker = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("fuzz-"));
            if worker {
                *PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(info.to_string());
            } else {
                default(info);
            }
        }));
    });
    let seconds = env_u64("STYLIZE_FUZZ_SECONDS").unwrap_or(6);
    let max_inputs = env_u64("STYLIZE_FUZZ_INPUTS").unwrap_or(u64::MAX);
    let seed = env_u64("STYLIZE_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let file =
        std::env::temp_dir().join(format!("stylize-fuzz-{name}-{}.input", std::process::id()));
    println!(
        "fuzz {name}: {seconds} s, seed {seed}, current input in {}",
        file.display()
    );
    let limit = HEAP.allocated() + HEAP_LIMIT;
    HEAP.set_limit(limit).unwrap();

    // Watchdog state: when the current input started (ms since `t0`, 0 when
    // idle) and whether the worker is done.
    let t0 = Instant::now();
    let started = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (w_started, w_done, w_file) = (started.clone(), done.clone(), file.clone());
    let worker = std::thread::Builder::new()
        .name(format!("fuzz-{name}"))
        .stack_size(8 << 20)
        .spawn(move || {
            let mut rng = StdRng::seed_from_u64(seed);
            let seeds = target.seeds();
            assert!(!seeds.is_empty(), "{name}: no seeds");
            let mut pool = seeds.clone();
            let mut seen = HashSet::new();
            let mut report = Report::default();
            let deadline = t0 + Duration::from_secs(seconds);
            let mut queue = seeds.into_iter();
            loop {
                let input = match queue.next() {
                    Some(s) => s,
                    None if Instant::now() >= deadline || report.inputs >= max_inputs => break,
                    None => target.input(&mut rng, &pool),
                };
                std::fs::write(&w_file, &input).unwrap();
                let start = Instant::now();
                w_started.store((start - t0).as_millis().max(1) as u64, Ordering::SeqCst);
                let result = catch_unwind(AssertUnwindSafe(|| target.run(&w_file, &input)));
                w_started.store(0, Ordering::SeqCst);
                report.slowest = report.slowest.max(start.elapsed());
                report.inputs += 1;
                let outcome = match result {
                    Ok(Ok(s)) => {
                        report.ok += 1;
                        format!("ok {s}")
                    }
                    Ok(Err(e)) => e,
                    Err(_) => {
                        report.panics += 1;
                        let msg = PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
                        let saved = save_failure(name, "panic", &input);
                        eprintln!(
                            "fuzz {name}: PANIC on {}: {}",
                            saved.display(),
                            msg.unwrap_or_default()
                        );
                        continue;
                    }
                };
                if seen.insert(signature(&outcome, &w_file)) {
                    report.outcomes += 1;
                    if pool.len() < POOL {
                        pool.push(input);
                    } else {
                        let i = rng.random_range(0..pool.len());
                        pool[i] = input;
                    }
                }
            }
            w_done.store(true, Ordering::SeqCst);
            (report, target.summary())
        })
        .unwrap();

    while !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
        let s = started.load(Ordering::SeqCst);
        if s != 0 && t0.elapsed().saturating_sub(Duration::from_millis(s)) > HANG {
            let input = std::fs::read(&file).unwrap_or_default();
            let saved = save_failure(name, "hang", &input);
            panic!(
                "fuzz {name}: HANG: an input ran over {HANG:?}; saved to {}",
                saved.display()
            );
        }
    }
    let (report, summary) = worker.join().unwrap();
    HEAP.set_limit(usize::MAX).unwrap();
    let _ = std::fs::remove_file(&file);
    println!(
        "fuzz {name}: {} inputs in {:.1} s ({} read without error, {} distinct outcomes), \
         {} panics, {} hangs (slowest input {:.3} s), 0 over-limit allocations (one aborts the run), seed {seed}",
        report.inputs,
        t0.elapsed().as_secs_f64(),
        report.ok,
        report.outcomes,
        report.panics,
        report.hangs,
        report.slowest.as_secs_f64()
    );
    if !summary.is_empty() {
        println!("fuzz {name}: {summary}");
    }
    assert_eq!(report.panics, 0, "fuzz {name}: inputs panicked (see above)");
}

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

/// Raw bytes through `load_vgg_weights` (format detection, the reader, then
/// recognising the network).
struct Weights {
    seeds: Vec<Vec<u8>>,
}

impl Target for Weights {
    fn seeds(&self) -> Vec<Vec<u8>> {
        self.seeds.clone()
    }
    fn run(&mut self, path: &Path, _: &[u8]) -> Result<String, String> {
        load_vgg_weights(path, None)
            .map(|w| format!("{:?} {} convs", w.arch, w.convs.len()))
            .map_err(|e| e.to_string())
    }
}

fn weights_seeds(target: &str, sub: &str, exts: &[&str]) -> Weights {
    let mut seeds = fixtures(sub, exts);
    seeds.extend(corpus(target));
    Weights { seeds }
}

#[test]
fn fuzz_pth_zip() {
    fuzz("pth_zip", weights_seeds("pth_zip", "pth", &["_zip.pth"]));
}

#[test]
fn fuzz_pth_legacy() {
    fuzz(
        "pth_legacy",
        weights_seeds("pth_legacy", "pth", &["_legacy.pth"]),
    );
}

#[test]
fn fuzz_keras_h5() {
    fuzz("keras_h5", weights_seeds("keras_h5", "h5", &[".h5"]));
}

#[test]
fn fuzz_safetensors() {
    fuzz("safetensors", weights_seeds("safetensors", "-", &[]));
}

/// Raw bytes through `load_image_with_limits`, with limits (2048 px a side,
/// 64 MiB) well inside the heap limit.
struct Images;

impl Target for Images {
    fn seeds(&self) -> Vec<Vec<u8>> {
        corpus("image")
    }
    fn run(&mut self, path: &Path, _: &[u8]) -> Result<String, String> {
        let limits = ImageLimits {
            max_width: 2048,
            max_height: 2048,
            max_alloc: 64 << 20,
        };
        load_image_with_limits(path, &limits)
            .map(|im| format!("{:?}", im.color()))
            .map_err(|e| e.to_string())
    }
}

#[test]
fn fuzz_image() {
    fuzz("image", Images);
}

// --- pth zip checkpoints with the pickle mutated -----------------------------

/// A zip checkpoint's entries, name and bytes.
type Entries = Vec<(String, Vec<u8>)>;

fn unzip(bytes: &[u8]) -> Entries {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut data).unwrap();
            (f.name().to_string(), data)
        })
        .collect()
}

fn rezip(entries: &Entries) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        w.start_file(name.as_str(), opts).unwrap();
        std::io::Write::write_all(&mut w, data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The pickle of a zip checkpoint mutated (and sometimes a storage
/// truncated), then the archive rebuilt, so the pickle machine sees the
/// changes instead of the zip reader's CRC check.
struct ZipPickle {
    checkpoints: Vec<Entries>,
}

impl Target for ZipPickle {
    fn seeds(&self) -> Vec<Vec<u8>> {
        // The pool holds pickles; `run` packs them into a checkpoint.
        self.checkpoints
            .iter()
            .filter_map(|c| c.iter().find(|(n, _)| n.ends_with("data.pkl")))
            .map(|(_, p)| p.clone())
            .chain(corpus("pickle"))
            .collect()
    }
    fn input(&mut self, rng: &mut StdRng, pool: &[Vec<u8>]) -> Vec<u8> {
        let mut data = pool[rng.random_range(0..pool.len())].clone();
        let other = &pool[rng.random_range(0..pool.len())];
        mutate(rng, &mut data, other);
        if rng.random_bool(0.3) {
            insert_op(rng, &mut data);
        }
        // The first byte picks the checkpoint whose storages go along.
        data.insert(0, rng.random());
        data
    }
    fn run(&mut self, path: &Path, input: &[u8]) -> Result<String, String> {
        // Seeds come without the selector byte: they are pickles starting
        // with PROTO (0x80).
        let (which, pickle) = match input.split_first() {
            Some((&b, rest)) if b != 0x80 => (usize::from(b), rest),
            _ => (0, input),
        };
        let mut entries = self.checkpoints[which % self.checkpoints.len()].clone();
        for (name, data) in &mut entries {
            if name.ends_with("data.pkl") {
                *data = pickle.to_vec();
            } else if which >= 200 && name.contains("/data/") {
                data.truncate(data.len() / 2);
            }
        }
        std::fs::write(path, rezip(&entries)).unwrap();
        load_vgg_weights(path, None)
            .map(|w| format!("{} convs", w.convs.len()))
            .map_err(|e| e.to_string())
    }
}

/// Inserts one well-formed opcode (with its argument) somewhere.
fn insert_op(rng: &mut StdRng, data: &mut Vec<u8>) {
    let mut op = Vec::new();
    random_op(rng, &mut op, &mut Vec::new());
    let i = rng.random_range(0..=data.len());
    data.splice(i..i, op);
}

#[test]
fn fuzz_pickle() {
    let checkpoints = fixtures("pth", &["_zip.pth"])
        .iter()
        .map(|b| unzip(b))
        .collect();
    fuzz("pickle", ZipPickle { checkpoints });
}

// --- the allow-list of globals -------------------------------------------------

/// The globals a `.pth` pickle may name: what `torch.save` writes for a
/// state dict (the module docs of `weights/pth.rs`).
fn allowed(module: &str, name: &str) -> bool {
    const STORAGES: [&str; 10] = [
        "DoubleStorage",
        "FloatStorage",
        "HalfStorage",
        "BFloat16Storage",
        "LongStorage",
        "IntStorage",
        "ShortStorage",
        "CharStorage",
        "ByteStorage",
        "BoolStorage",
    ];
    match module {
        "collections" => name == "OrderedDict",
        "torch._utils" => matches!(
            name,
            "_rebuild_tensor"
                | "_rebuild_tensor_v2"
                | "_rebuild_parameter"
                | "_rebuild_parameter_with_state"
        ),
        "torch" => name == "Size" || STORAGES.contains(&name),
        _ => false,
    }
}

const MODULES: [&str; 12] = [
    "collections",
    "torch._utils",
    "torch",
    "builtins",
    "os",
    "posix",
    "subprocess",
    "__builtin__",
    "torch._utils ",
    "torch.nn",
    "numpy.core.multiarray",
    "",
];
const NAMES: [&str; 16] = [
    "OrderedDict",
    "_rebuild_tensor_v2",
    "_rebuild_tensor",
    "_rebuild_parameter",
    "FloatStorage",
    "LongStorage",
    "Size",
    "eval",
    "exec",
    "system",
    "Popen",
    "getattr",
    "__import__",
    "FooStorage",
    "Storage",
    "_reconstruct",
];

fn random_name(rng: &mut StdRng, list: &[&str]) -> String {
    if rng.random_bool(0.85) {
        list[rng.random_range(0..list.len())].to_string()
    } else {
        let n = rng.random_range(0..12);
        (0..n)
            .map(|_| char::from(rng.random_range(b' '..=b'~')))
            .filter(|&c| c != '\n')
            .collect()
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    if s.len() < 256 {
        out.push(0x8c); // SHORT_BINUNICODE
        out.push(s.len() as u8);
    } else {
        out.push(b'X');
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

/// Globals in a pickle: (byte offset of the opcode, module, name).
type Globals = Vec<(usize, String, String)>;

/// Appends one opcode with a well-formed argument. A global whose name is
/// known when it runs (GLOBAL, or STACK_GLOBAL right after its two strings)
/// is recorded in `globals` as (offset in `out`, module, name). Returns
/// false when it wrote a raw byte, after which the opcodes as written no
/// longer tell where the machine's opcodes start.
fn random_op(rng: &mut StdRng, out: &mut Vec<u8>, globals: &mut Globals) -> bool {
    match rng.random_range(0..24) {
        0 | 1 => {
            let (m, n) = (random_name(rng, &MODULES), random_name(rng, &NAMES));
            globals.push((out.len(), m.clone(), n.clone()));
            out.push(b'c');
            out.extend_from_slice(m.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(n.as_bytes());
            out.push(b'\n');
        }
        2 | 3 => {
            let (m, n) = (random_name(rng, &MODULES), random_name(rng, &NAMES));
            push_str(out, &m);
            push_str(out, &n);
            globals.push((out.len(), m, n));
            out.push(0x93);
        }
        4 => out.push(0x93), // STACK_GLOBAL on whatever the stack holds
        5 | 6 => out.push(b'R'),
        7 => out.push(0x81),
        8 => out.push(b'b'),
        9 => out.push(b'('),
        10 => out.push([b't', b'l', b'd', 0x85, 0x86, 0x87][rng.random_range(0..6)]),
        11 => out.push([b')', b']', b'}', b'N', 0x88, 0x89][rng.random_range(0..6)]),
        12 => {
            out.push(b'K');
            out.push(rng.random());
        }
        13 => {
            out.push(b'J');
            out.extend_from_slice(&rng.random::<i32>().to_le_bytes());
        }
        14 => {
            let s = random_name(
                rng,
                &["storage", "0", "1", "cpu", "module", "features.0.weight"],
            );
            push_str(out, &s);
        }
        15 => out.push(b'Q'),
        16 => out.push([b's', b'u', b'a', b'e'][rng.random_range(0..4)]),
        17 => {
            out.push(b'q');
            out.push(rng.random_range(0..4));
        }
        18 => {
            out.push(b'h');
            out.push(rng.random_range(0..4));
        }
        19 => out.push(0x94),
        20 => out.push([b'0', b'1', b'2'][rng.random_range(0..3)]),
        21 => {
            out.push(0x8a);
            let n = rng.random_range(0..=9u8);
            out.push(n);
            out.extend((0..n).map(|_| rng.random::<u8>()));
        }
        22 => {
            // V (UNICODE, text): module-like names with escapes.
            out.push(b'V');
            out.extend_from_slice(random_name(rng, &MODULES).as_bytes());
            out.push(b'\n');
        }
        _ => {
            out.push(rng.random()); // any byte, opcode or not
            return false;
        }
    }
    true
}

/// A random pickle: legacy checkpoint headers, then a main pickle of random
/// opcodes. Returns it and the globals the machine will meet, in order.
fn random_pickle(rng: &mut StdRng) -> (Vec<u8>, Globals) {
    // Magic number, protocol version 1001, sys_info {}: a valid legacy start.
    let mut out = vec![0x80, 0x02, 0x8a, 0x0a];
    out.extend_from_slice(&0x1950_a86a_20f9_469c_fc6c_u128.to_le_bytes()[..10]);
    out.extend_from_slice(&[
        b'.', 0x80, 0x02, b'M', 0xe9, 0x03, b'.', 0x80, 0x02, b'}', b'.',
    ]);
    out.extend_from_slice(&[0x80, 0x02]);
    let mut globals = Vec::new();
    let mut synced = true;
    for _ in 0..rng.random_range(1..40) {
        let mut met = Vec::new();
        synced &= random_op(rng, &mut out, &mut met);
        if synced {
            globals.extend(met);
        }
    }
    out.push(b'.');
    (out, globals)
}

/// Byte offset of the opcode an error names (`opcode X at byte N`).
fn error_offset(e: &str) -> Option<usize> {
    let rest = &e[e.find("opcode ")?..];
    let rest = &rest[rest.find(" at byte ")? + 9..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Random pickles; remembers the globals of the one it made last.
#[derive(Default)]
struct PickleGlobals {
    last: Option<(Vec<u8>, Globals)>,
    /// Inputs stopped at their first forbidden global / by an error before it.
    stopped_at: u64,
    stopped_before: u64,
}

impl Target for PickleGlobals {
    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut rng = StdRng::seed_from_u64(0);
        let mut seeds = corpus("pickle_globals");
        seeds.push(random_pickle(&mut rng).0);
        seeds
    }
    fn input(&mut self, rng: &mut StdRng, _pool: &[Vec<u8>]) -> Vec<u8> {
        let (pickle, globals) = random_pickle(rng);
        self.last = Some((pickle.clone(), globals));
        pickle
    }
    fn run(&mut self, path: &Path, input: &[u8]) -> Result<String, String> {
        let result = load_vgg_weights(path, None);
        // The first forbidden global the machine meets must stop it, with an
        // error naming it, unless something before it already did.
        let globals = match self.last.take() {
            Some((made, globals)) if made == input => globals,
            _ => Vec::new(),
        };
        let forbidden = globals.iter().find(|(_, m, n)| !allowed(m, n));
        if let Some((at, m, n)) = forbidden {
            let Err(e) = &result else {
                panic!("forbidden global `{m}.{n}` at byte {at} was accepted");
            };
            let e = e.to_string();
            let stop =
                error_offset(&e).unwrap_or_else(|| panic!("error without an opcode offset: {e}"));
            assert!(
                stop <= *at,
                "the reader went past forbidden `{m}.{n}` at byte {at}: {e}"
            );
            if stop < *at {
                self.stopped_before += 1;
            } else {
                self.stopped_at += 1;
                assert!(
                    e.contains(&format!("`{m}.{n}`")) || e.contains(&format!("`torch.{n}`")),
                    "the error at the global does not name `{m}.{n}`: {e}"
                );
            }
        }
        result
            .map(|w| format!("{} convs", w.convs.len()))
            .map_err(|e| e.to_string())
    }
    fn summary(&self) -> String {
        format!(
            "{} inputs stopped at their first forbidden global, {} by an error before it",
            self.stopped_at, self.stopped_before
        )
    }
}

#[test]
fn fuzz_pickle_globals() {
    fuzz("pickle_globals", PickleGlobals::default());
}

#[test]
fn allow_list_matches_the_documented_globals() {
    for (m, n) in [
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch", "FloatStorage"),
    ] {
        assert!(allowed(m, n));
    }
    for (m, n) in [
        ("builtins", "eval"),
        ("os", "system"),
        ("torch", "FooStorage"),
    ] {
        assert!(!allowed(m, n));
    }
}

/// The property `pickle_globals` checks, on hand-written pickles: each
/// forbidden global is refused where it stands, naming it.
#[test]
fn forbidden_globals_are_refused_where_they_stand() {
    // (main pickle's opcodes, offset of the forbidden global in them, module, name)
    let cases: [(&[u8], usize, &str, &str); 4] = [
        (b"cos\nsystem\n", 0, "os", "system"),
        (b"\x8c\x08builtins\x8c\x04eval\x93", 16, "builtins", "eval"),
        (b"ctorch\nFooStorage\n", 0, "torch", "FooStorage"),
        // An allowed global called first, then a forbidden one.
        (
            b"ccollections\nOrderedDict\n)R\x8c\x0asubprocess\x8c\x05Popen\x93",
            46,
            "subprocess",
            "Popen",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("globals.pth");
    for (ops, offset, module, name) in cases {
        let mut rng = StdRng::seed_from_u64(0);
        let (mut pickle, _) = random_pickle(&mut rng);
        // Keep the legacy headers and the main pickle's PROTO (27 bytes).
        pickle.truncate(27);
        let at = pickle.len() + offset;
        pickle.extend_from_slice(ops);
        pickle.push(b'.');
        std::fs::write(&path, &pickle).unwrap();
        let mut target = PickleGlobals {
            last: Some((pickle.clone(), vec![(at, module.into(), name.into())])),
            ..PickleGlobals::default()
        };
        let e = target.run(&path, &pickle).unwrap_err();
        assert_eq!(target.stopped_at, 1, "{module}.{name}: {e}");
        assert!(e.contains(&format!("{module}.{name}")), "{e}");
    }
}
