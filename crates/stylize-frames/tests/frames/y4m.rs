//! Y4M out and back in, and malformed Y4M.

use stylize_frames::{open_source, FramesError, SinkOptions, SourceOptions, Y4mChroma, YuvRange};

use crate::common::*;

fn y4m_options(chroma: Y4mChroma, range: YuvRange) -> SinkOptions {
    SinkOptions {
        fps: Some((30000, 1001)),
        y4m_chroma: chroma,
        y4m_range: range,
        ..SinkOptions::default()
    }
}

#[test]
fn y4m_444_round_trip_within_rounding() {
    let dir = tempdir();
    for (range, max) in [(YuvRange::Full, 1), (YuvRange::Limited, 2)] {
        let out = dir.path().join(format!("{range:?}.y4m"));
        let mut input = frames(3);
        // Saturated colours and the extremes too.
        input.push(Frame::from_fn(W, H, |x, y| {
            image::Rgb([
                (x * 8) as u8,
                255 - (y * 10) as u8,
                if x > y { 255 } else { 0 },
            ])
        }));
        write(&out, &input, &y4m_options(Y4mChroma::C444, range)).unwrap();
        let header = std::fs::read(&out).unwrap();
        let header = String::from_utf8_lossy(&header[..80]).into_owned();
        assert!(
            header.starts_with("YUV4MPEG2 W32 H24 F30000:1001 Ip A1:1 C444 XCOLORRANGE="),
            "{header}"
        );
        let (info, back) = read_all(&out).unwrap();
        assert_eq!(
            info,
            stylize_frames::VideoInfo {
                width: W,
                height: H,
                fps: Some((30000, 1001)),
                frames: Some(4)
            }
        );
        assert_eq!(back.len(), 4);
        // 8-bit Y'CbCr can be off by the rounding of three values: full
        // range <= 1 level, limited range (fewer codes) <= 2.
        for (a, b) in input.iter().zip(&back) {
            assert!(max_diff(a, b) <= max, "{range:?}: {}", max_diff(a, b));
        }
    }
}

use stylize_frames::Frame;

#[test]
fn y4m_420_round_trip_within_bound() {
    let dir = tempdir();
    let out = dir.path().join("c420.y4m");
    let input = frames(3);
    write(
        &out,
        &input,
        &y4m_options(Y4mChroma::C420Jpeg, YuvRange::Limited),
    )
    .unwrap();
    let (_, back) = read_all(&out).unwrap();
    assert_eq!(back.len(), 3);
    // Smooth ramps: averaging 2x2 chroma blocks and bilinear upsampling
    // leave about rounding error (chroma changes < 8 levels per pixel).
    for (a, b) in input.iter().zip(&back) {
        assert!(mae(a, b) < 1.5, "{}", mae(a, b));
        assert!(max_diff(a, b) <= 6, "{}", max_diff(a, b));
    }
}

#[test]
fn y4m_odd_sizes_mono_and_422() {
    let dir = tempdir();
    // 3x3 4:2:0: chroma planes are 2x2.
    let path = dir.path().join("odd.y4m");
    let mut bytes = b"YUV4MPEG2 W3 H3 F25:1 C420jpeg\nFRAME\n".to_vec();
    bytes.extend([235u8; 9]);
    bytes.extend([128u8; 8]);
    std::fs::write(&path, &bytes).unwrap();
    let (info, back) = read_all(&path).unwrap();
    assert_eq!(
        (info.width, info.height, info.fps, info.frames),
        (3, 3, Some((25, 1)), Some(1))
    );
    assert!(back[0].pixels().all(|p| p.0 == [255, 255, 255]));

    let path = dir.path().join("mono.y4m");
    let mut bytes = b"YUV4MPEG2 W2 H1 Cmono XCOLORRANGE=FULL\nFRAME\n".to_vec();
    bytes.extend([0u8, 200]);
    std::fs::write(&path, &bytes).unwrap();
    let (info, back) = read_all(&path).unwrap();
    assert_eq!(info.fps, None);
    assert_eq!(back[0].as_raw(), &vec![0, 0, 0, 200, 200, 200]);

    let path = dir.path().join("422.y4m");
    let mut bytes = b"YUV4MPEG2 W2 H2 F1:1 C422\nFRAME Ixyz\n".to_vec();
    bytes.extend([16u8; 4]);
    bytes.extend([128u8; 4]);
    std::fs::write(&path, &bytes).unwrap();
    let (_, back) = read_all(&path).unwrap();
    assert!(back[0].pixels().all(|p| p.0 == [0, 0, 0]));
}

fn open_err(bytes: &[u8]) -> FramesError {
    let dir = tempdir();
    let path = dir.path().join("bad.y4m");
    std::fs::write(&path, bytes).unwrap();
    match open_source(&path, &SourceOptions::default()) {
        Err(e) => e,
        Ok(mut source) => loop {
            match source.next_frame() {
                Err(e) => break e,
                Ok(Some(_)) => {}
                Ok(None) => panic!("{:?} read without error", String::from_utf8_lossy(bytes)),
            }
        },
    }
}

/// A stream cut inside a frame gives its whole frames and ends there (a
/// warning says so), as a GIF that ends early does: painting the frames
/// and then failing would leave the user no way to get an output.
#[test]
fn a_y4m_cut_inside_a_frame_ends_at_its_last_whole_frame() {
    let mut bytes = b"YUV4MPEG2 W4 H2 F25:1 C444\n".to_vec();
    for v in [16u8, 128, 235] {
        bytes.extend(b"FRAME\n");
        bytes.extend([v; 8]);
        bytes.extend([128u8; 16]);
    }
    bytes.extend(b"FRAME\n");
    bytes.extend([0u8; 20]);
    let dir = tempdir();
    let path = dir.path().join("cut.y4m");
    std::fs::write(&path, &bytes).unwrap();
    let mut source = open_source(&path, &SourceOptions::default()).unwrap();
    let mut lumas = Vec::new();
    while let Some(frame) = source.next_frame().unwrap() {
        lumas.push(frame.get_pixel(0, 0)[0]);
    }
    assert_eq!(lumas.len(), 3, "{lumas:?}");
    assert!(lumas[0] < lumas[1] && lumas[1] < lumas[2], "{lumas:?}");
    // And stays ended.
    assert!(source.next_frame().unwrap().is_none());
    // Cut within the next frame's own line (`FRA`, `FRAME I`): the same
    // (before: an error, after every frame before it was painted).
    let whole = bytes.len() - 26;
    for tail in [&b"FRA"[..], b"FRAME Ip"] {
        let mut cut = bytes[..whole].to_vec();
        cut.extend(tail);
        std::fs::write(&path, &cut).unwrap();
        let mut source = open_source(&path, &SourceOptions::default()).unwrap();
        let mut count = 0;
        while source.next_frame().unwrap().is_some() {
            count += 1;
        }
        assert_eq!(count, 3, "{:?}", String::from_utf8_lossy(tail));
    }
    // Not a frame's line, one byte of junk, or a frame's line past the
    // limit without its end: still an error.
    let mut long = b"FRAME X".to_vec();
    long.extend([b'a'; 5000]);
    for tail in [&b"JUNK"[..], b"Q", b"FX", &long] {
        let mut other = bytes[..whole].to_vec();
        other.extend(tail);
        std::fs::write(&path, &other).unwrap();
        let mut source = open_source(&path, &SourceOptions::default()).unwrap();
        let mut result = Ok(None);
        for _ in 0..4 {
            result = source.next_frame();
            if !matches!(result, Ok(Some(_))) {
                break;
            }
        }
        assert!(
            result.is_err(),
            "{} bytes of junk read as the end",
            tail.len()
        );
    }
}

/// A source's warnings reach the caller's hook (a web server's job) as
/// well as the log, with the input and the message apart: the header's
/// (pixels that are not square) on opening, the stream's (cut inside a
/// frame) when it ends.
#[test]
fn warnings_reach_the_callers_hook() {
    let mut bytes = b"YUV4MPEG2 W4 H2 F25:1 A2:1 C444\n".to_vec();
    bytes.extend(b"FRAME\n");
    bytes.extend([128u8; 24]);
    bytes.extend(b"FRAME\n");
    bytes.extend([0u8; 5]);
    let dir = tempdir();
    let path = dir.path().join("cut.y4m");
    std::fs::write(&path, &bytes).unwrap();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&got);
    let options = SourceOptions {
        on_warning: Some(stylize_frames::WarningHook::new(move |w| {
            sink.lock().unwrap().push(w.clone())
        })),
        ..SourceOptions::default()
    };
    let mut source = open_source(&path, &options).unwrap();
    assert_eq!(got.lock().unwrap().len(), 1);
    while source.next_frame().unwrap().is_some() {}
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(|w| w.input == path), "{got:?}");
    assert!(
        got[0].message.starts_with("its pixels are not square"),
        "{got:?}"
    );
    assert!(
        got[1].message.starts_with("the stream ends inside a frame"),
        "{got:?}"
    );
    assert!(!got[1].message.contains("cut.y4m"), "{got:?}");
}

#[test]
fn malformed_y4m_gives_clean_errors() {
    let header = b"YUV4MPEG2 W4 H2 F25:1 C444\n";
    // Truncated header.
    let e = open_err(b"YUV4MPEG2 W4 H2");
    assert!(e.to_string().contains("truncated"), "{e}");
    // Missing size.
    let e = open_err(b"YUV4MPEG2 W4 F25:1\n");
    assert!(e.to_string().contains("no height"), "{e}");
    // Bad frame marker.
    let mut bad_marker = header.to_vec();
    bad_marker.extend(b"FRAMX\n");
    bad_marker.extend([0u8; 24]);
    let e = open_err(&bad_marker);
    assert!(e.to_string().contains("FRAME"), "{e}");
    // 10-bit is not read.
    let e = open_err(b"YUV4MPEG2 W4 H2 F25:1 C420p10\nFRAME\n");
    assert!(
        matches!(e, FramesError::UnsupportedColourspace { ref colourspace, .. } if colourspace == "420p10"),
        "{e}"
    );
    // An absurd size is refused before allocating.
    let e = open_err(b"YUV4MPEG2 W4000000 H4000000 F25:1\n");
    assert!(e.to_string().contains("too large"), "{e}");
}

/// Every kind of input is held to `max_frame_pixels` from its header: a
/// Y4M header of a few bytes claiming 65536x32768 (2 GiB a frame), and a
/// folder of small frames under a small limit, are refused before a frame
/// is read; within the limit the same inputs open.
#[test]
fn every_input_is_held_to_the_frame_size_limit() {
    let dir = tempdir();
    let bomb = dir.path().join("bomb.y4m");
    std::fs::write(&bomb, b"YUV4MPEG2 W65536 H32768 F25:1 Cmono\nFRAME\n\x10").unwrap();
    let folder = dir.path().join("frames");
    std::fs::create_dir(&folder).unwrap();
    for k in 0..2 {
        flat(W, H, [k * 50, 0, 0])
            .save(folder.join(format!("f{k}.png")))
            .unwrap();
    }
    let small = u64::from(W) * u64::from(H) - 1;
    for (input, max, size) in [
        (
            &bomb,
            SourceOptions::default().max_frame_pixels,
            (65536, 32768),
        ),
        (&folder, small, (W, H)),
    ] {
        let options = SourceOptions {
            max_frame_pixels: max,
            ..SourceOptions::default()
        };
        let err = open_source(input, &options).err().expect("opened");
        match &err {
            FramesError::FrameTooLarge {
                path,
                width,
                height,
                max: m,
            } => {
                assert_eq!((path, (*width, *height), *m), (input, size, max), "{err}");
            }
            other => panic!("{}: {other}", input.display()),
        }
        assert!(err.to_string().contains("scale the clip down"), "{err}");
    }
    // Within the limit the folder opens and reads.
    let options = SourceOptions {
        max_frame_pixels: small + 1,
        ..SourceOptions::default()
    };
    let mut source = open_source(&folder, &options).unwrap();
    assert!(source.next_frame().unwrap().is_some());
}

/// A named pipe (as `<(...)` gives) is read once: Y4M through it as it
/// comes, its first bytes however the writer cut them; anything else is
/// refused at once, where ffmpeg would have opened the pipe a second time
/// and waited for a writer that had gone. (Before: the Y4M's header was
/// taken for missing, and a video through a pipe hung.)
#[cfg(unix)]
#[test]
fn a_pipe_gives_y4m_as_it_comes_and_refuses_anything_else() {
    use std::io::Write as _;
    let dir = tempdir();
    let file = dir.path().join("clip.y4m");
    let input = frames(3);
    write(&file, &input, &y4m_options(Y4mChroma::C444, YuvRange::Full)).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let (_, want) = read_all(&file).unwrap();
    let mkfifo = |name: &str| {
        let fifo = dir.path().join(name);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        made.is_ok_and(|s| s.success()).then_some(fifo)
    };
    let Some(fifo) = mkfifo("clip.pipe") else {
        println!("SKIPPED: no mkfifo");
        return;
    };
    let writer = {
        let (fifo, bytes) = (fifo.clone(), bytes.clone());
        std::thread::spawn(move || {
            let mut pipe = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            // The magic cut in two, then the rest.
            pipe.write_all(&bytes[..4]).unwrap();
            pipe.flush().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
            pipe.write_all(&bytes[4..]).unwrap();
        })
    };
    let (info, back) = read_all(&fifo).unwrap();
    writer.join().unwrap();
    assert_eq!((info.width, info.height), (W, H));
    assert_eq!(back, want);

    let Some(other) = mkfifo("clip.mp4") else {
        return;
    };
    let writer = {
        let other = other.clone();
        std::thread::spawn(move || {
            let mut pipe = std::fs::OpenOptions::new().write(true).open(other).unwrap();
            // The pipe may be closed by the reader before all is taken.
            let _ = pipe.write_all(b"\0\0\0\x18ftypmp42 not y4m at all");
        })
    };
    let err = open_source(&other, &SourceOptions::default())
        .err()
        .unwrap();
    writer.join().unwrap();
    assert!(matches!(err, FramesError::NotAFile { .. }), "{err}");
    assert!(err.to_string().contains("save it to a file first"), "{err}");

    // A pipe through which nothing comes (a `<(ffmpeg ...)` that failed):
    // said so, not as a pipe that ought to be a file.
    let Some(empty) = mkfifo("empty.pipe") else {
        return;
    };
    let writer = {
        let empty = empty.clone();
        std::thread::spawn(move || drop(std::fs::OpenOptions::new().write(true).open(empty)))
    };
    let err = open_source(&empty, &SourceOptions::default())
        .err()
        .unwrap();
    writer.join().unwrap();
    assert!(matches!(err, FramesError::EmptyStream { .. }), "{err}");
    assert!(err.to_string().contains("nothing came through it"), "{err}");
}
