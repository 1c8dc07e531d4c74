//! Frame folders in and out.

use stylize_frames::{open_source, FramesError, SinkOptions, SourceOptions};

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
}

#[test]
fn folder_jpeg_and_alpha_frames() {
    let dir = tempdir();
    flat(W, H, [200, 100, 50])
        .save(dir.path().join("a1.jpg"))
        .unwrap();
    let mut rgba = image::RgbaImage::from_pixel(W, H, image::Rgba([0, 0, 0, 0]));
    rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 255]));
    rgba.save(dir.path().join("a2.png")).unwrap();
    let (_, frames) = read_all(dir.path()).unwrap();
    assert_eq!(frames.len(), 2);
    assert!(max_diff(&frames[0], &flat(W, H, [200, 100, 50])) <= 3);
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
    assert!(
        matches!(err, FramesError::OutputFolderNotEmpty { .. }),
        "{err}"
    );
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
        matches!(err, FramesError::OutputFolderNotEmpty { .. }),
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
