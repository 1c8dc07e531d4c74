//! State belongs to a run: two stylizers running at once in two threads
//! give the same bits as each alone, and the memory a run's engine takes
//! (its recycled buffers) is returned when the run or problem ends. The
//! heap is measured with a counting allocator.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "common/random.rs"]
mod random;

use std::alloc::System;
use std::sync::Mutex;

use cap::Cap;
use image::{DynamicImage, Rgb32FImage};
use random::random_weights;
use stylize::{Architecture, NoObserver, StyleConfig, Stylizer};

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

/// The heap tests measure the whole process: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn picture(w: u32, h: u32, k: u32) -> DynamicImage {
    DynamicImage::ImageRgb32F(Rgb32FImage::from_fn(w, h, |x, y| {
        let v = |c: u32| ((x * (3 + c) + y * (5 + k) + c * 7) % 17) as f32 / 17.0;
        image::Rgb([v(0), v(1), v(2)])
    }))
}

fn run(s: &Stylizer, content: &DynamicImage, style: &DynamicImage) -> Vec<u32> {
    let config = StyleConfig::gatys().with_size(96).with_iterations(3);
    let out = s
        .stylize(
            content,
            std::slice::from_ref(style),
            &config,
            &mut NoObserver,
        )
        .unwrap();
    out.working_image.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn two_stylizers_in_two_threads_give_the_same_bits_as_each_alone() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let a = Stylizer::new(&random_weights(Architecture::Vgg16, 1))
        .with_threads(1)
        .unwrap();
    let b = Stylizer::new(&random_weights(Architecture::Vgg19, 2))
        .with_threads(1)
        .unwrap();
    let (ca, sa) = (picture(96, 80, 0), picture(64, 64, 1));
    let (cb, sb) = (picture(80, 96, 2), picture(72, 60, 3));
    let alone = (run(&a, &ca, &sa), run(&b, &cb, &sb));
    for _ in 0..2 {
        let together = std::thread::scope(|scope| {
            let ta = scope.spawn(|| run(&a, &ca, &sa));
            let tb = scope.spawn(|| run(&b, &cb, &sb));
            (ta.join().unwrap(), tb.join().unwrap())
        });
        assert!(
            together.0 == alone.0,
            "stylizer A changed when run beside B"
        );
        assert!(
            together.1 == alone.1,
            "stylizer B changed when run beside A"
        );
    }
}

#[test]
fn a_run_returns_its_memory_when_it_ends() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = Stylizer::new(&random_weights(Architecture::Vgg16, 3))
        .with_threads(2)
        .unwrap();
    let (content, style) = (picture(128, 128, 0), picture(128, 128, 1));
    let config = StyleConfig::gatys().with_size(128).with_iterations(2);
    // The first evaluation transforms the network's kernels (kept with the
    // network for its lifetime); measure after it.
    {
        let p = s
            .problem(&content, std::slice::from_ref(&style), &config)
            .unwrap();
        p.evaluate(&p.init).unwrap();
    }
    let baseline = HEAP.allocated();
    let problem = s
        .problem(&content, std::slice::from_ref(&style), &config)
        .unwrap();
    for _ in 0..2 {
        problem.evaluate(&problem.init).unwrap();
    }
    // Between evaluations the problem keeps its recycled buffers...
    let during = HEAP.allocated();
    assert!(
        during > baseline + (4 << 20),
        "the problem should hold its buffers between evaluations: {} MiB over the baseline",
        (during.saturating_sub(baseline)) >> 20
    );
    drop(problem);
    // ... and gives them back when it ends.
    let after = HEAP.allocated();
    assert!(
        after <= baseline + (1 << 20),
        "{} KiB still held after the problem ended (baseline {} KiB)",
        after.saturating_sub(baseline) >> 10,
        baseline >> 10
    );
    // The same for a whole run.
    run(&s, &content, &style);
    let after_run = HEAP.allocated();
    assert!(
        after_run <= baseline + (1 << 20),
        "{} KiB still held after a run",
        after_run.saturating_sub(baseline) >> 10
    );
}
