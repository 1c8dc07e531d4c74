//! A stop asked for while a run sets up (the network reading the photo and
//! the paintings, seconds at a large size, where no iteration reports):
//! the fast engine looks at the flag before each layer; a run stopped
//! before its first iteration is [`Error::Stopped`], one stopped while a
//! later scale sets up returns the result so far.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use image::{DynamicImage, Rgb32FImage};

use crate::architecture::{Architecture, Pooling};
use crate::engine::{Network, Planar, TargetImages};
use crate::fast::FastVgg;
use crate::objective::Weights;
use crate::{Error, Iteration, Observer, Scales, SimdLevel, StopSignal, StyleConfig, Stylizer};

use super::random;

fn picture(w: u32, h: u32, k: u32) -> DynamicImage {
    DynamicImage::ImageRgb32F(Rgb32FImage::from_fn(w, h, |x, y| {
        let v = |c: u32| ((x * (3 + c) + y * (5 + k) + c * 7) % 17) as f32 / 17.0;
        image::Rgb([v(0), v(1), v(2)])
    }))
}

/// Sets its flag when the run starts (`at: None`) or at iteration `at`,
/// without ever asking for a stop through `iteration`.
struct SetsFlag {
    flag: Arc<AtomicBool>,
    at: Option<usize>,
    iterations: usize,
}

impl Observer for SetsFlag {
    fn started(&mut self, _: &crate::RunInfo) {
        if self.at.is_none() {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
    fn iteration(&mut self, it: &Iteration<'_>) -> ControlFlow<()> {
        self.iterations = it.iteration;
        if Some(it.iteration) == self.at {
            self.flag.store(true, Ordering::SeqCst);
        }
        ControlFlow::Continue(())
    }
    fn stop_signal(&self) -> Option<StopSignal> {
        Some(StopSignal::new(Arc::clone(&self.flag)))
    }
}

#[test]
fn the_fast_engine_stops_its_set_up_when_asked() {
    let weights = random::random_weights(Architecture::Vgg16, 5);
    let net = FastVgg::with_simd(&weights, SimdLevel::Best);
    let config = StyleConfig::gatys();
    let layers = config.resolve_layers(Architecture::Vgg16).unwrap();
    let pixels = vec![0.5f32; 3 * 32 * 32];
    let image = Planar::new(&pixels, (32, 32)).unwrap();
    let styles = [(image, 1.0)];
    let flag = Arc::new(AtomicBool::new(false));
    let stop = StopSignal::new(Arc::clone(&flag));
    let images = TargetImages {
        layers: &layers,
        content: image,
        styles: &styles,
        weights: Weights {
            alpha: 1.0,
            beta: 1.0,
            tv: 0.0,
        },
        pooling: Pooling::Max,
        stop: Some(&stop),
    };
    assert!(net.targets(&images).is_ok());
    flag.store(true, Ordering::SeqCst);
    assert!(matches!(net.targets(&images), Err(Error::Stopped)));
}

#[test]
fn a_stop_before_the_first_iteration_paints_nothing() {
    let stylizer = Stylizer::new(&random::random_weights(Architecture::Vgg16, 6));
    let (content, style) = (picture(80, 60, 1), picture(64, 64, 2));
    let config = StyleConfig::gatys().with_size(64).with_iterations(3);
    let mut observer = SetsFlag {
        flag: Arc::default(),
        at: None,
        iterations: 0,
    };
    let out = stylizer.stylize(&content, &[style], &config, &mut observer);
    assert!(matches!(out, Err(Error::Stopped)), "{out:?}");
    assert_eq!(observer.iterations, 0);
}

#[test]
fn a_stop_while_a_later_scale_sets_up_keeps_the_result_so_far() {
    let stylizer = Stylizer::new(&random::random_weights(Architecture::Vgg16, 7));
    let (content, style) = (picture(120, 90, 1), picture(64, 64, 2));
    let config = StyleConfig::gatys()
        .with_size(96)
        .with_iterations(3)
        .with_scales(Scales::Fixed(2));
    let mut observer = SetsFlag {
        flag: Arc::default(),
        at: Some(3),
        iterations: 0,
    };
    let out = stylizer
        .stylize(&content, &[style], &config, &mut observer)
        .unwrap();
    assert!(out.stopped);
    assert_eq!((out.iterations, observer.iterations), (3, 3));
    assert_eq!((out.image.width(), out.image.height()), (120, 90));
}

/// Asks for a stop through `iteration` at iteration `at`.
struct BreaksAt {
    at: usize,
}

impl Observer for BreaksAt {
    fn iteration(&mut self, it: &Iteration<'_>) -> ControlFlow<()> {
        if it.iteration >= self.at {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// `stopped` means stopped before the planned end: a stop asked for at the
/// last planned iteration leaves the run whole; one asked for earlier, or
/// at the end of a scale before the last, does not.
#[test]
fn a_stop_at_the_last_iteration_leaves_the_run_whole() {
    let stylizer = Stylizer::new(&random::random_weights(Architecture::Vgg16, 8));
    let (content, style) = (picture(80, 60, 1), picture(64, 64, 2));
    let one = StyleConfig::default()
        .with_optimizer(crate::Optimizer::Adam)
        .with_size(64)
        .with_iterations(3);
    let two = one.clone().with_size(96).with_scales(Scales::Fixed(2));
    for (config, at, iterations, stopped) in [
        (&one, 3, 3, false),
        (&one, 2, 2, true),
        (&two, 6, 6, false),
        (&two, 3, 3, true),
    ] {
        let out = stylizer
            .stylize(
                &content,
                std::slice::from_ref(&style),
                config,
                &mut BreaksAt { at },
            )
            .unwrap();
        assert_eq!(
            (out.iterations, out.stopped),
            (iterations, stopped),
            "a stop at {at} of {} scale(s)",
            config.scales.sizes(config.size).len()
        );
    }
}

/// Asks for a stop at frame `frame`'s iteration `at`, never in
/// `frame_done`.
struct VideoBreaksAt {
    frame: usize,
    at: usize,
    done: Vec<usize>,
}

impl crate::video::VideoObserver for VideoBreaksAt {
    fn iteration(&mut self, frame: usize, it: &Iteration<'_>) -> ControlFlow<()> {
        if frame == self.frame && it.iteration >= self.at {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
    fn frame_done(&mut self, result: &crate::video::FrameResult) -> ControlFlow<()> {
        self.done.push(result.index);
        ControlFlow::Continue(())
    }
}

/// A video frame stopped at its last iteration is whole: kept, and the
/// run stops after it (the stop was asked for), as one stopped sooner is
/// dropped and stops the run.
#[test]
fn a_video_stopped_at_a_frame_s_last_iteration_keeps_that_frame() {
    use crate::video::{stylize_video, VideoConfig, WorkDir};
    let stylizer = Stylizer::new(&random::random_weights(Architecture::Vgg16, 9));
    let style = picture(64, 64, 2);
    let config = VideoConfig::default()
        .with_image(
            StyleConfig::default()
                .with_optimizer(crate::Optimizer::Adam)
                .with_size(48)
                .with_scales(Scales::Fixed(1))
                .with_iterations(2),
        )
        .with_frame_iterations(Some(2));
    for (at, kept) in [(2, 2), (1, 1)] {
        let dir = tempfile::tempdir().unwrap();
        let mut work = WorkDir::open(&dir.path().join("w"), "key").unwrap();
        let mut frames = (0..4).map(|k| Ok(picture(64, 48, k)));
        let mut observer = VideoBreaksAt {
            frame: 1,
            at,
            done: Vec::new(),
        };
        let summary = stylize_video(
            &stylizer,
            &mut frames,
            Some(4),
            std::slice::from_ref(&style),
            &config,
            &mut work,
            &mut observer,
        )
        .unwrap();
        assert!(summary.stopped, "a stop at {at}");
        assert_eq!(
            (summary.frames, work.finished(), observer.done.len()),
            (kept, kept, kept),
            "a stop at {at}"
        );
    }
}
