//! Frame folders in and out.

use stylize_frames::{open_source, Frame, FramesError, SinkOptions, SourceOptions};

use crate::bytes::with_exif_orientation;
use crate::common::*;

#[test]
fn folder_frames_in_natural_order() {
    let dir = tempdir();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    // frame1 .. frame12, colour k: a plain sort would put frame10 second.
    for k in 1..=12u8 {
        flat(W, H, [k * 10, 0, 0])
            .save(input.join(format!("frame{k}.png")))
            .unwrap();
    }
    std::fs::write(input.join("notes.txt"), "not a frame").unwrap();
    let (info, frames) = read_all(&input).unwrap();
    assert_eq!(
        (info.width, info.height, info.fps, info.frames),
        (W, H, None, Some(12))
    );
    let reds: Vec<u8> = frames.iter().map(|f| f.get_pixel(0, 0)[0]).collect();
    assert_eq!(reds, (1..=12u8).map(|k| k * 10).collect::<Vec<_>>());
    // A file name that is not UTF-8 is a frame like any other.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"frame13\xff.png");
        flat(W, H, [130, 0, 0]).save(input.join(odd)).unwrap();
        let (info, frames) = read_all(&input).unwrap();
        assert_eq!(info.frames, Some(13));
        assert_eq!(frames[12].get_pixel(0, 0)[0], 130);
    }
}

#[test]
fn folder_jpeg_alpha_and_tiff_frames() {
    let dir = tempdir();
    flat(W, H, [200, 100, 50])
        .save(dir.path().join("a1.jpg"))
        .unwrap();
    let mut rgba = image::RgbaImage::from_pixel(W, H, image::Rgba([0, 0, 0, 0]));
    rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 255]));
    rgba.save(dir.path().join("a2.png")).unwrap();
    // A TIFF frame (scanned film, an editor's export), either extension.
    flat(W, H, [10, 20, 30])
        .save(dir.path().join("a3.tif"))
        .unwrap();
    flat(W, H, [40, 50, 60])
        .save(dir.path().join("a4.tiff"))
        .unwrap();
    let (_, frames) = read_all(dir.path()).unwrap();
    assert_eq!(frames.len(), 4);
    assert!(max_diff(&frames[0], &flat(W, H, [200, 100, 50])) <= 3);
    assert_eq!(frames[2], flat(W, H, [10, 20, 30]));
    assert_eq!(frames[3], flat(W, H, [40, 50, 60]));
    // Transparent pixels are flattened onto the background (white).
    assert_eq!(frames[1].get_pixel(1, 1).0, [255, 255, 255]);
    assert_eq!(frames[1].get_pixel(0, 0).0, [0, 0, 0]);
    let options = SourceOptions {
        background: [0, 255, 0],
        ..SourceOptions::default()
    };
    let (_, frames) = read_all_with(dir.path(), &options).unwrap();
    assert_eq!(frames[1].get_pixel(1, 1).0, [0, 255, 0]);
}

#[test]
fn mixed_sizes_name_the_first_file_that_differs() {
    let dir = tempdir();
    flat(W, H, [0; 3]).save(dir.path().join("f1.png")).unwrap();
    flat(W, H, [0; 3]).save(dir.path().join("f2.png")).unwrap();
    flat(16, 16, [0; 3])
        .save(dir.path().join("f3.png"))
        .unwrap();
    flat(8, 8, [0; 3]).save(dir.path().join("f10.png")).unwrap();
    let err = open_source(dir.path(), &SourceOptions::default())
        .err()
        .unwrap();
    match &err {
        FramesError::SizeMismatch {
            path,
            found_width: 16,
            found_height: 16,
            width: W,
            height: H,
        } => {
            assert!(path.ends_with("f3.png"), "{path:?}")
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("f3.png") && text.contains("16x16") && text.contains("32x24"),
        "{text}"
    );
}

#[test]
fn empty_folder_is_an_error() {
    let dir = tempdir();
    let err = open_source(dir.path(), &SourceOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, FramesError::EmptyFolder { .. }), "{err}");
    std::fs::write(dir.path().join("readme.txt"), "x").unwrap();
    let err = open_source(dir.path(), &SourceOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("no frames in"), "{err}");
}

#[test]
fn unreadable_frame_is_an_error_naming_it() {
    let dir = tempdir();
    flat(W, H, [0; 3])
        .save(dir.path().join("frame1.png"))
        .unwrap();
    std::fs::write(dir.path().join("frame2.png"), b"\x89PNG\r\n\x1a\nbroken").unwrap();
    let err = open_source(dir.path(), &SourceOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, FramesError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("frame2.png"), "{err}");
}

/// A float TIFF frame with a NaN is refused, naming it and the pixel
/// (converted to 8 bits it would be a black patch, said nowhere).
#[test]
fn a_float_frame_with_nan_is_an_error_naming_it() {
    let dir = tempdir();
    flat(W, H, [0; 3])
        .save(dir.path().join("frame1.png"))
        .unwrap();
    let mut float = image::Rgb32FImage::from_pixel(W, H, image::Rgb([0.5; 3]));
    float.get_pixel_mut(2, 1)[2] = f32::NAN;
    image::DynamicImage::ImageRgb32F(float)
        .save(dir.path().join("frame2.tif"))
        .unwrap();
    let mut source = open_source(dir.path(), &SourceOptions::default()).unwrap();
    assert!(source.next_frame().unwrap().is_some());
    let err = source.next_frame().err().unwrap();
    assert!(
        matches!(err, FramesError::NotFinite { x: 2, y: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("frame2.tif"), "{err}");
}

#[test]
fn png_folder_output_round_trip() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let input = frames(3);
    write(&out, &input, &SinkOptions::default()).unwrap();
    assert_eq!(
        names(&out),
        ["frame_000001.png", "frame_000002.png", "frame_000003.png"]
    );
    // Nothing but the output beside it.
    assert_eq!(names(dir.path()), ["out"]);
    let (_, back) = read_all(&out).unwrap();
    assert_eq!(back, input);
    // A trailing slash also means a folder; a non-empty folder is refused.
    let slash = dir.path().join("out2/");
    write(&slash, &input[..1], &SinkOptions::default()).unwrap();
    assert_eq!(names(&dir.path().join("out2")), ["frame_000001.png"]);
    let err = write(&out, &input, &SinkOptions::default()).unwrap_err();
    // A folder of frames only: the message says they may be replaced.
    assert!(
        matches!(
            err,
            FramesError::OutputFolderNotEmpty {
                only_frames: true,
                ..
            }
        ) && err.to_string().contains("SinkOptions::replace_frames"),
        "{err}"
    );
    // A file where a frame folder would go: said as such.
    let file = dir.path().join("notes");
    std::fs::write(&file, b"mine").unwrap();
    let err = write(&file, &input, &SinkOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("an output without an extension is a folder of frames"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
}

/// With `replace_frames`, a folder of earlier frames is replaced whole
/// (no stale frame past the new count, nothing left beside it); a folder
/// with any other file is still refused, and left as it was.
#[test]
fn a_folder_of_earlier_frames_may_be_replaced() {
    let dir = tempdir();
    let out = dir.path().join("out");
    write(&out, &frames(3), &SinkOptions::default()).unwrap();
    let replace = SinkOptions {
        replace_frames: true,
        ..SinkOptions::default()
    };
    let second = frames(5)[3..].to_vec();
    write(&out, &second, &replace).unwrap();
    assert_eq!(names(&out), ["frame_000001.png", "frame_000002.png"]);
    assert_eq!(read_all(&out).unwrap().1, second);
    assert_eq!(names(dir.path()), ["out"]);
    // Another file among the frames: refused, nothing changed.
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    let err = write(&out, &frames(1), &replace).unwrap_err();
    assert!(
        matches!(
            err,
            FramesError::OutputFolderNotEmpty {
                only_frames: false,
                ..
            }
        ) && !err.to_string().contains("--overwrite"),
        "{err}"
    );
    assert_eq!(
        names(&out),
        ["frame_000001.png", "frame_000002.png", "notes.txt"]
    );
    assert_eq!(names(dir.path()), ["out"]);
}

#[test]
fn output_inside_input_is_refused() {
    let dir = tempdir();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let check = stylize_frames::check_output_not_inside;
    assert!(check(&input, &input.join("out.gif")).is_err());
    assert!(check(&input, &input.join("new/deeper/out")).is_err());
    assert!(check(&input, &input).is_err());
    assert!(check(&input, &dir.path().join("in/../in/x.mp4")).is_err());
    assert!(check(&input, &dir.path().join("out.gif")).is_ok());
    assert!(check(&input, &dir.path().join("in2")).is_ok());
    // A file input has no inside.
    let file = dir.path().join("clip.gif");
    std::fs::write(&file, b"x").unwrap();
    assert!(check(&file, &dir.path().join("clip.gif.out")).is_ok());
}

/// A phone's photos as frames: stored sideways with an EXIF orientation
/// (6: turn a quarter clockwise) and tagged Display P3. They are read
/// upright, at their upright size, in sRGB, as `stylize image` reads a
/// photo; so is one such photo given alone.
#[test]
fn phone_frames_are_read_upright_and_in_srgb() {
    use image::ImageEncoder;
    let dir = tempdir();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    // Stored 40x20: red on the left half, blue on the right. Upright (a
    // quarter turn clockwise) it is 20x40, red on top.
    let stored = Frame::from_fn(40, 20, |x, _| {
        if x < 20 {
            image::Rgb([220, 30, 30])
        } else {
            image::Rgb([30, 30, 220])
        }
    });
    for k in 1..=2 {
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
            .write_image(stored.as_raw(), 40, 20, image::ExtendedColorType::Rgb8)
            .unwrap();
        std::fs::write(
            input.join(format!("IMG_{k}.jpg")),
            with_exif_orientation(&jpeg, 6),
        )
        .unwrap();
    }
    // The folder, and one of its photos given alone (a still as a clip).
    for given in [input.clone(), input.join("IMG_1.jpg")] {
        let (info, frames) = read_all(&given).unwrap();
        assert_eq!((info.width, info.height), (20, 40), "{}", given.display());
        let top = frames[0].get_pixel(10, 5).0;
        let bottom = frames[0].get_pixel(10, 35).0;
        assert!(top[0] > 180 && top[2] < 80, "{top:?}");
        assert!(bottom[2] > 180 && bottom[0] < 80, "{bottom:?}");
    }
    // A P3-tagged PNG: its red comes out redder in sRGB.
    let p3 = dir.path().join("p3");
    std::fs::create_dir(&p3).unwrap();
    let mut png = Vec::new();
    let mut enc = image::codecs::png::PngEncoder::new(&mut png);
    enc.set_icc_profile(moxcms::ColorProfile::new_display_p3().encode().unwrap())
        .unwrap();
    let flat_red = flat(8, 6, [200, 60, 60]);
    enc.write_image(flat_red.as_raw(), 8, 6, image::ExtendedColorType::Rgb8)
        .unwrap();
    std::fs::write(p3.join("f1.png"), png).unwrap();
    let (_, frames) = read_all(&p3).unwrap();
    let p = frames[0].get_pixel(3, 3).0;
    assert!(p[0] > 210 && p[1] < 55, "{p:?}");
}
