//! Images too small (or too elongated) for the deepest layer a cost reads
//! are refused before any work, naming which image and the size it has.

use image::DynamicImage;

use crate::architecture::Architecture;
use crate::observer::NoObserver;
use crate::preprocess::Preprocess;
use crate::weights::{ConvWeights, Format};
use crate::{StyleConfig, Stylizer, VggWeights};

fn zero_weights(arch: Architecture) -> VggWeights {
    VggWeights {
        arch,
        preprocess: Preprocess::TORCH,
        preprocess_reason: String::new(),
        convs: arch
            .kernel_shapes()
            .into_iter()
            .map(|shape| ConvWeights {
                name: String::new(),
                shape,
                kernel: vec![0.0; shape.iter().product()],
                bias: vec![0.0; shape[0]],
            })
            .collect(),
        path: Default::default(),
        format: Format::SafeTensors,
    }
}

#[test]
fn images_too_small_for_the_deepest_layer_are_refused_before_work() {
    let s = Stylizer::new(&zero_weights(Architecture::Vgg16));
    let square = DynamicImage::new_rgb8(64, 64);
    // 400x10 is 64x2 at a 64 px working size: block5 needs 16 px.
    let strip = DynamicImage::new_rgb8(400, 10);
    let deep = StyleConfig::default().with_size(64).with_iterations(1);
    let shallow = deep
        .clone()
        .with_content_layer("relu1_2")
        .with_style_layers(vec![("relu1_1".into(), 1.0)]);
    // (content, style, config, expected error or None for success)
    let cases = [
        (&square, &strip, &deep, Some("the style image is 64x2")),
        (&strip, &square, &deep, Some("the content image is 64x2")),
        (&strip, &square, &shallow, None),
    ];
    for (content, style, config, want) in cases {
        let out = s.stylize(
            content,
            std::slice::from_ref(style),
            config,
            &mut NoObserver,
        );
        match (out, want) {
            (Err(e), Some(msg)) => assert!(e.to_string().contains(msg), "{e}"),
            (Ok(out), None) => assert_eq!(
                (out.image.width(), out.image.height()),
                (content.width(), content.height())
            ),
            (out, want) => panic!("expected {want:?}, got {:?}", out.map(|o| o.iterations)),
        }
    }
}
