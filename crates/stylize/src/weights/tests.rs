//! Recognising VGG16/VGG19 in lists of named tensors, in each naming scheme.

use super::*;

/// Full-size tensors named the torchvision way. Kernel values encode their
/// position so that the test can check the mapping.
fn torch_names(arch: Architecture) -> Vec<RawTensor> {
    let mut out = Vec::new();
    for (pos, (idx, shape)) in torch_indices(arch)
        .into_iter()
        .zip(arch.kernel_shapes())
        .enumerate()
    {
        out.push(RawTensor {
            name: format!("features.{idx}.weight"),
            shape: shape.to_vec(),
            data: vec![pos as f32; shape.iter().product()],
        });
        out.push(RawTensor {
            name: format!("features.{idx}.bias"),
            shape: vec![shape[0]],
            data: vec![-(pos as f32); shape[0]],
        });
    }
    // A classifier layer, to be ignored.
    out.push(RawTensor {
        name: "classifier.0.weight".into(),
        shape: vec![4, 8],
        data: vec![0.0; 32],
    });
    out
}

/// Keras 2 names, HWIO kernels whose values are `o*1000 + i*100 + h*10 + w`.
fn keras_names(arch: Architecture) -> Vec<RawTensor> {
    let mut out = Vec::new();
    for ((b, c), [o, i, kh, kw]) in arch.conv_positions().into_iter().zip(arch.kernel_shapes()) {
        let mut data = vec![0.0; o * i * kh * kw];
        for y in 0..kh {
            for x in 0..kw {
                for ic in 0..i {
                    for oc in 0..o {
                        data[((y * kw + x) * i + ic) * o + oc] =
                            (oc * 1000 + ic * 100 + y * 10 + x) as f32;
                    }
                }
            }
        }
        out.push(RawTensor {
            name: format!("block{b}_conv{c}/block{b}_conv{c}_W_1:0"),
            shape: vec![kh, kw, i, o],
            data,
        });
        out.push(RawTensor {
            name: format!("block{b}_conv{c}/block{b}_conv{c}_b_1:0"),
            shape: vec![o],
            data: vec![0.5; o],
        });
    }
    out
}

fn p() -> &'static Path {
    Path::new("w.bin")
}

#[test]
fn torchvision_names_give_the_right_architecture_and_order() {
    for arch in [Architecture::Vgg16, Architecture::Vgg19] {
        let (got, convs) = vgg_from_tensors(p(), &torch_names(arch), KernelLayout::Oihw).unwrap();
        assert_eq!(got, arch);
        assert_eq!(convs.len(), arch.conv_count());
        for (pos, c) in convs.iter().enumerate() {
            assert_eq!(c.kernel[0], pos as f32);
            assert_eq!(c.bias[0], -(pos as f32));
        }
    }
}

#[test]
fn keras_names_are_transposed_to_oihw() {
    let (arch, convs) =
        vgg_from_tensors(p(), &keras_names(Architecture::Vgg19), KernelLayout::Hwio).unwrap();
    assert_eq!(arch, Architecture::Vgg19);
    let c = &convs[1]; // block1_conv2: [64, 64, 3, 3]
    assert_eq!(c.shape, [64, 64, 3, 3]);
    let at = |o: usize, i: usize, y: usize, x: usize| c.kernel[((o * 64 + i) * 3 + y) * 3 + x];
    assert_eq!(at(5, 7, 2, 1), 5721.0);
    assert_eq!(at(63, 0, 0, 2), 63002.0);
}

#[test]
fn keras3_sequential_names_in_natural_order_skipping_1x1() {
    let arch = Architecture::Vgg16;
    let mut tensors = Vec::new();
    for (k, ((b, _), [o, i, kh, kw])) in arch
        .conv_positions()
        .into_iter()
        .zip(arch.kernel_shapes())
        .enumerate()
    {
        let layer = if k == 0 {
            "conv2d".to_string()
        } else {
            format!("conv2d_{k}")
        };
        tensors.push(RawTensor {
            name: format!("block{b}/layers/{layer}/vars/0"),
            shape: vec![kh, kw, i, o],
            data: vec![k as f32; o * i * kh * kw],
        });
        tensors.push(RawTensor {
            name: format!("block{b}/layers/{layer}/vars/1"),
            shape: vec![o],
            data: vec![0.0; o],
        });
    }
    // A side output (1x1) that is not part of VGG.
    tensors.push(RawTensor {
        name: "block1/layers/side/vars/0".into(),
        shape: vec![1, 1, 64, 1],
        data: vec![0.0; 64],
    });
    // Shuffle so that order comes from the names, not the list.
    tensors.reverse();
    let (got, convs) = vgg_from_tensors(p(), &tensors, KernelLayout::Hwio).unwrap();
    assert_eq!(got, arch);
    for (k, c) in convs.iter().enumerate() {
        assert_eq!(c.kernel[0], k as f32, "conv {k} out of order");
    }
}

#[test]
fn a_missing_layer_is_named_with_its_expected_shape() {
    let mut t = torch_names(Architecture::Vgg19);
    t.retain(|t| !t.name.starts_with("features.21."));
    let err = vgg_from_tensors(p(), &t, KernelLayout::Oihw).unwrap_err();
    assert!(matches!(err, Error::WeightsMissing { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("features.21.weight") && msg.contains("[512, 512, 3, 3]"),
        "{msg}"
    );

    let mut t = keras_names(Architecture::Vgg16);
    t.retain(|t| !t.name.contains("_b_1"));
    let msg = vgg_from_tensors(p(), &t, KernelLayout::Hwio)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("bias of `block1_conv1/block1_conv1_W_1:0`"),
        "{msg}"
    );

    // Named by block, the kernel gone and its bias left: the kernel is
    // what is missing, not the bias of the wrong shape.
    let mut t = keras_names(Architecture::Vgg16);
    t.retain(|t| t.name != "block1_conv2/block1_conv2_W_1:0");
    let err = vgg_from_tensors(p(), &t, KernelLayout::Hwio).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::WeightsMissing { .. }), "{msg}");
    assert!(
        msg.contains("block1_conv2 kernel") && msg.contains("[3, 3, 64, 64]"),
        "{msg}"
    );
}

#[test]
fn a_wrong_shape_is_named_with_both_shapes() {
    let mut t = torch_names(Architecture::Vgg16);
    let k = t
        .iter_mut()
        .find(|t| t.name == "features.2.weight")
        .unwrap();
    k.shape = vec![64, 32, 3, 3];
    k.data.truncate(64 * 32 * 9);
    let err = vgg_from_tensors(p(), &t, KernelLayout::Oihw).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::WeightsShape { .. }), "{msg}");
    assert!(
        msg.contains("`features.2.weight` has shape [64, 32, 3, 3], expected [64, 64, 3, 3]"),
        "{msg}"
    );
}

/// A kernel that is not 3x3, or a bias that is not a vector, is there
/// with the wrong shape: said so, not "missing".
#[test]
fn a_kernel_or_bias_of_another_rank_is_a_wrong_shape_not_a_missing_one() {
    let mut t = torch_names(Architecture::Vgg16);
    let k = t
        .iter_mut()
        .find(|t| t.name == "features.2.weight")
        .unwrap();
    k.shape = vec![64, 64, 9, 1];
    let err = vgg_from_tensors(p(), &t, KernelLayout::Oihw).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::WeightsShape { .. }), "{msg}");
    assert!(
        msg.contains("`features.2.weight` has shape [64, 64, 9, 1], expected [64, 64, 3, 3]"),
        "{msg}"
    );

    // Named by block, as Keras files are: the kernel is named too.
    let mut t = keras_names(Architecture::Vgg16);
    let k = t
        .iter_mut()
        .find(|t| t.name == "block1_conv2/block1_conv2_W_1:0")
        .unwrap();
    k.shape = vec![3, 3, 576];
    let err = vgg_from_tensors(p(), &t, KernelLayout::Hwio).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::WeightsShape { .. }), "{msg}");
    assert!(
        msg.contains(
            "`block1_conv2/block1_conv2_W_1:0` has shape [3, 3, 576], expected [3, 3, 64, 64]"
        ),
        "{msg}"
    );

    let mut t = torch_names(Architecture::Vgg16);
    let b = t.iter_mut().find(|t| t.name == "features.0.bias").unwrap();
    b.shape = vec![8, 8];
    let err = vgg_from_tensors(p(), &t, KernelLayout::Oihw).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::WeightsShape { .. }), "{msg}");
    assert!(
        msg.contains("`features.0.bias` has shape [8, 8], expected [64]"),
        "{msg}"
    );
}

#[test]
fn a_value_that_is_not_finite_is_named_by_tensor() {
    for (name, bad) in [
        ("features.0.bias", f32::NAN),
        ("features.5.weight", f32::INFINITY),
    ] {
        let mut t = torch_names(Architecture::Vgg16);
        let k = t.iter_mut().find(|t| t.name == name).unwrap();
        k.data[3] = bad;
        let err = vgg_from_tensors(p(), &t, KernelLayout::Oihw).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::WeightsFormat { .. }), "{msg}");
        assert!(
            msg.contains(&format!("`{name}` holds a value that is not finite"))
                && msg.contains("element 3"),
            "{msg}"
        );
    }
}

#[test]
fn no_convolutions_at_all_is_a_format_error() {
    let t = vec![RawTensor {
        name: "fc.weight".into(),
        shape: vec![2, 2],
        data: vec![0.0; 4],
    }];
    let err = vgg_from_tensors(p(), &t, KernelLayout::Oihw).unwrap_err();
    assert!(err.to_string().contains("no 3x3 convolution"), "{err}");
}

#[test]
fn format_is_detected_from_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], Option<Format>); 5] = [
        ("a.pth", b"\x89HDF\r\n\x1a\n........", Some(Format::KerasH5)),
        ("a.h5", b"PK\x03\x04rest-of-zip", Some(Format::Pth)),
        ("a.bin", b"\x80\x02\x8a\x0alegacy", Some(Format::Pth)),
        ("a.txt", b"hello, this is not weights", None),
        ("empty.pth", b"", None),
    ];
    for (name, bytes, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        match (detect_format(&path), want) {
            (Ok(f), Some(w)) => assert_eq!(f, w, "{name}"),
            (Err(e), None) => assert!(e.to_string().contains(name), "{e}"),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn natural_order() {
    let mut v = vec!["conv2d_10", "conv2d_2", "conv2d", "conv2d_1"];
    v.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(v, ["conv2d", "conv2d_1", "conv2d_2", "conv2d_10"]);
}

/// A full-size VGG16 written as safetensors with torchvision names, loaded
/// through the same entry point users use.
#[test]
fn load_vgg_weights_reads_a_safetensors_file_end_to_end() {
    use ::safetensors::tensor::TensorView;
    use ::safetensors::Dtype;
    let dir = tempfile::tempdir().unwrap();
    let encoded: Vec<(String, Vec<usize>, Vec<u8>)> = torch_names(Architecture::Vgg16)
        .into_iter()
        .map(|t| {
            let bytes = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (t.name, t.shape, bytes)
        })
        .collect();
    let write = |name: &str, keep: &dyn Fn(&str) -> bool| {
        let path = dir.path().join(name);
        let views = encoded.iter().filter(|(n, _, _)| keep(n)).map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        });
        ::safetensors::serialize_to_file(views, None, &path).unwrap();
        path
    };

    let full = write("vgg16.safetensors", &|_| true);
    let w = load_vgg_weights(&full, None).unwrap();
    assert_eq!(
        (w.arch, w.format, w.preprocess),
        (Architecture::Vgg16, Format::SafeTensors, Preprocess::TORCH)
    );
    assert_eq!(w.convs[3].kernel[0], 3.0);
    let w = load_vgg_weights(&full, Some(Preprocess::HED)).unwrap();
    assert_eq!(w.preprocess, Preprocess::HED);

    let partial = write("partial.safetensors", &|n| !n.starts_with("features.28."));
    let err = load_vgg_weights(&partial, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::WeightsMissing { .. }), "{msg}");
    assert!(
        msg.contains("partial.safetensors") && msg.contains("features.28.weight"),
        "{msg}"
    );
}

/// The torch-written fixture is a tiny VGG-like net: through the user's
/// entry point it must fail naming the first kernel and the shape VGG needs.
#[test]
fn load_vgg_weights_on_a_small_pth_names_the_wrong_tensor() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pth/vgg_legacy.pth");
    let err = load_vgg_weights(&path, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::WeightsShape { .. }), "{msg}");
    assert!(
        msg.contains("`features.0.weight` has shape [4, 3, 3, 3], expected [64, 3, 3, 3]"),
        "{msg}"
    );
}

/// A file cut short is said to be, from its first bytes and header alone,
/// before it is read whole: a safetensors file cut inside its header or its
/// tensors (before: "unknown format" and "not a safetensors file"), and a
/// Keras HDF5 file shorter than its superblock records (before: told fine
/// by `stylize info`). Whole files still detect.
#[test]
fn a_weights_file_cut_short_is_said_to_be() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    for (whole, says) in [
        (
            fixtures.join("fuzz_corpus/safetensors/conv.safetensors"),
            "a .safetensors file cut short",
        ),
        (
            fixtures.join("fixtures/h5/keras3_latest.weights.h5"),
            "truncated HDF5 file",
        ),
    ] {
        let bytes = std::fs::read(&whole).unwrap();
        let name = whole.file_name().unwrap();
        let cut_at = |n: usize| {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes[..n]).unwrap();
            detect_format(&path)
        };
        assert!(cut_at(bytes.len()).is_ok(), "{}", whole.display());
        let header_end = if says.contains("safetensors") {
            let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
            // Inside the header, too.
            let e = cut_at(8 + n / 2).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
            8 + n
        } else {
            64
        };
        let e = cut_at(header_end + (bytes.len() - header_end) / 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains(says) && e.contains("bytes"), "{e}");
    }
}

/// VGG16 weights built in memory from the torchvision names.
fn built(preprocess: Preprocess) -> VggWeights {
    let (arch, convs) =
        vgg_from_tensors(p(), &torch_names(Architecture::Vgg16), KernelLayout::Oihw).unwrap();
    VggWeights {
        arch,
        preprocess,
        preprocess_reason: "set by the test".into(),
        convs,
        path: PathBuf::new(),
        format: Format::Pth,
    }
}

/// A NaN or an infinity put into weights after loading is refused by
/// `check` (and so by every run), naming the tensor, as loading refuses
/// it: the run would otherwise paint with it silently.
#[test]
fn check_refuses_a_value_that_is_not_finite_by_tensor() {
    assert!(built(Preprocess::TORCH).check().is_ok());
    let mut w = built(Preprocess::TORCH);
    w.convs[3].kernel[0] = f32::NAN;
    let err = w.check().unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::WeightsFormat { .. }), "{msg}");
    assert!(
        msg.contains(&format!(
            "`{}` holds a value that is not finite",
            w.convs[3].name
        )) && msg.contains("NaN at element 0"),
        "{msg}"
    );
    let mut w = built(Preprocess::TORCH);
    w.convs[5].bias[2] = f32::NEG_INFINITY;
    let msg = w.check().unwrap_err().to_string();
    assert!(
        msg.contains(&format!("`{} (bias)`", w.convs[5].name)) && msg.contains("element 2"),
        "{msg}"
    );
}

/// A preprocessing whose standard deviation is 0 (or a mean or standard
/// deviation that is not finite) makes every input pixel infinite: refused
/// naming `preprocess` where it is given, not a divergence at the first
/// step advising smaller cost weights.
#[test]
fn an_unusable_preprocessing_is_refused_where_it_is_given() {
    let bad = [
        Preprocess::Torch {
            mean: [0.5; 3],
            std: [0.0; 3],
        },
        Preprocess::Torch {
            mean: [0.5; 3],
            std: [0.2, f32::NAN, 0.2],
        },
        Preprocess::Torch {
            mean: [f32::INFINITY, 0.5, 0.5],
            std: [0.2; 3],
        },
        Preprocess::Caffe {
            mean_bgr: [f32::NAN, 0.0, 0.0],
        },
    ];
    let is_preprocess =
        |e: &Error| matches!(e, Error::Parameter { name, .. } if name == "preprocess");
    for preprocess in bad {
        let err = built(preprocess).check().unwrap_err();
        assert!(is_preprocess(&err), "{preprocess:?}: {err}");
        // Refused before the file is read: it need not exist.
        let err = load_vgg_weights(Path::new("/nonexistent/w.pth"), Some(preprocess)).unwrap_err();
        assert!(is_preprocess(&err), "{preprocess:?}: {err}");
    }
    let err = built(bad[0]).check().unwrap_err().to_string();
    assert!(err.contains("std [0.0, 0.0, 0.0]"), "{err}");
    for good in [Preprocess::TORCH, Preprocess::HED, Preprocess::KERAS_CAFFE] {
        assert!(built(good).check().is_ok());
    }
}
