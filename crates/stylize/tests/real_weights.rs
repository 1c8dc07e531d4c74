//! End to end on real pretrained weights: the HED/VGG16 file read through
//! the same loading code users use.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use std::ops::ControlFlow;

use image::GenericImageView;
use stylize::{
    load_image, load_vgg_weights, Architecture, Iteration, Observer, Preprocess, StyleConfig,
    Stylizer,
};

#[test]
fn real_weights_load_as_vgg16_with_hed_preprocessing() {
    let Some(path) = common::hed_weights("real_weights_load_as_vgg16_with_hed_preprocessing")
    else {
        return;
    };
    let w = load_vgg_weights(&path, None).unwrap();
    assert_eq!(w.arch, Architecture::Vgg16);
    assert_eq!(w.preprocess, Preprocess::HED);
    assert_eq!(w.convs.len(), 13);
    assert_eq!(w.convs[0].shape, [64, 3, 3, 3]);
    assert_eq!(w.convs[12].shape, [512, 512, 3, 3]);
}

struct Record(Vec<f64>);

impl Observer for Record {
    fn iteration(&mut self, it: &Iteration<'_>) -> ControlFlow<()> {
        self.0.push(it.total);
        ControlFlow::Continue(())
    }
}

#[test]
fn real_weights_end_to_end_cost_falls_and_output_is_valid() {
    let Some(path) = common::hed_weights("real_weights_end_to_end_cost_falls_and_output_is_valid")
    else {
        return;
    };
    let stylizer = Stylizer::new(&load_vgg_weights(&path, None).unwrap());
    let content = load_image(&common::asset("chelsea.jpg")).unwrap();
    let style = load_image(&common::asset("starry_night.jpg")).unwrap();
    let config = StyleConfig::default().with_size(112).with_iterations(50);
    let mut costs = Record(Vec::new());
    let out = stylizer
        .stylize(&content, std::slice::from_ref(&style), &config, &mut costs)
        .unwrap();
    let costs = costs.0;
    assert_eq!(costs.len(), 50);
    assert_eq!(out.iterations, 50);
    let (first, last) = (costs[0], *costs.last().unwrap());
    eprintln!("total cost {first:e} -> {last:e}");
    assert!(last < first / 2.0, "cost {first:e} -> {last:e}");
    assert!(costs.iter().all(|c| c.is_finite()));
    // The content's original size, not the working size.
    assert_eq!(out.image.dimensions(), content.dimensions());
    let content8 = content.to_rgb8();
    let image = out.image.to_rgb8();
    let diff: f64 = image
        .as_raw()
        .iter()
        .zip(content8.as_raw())
        .map(|(a, b)| f64::from((i16::from(*a) - i16::from(*b)).abs()))
        .sum::<f64>()
        / image.as_raw().len() as f64;
    assert!(
        diff > 3.0,
        "output barely differs from the content (mean |diff| {diff:.2} levels)"
    );
    // A valid image file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.png");
    stylize::save_image(&out.image, &file).unwrap();
    let back = load_image(&file).unwrap();
    assert_eq!(back.dimensions(), content.dimensions());
    assert_eq!(back.to_rgb8(), image);
}

struct StopAt(usize);

impl Observer for StopAt {
    fn iteration(&mut self, it: &Iteration<'_>) -> ControlFlow<()> {
        if it.iteration >= self.0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

#[test]
fn real_weights_same_seed_same_bits_and_early_stop() {
    let Some(stylizer) = common::real_stylizer("real_weights_same_seed_same_bits_and_early_stop")
    else {
        return;
    };
    let content = load_image(&common::asset("coffee.jpg")).unwrap();
    let style = load_image(&common::asset("great_wave.jpg")).unwrap();
    let config = StyleConfig::default().with_size(64).with_iterations(6);
    let run = |c: &StyleConfig| {
        stylizer
            .stylize(
                &content,
                std::slice::from_ref(&style),
                c,
                &mut stylize::NoObserver,
            )
            .unwrap()
            .image
    };
    let a = run(&config);
    assert_eq!(a, run(&config), "same seed, different output");
    assert_ne!(
        a,
        run(&config.clone().with_seed(1)),
        "the seed changes nothing"
    );
    let stopped = stylizer
        .stylize(
            &content,
            std::slice::from_ref(&style),
            &config,
            &mut StopAt(2),
        )
        .unwrap();
    assert_eq!(stopped.iterations, 2);
}
