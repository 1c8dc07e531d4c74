//! Output selection, and nothing left behind on errors.

use stylize_frames::{create_sink, FramesError, SinkOptions};

use crate::common::*;

#[test]
fn unknown_extension_lists_the_supported_ones() {
    let dir = tempdir();
    let err = create_sink(&dir.path().join("out.avi"), &SinkOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, FramesError::UnsupportedOutput { .. }));
    let text = err.to_string();
    for ext in [".gif", ".apng", ".webp", ".y4m", ".mp4", ".webm", "folder"] {
        assert!(text.contains(ext), "{text}");
    }
    assert!(names(dir.path()).is_empty());
}

/// `out.mp4/` is refused (a slip for `out.mp4`, not a wish for a folder of
/// that name), a folder of that name already there is written into, and
/// a trailing `/` after another name makes a frame folder.
#[test]
fn a_trailing_slash_after_a_clip_name_is_refused_unless_the_folder_is_there() {
    let dir = tempdir();
    for name in ["out.mp4/", "out.GIF/", "out.webm/", "out.png/"] {
        let out = std::path::PathBuf::from(format!("{}/{name}", dir.path().display()));
        let err = create_sink(&out, &SinkOptions::default()).err().unwrap();
        assert!(
            matches!(err, FramesError::FolderNamedLikeAFile { .. }),
            "{name}: {err}"
        );
        assert!(err.to_string().contains("drop the `/`"), "{err}");
    }
    assert!(names(dir.path()).is_empty());
    std::fs::create_dir(dir.path().join("there.mp4")).unwrap();
    for name in ["there.mp4/", "frames/", "frames.v2/"] {
        let out = std::path::PathBuf::from(format!("{}/{name}", dir.path().display()));
        let mut sink = create_sink(&out, &SinkOptions::default()).unwrap();
        sink.write_frame(&frame(0)).unwrap();
        sink.finish().unwrap();
        assert!(out.join("frame_000001.png").is_file(), "{name}");
    }
}

#[test]
fn nothing_is_left_after_errors_or_drops() {
    let dir = tempdir();
    let opts = SinkOptions::default();
    for name in ["a.gif", "a.apng", "a.png", "a.webp", "a.y4m", "frames"] {
        let out = dir.path().join(name);
        // A size change is an error; the sink is then dropped.
        let mut sink = create_sink(&out, &opts).unwrap();
        sink.write_frame(&frame(0)).unwrap();
        let err = sink.write_frame(&flat(16, 16, [0; 3])).unwrap_err();
        assert!(
            matches!(err, FramesError::SizeMismatch { .. }),
            "{name}: {err}"
        );
        drop(sink);
        // Dropped without finish.
        let mut sink = create_sink(&out, &opts).unwrap();
        sink.write_frame(&frame(0)).unwrap();
        drop(sink);
        // Finished without frames.
        let sink = create_sink(&out, &opts).unwrap();
        let err = sink.finish().unwrap_err();
        assert!(matches!(err, FramesError::NoFrames { .. }), "{name}: {err}");
        assert!(
            names(dir.path()).is_empty(),
            "{name}: {:?}",
            names(dir.path())
        );
    }
}

#[test]
fn existing_output_file_is_replaced_only_on_success() {
    let dir = tempdir();
    let out = dir.path().join("clip.gif");
    std::fs::write(&out, b"old").unwrap();
    let mut sink = create_sink(&out, &SinkOptions::default()).unwrap();
    sink.write_frame(&frame(0)).unwrap();
    drop(sink);
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
    write(&out, &frames(2), &SinkOptions::default()).unwrap();
    assert_eq!(&std::fs::read(&out).unwrap()[..6], b"GIF89a");
    assert_eq!(names(dir.path()), ["clip.gif"]);
}

#[test]
fn missing_output_folder_and_bad_fps_are_errors() {
    let dir = tempdir();
    let err = create_sink(&dir.path().join("no/such/out.gif"), &SinkOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let opts = SinkOptions {
        fps: Some((0, 1)),
        ..SinkOptions::default()
    };
    let err = create_sink(&dir.path().join("out.gif"), &opts)
        .err()
        .unwrap();
    assert!(matches!(err, FramesError::InvalidParameter(_)), "{err}");
    assert!(names(dir.path()).is_empty());
}
