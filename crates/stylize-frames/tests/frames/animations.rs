//! GIF, APNG and animated WebP out and back in.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::Duration;

use image::AnimationDecoder;
use stylize_frames::{Frame, FrameSource, SinkOptions};

use crate::common::*;

fn options(fps: (u32, u32)) -> SinkOptions {
    SinkOptions {
        fps: Some(fps),
        ..SinkOptions::default()
    }
}

/// Frame delays (1/100 s), global palette size, whether any frame has a
/// local palette, and the repeat setting of a GIF, read with `gif`.
fn gif_structure(path: &Path) -> (Vec<u16>, usize, bool, gif::Repeat) {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = opts.read_info(File::open(path).unwrap()).unwrap();
    let global = decoder.global_palette().map_or(0, |p| p.len() / 3);
    let mut delays = Vec::new();
    let mut local = false;
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        delays.push(frame.delay);
        local |= frame.palette.is_some();
        assert_eq!(
            (frame.width, frame.height, frame.left, frame.top),
            (W as u16, H as u16, 0, 0)
        );
    }
    (delays, global, local, decoder.repeat())
}

#[test]
fn gif_has_one_global_palette_delays_and_loop() {
    let dir = tempdir();
    let out = dir.path().join("clip.gif");
    let input = frames(6);
    write(&out, &input, &options((10, 1))).unwrap();
    assert_eq!(names(dir.path()), ["clip.gif"]);
    let (delays, global, local, repeat) = gif_structure(&out);
    assert_eq!(delays, vec![10; 6]);
    assert_eq!(global, 256);
    assert!(!local);
    assert_eq!(repeat, gif::Repeat::Infinite);

    // Colours: the clip's ~4600 colours lie on a 2-D ramp ~220 levels a
    // side, so 256 colours are ~14 levels apart and even the best palette
    // leaves ~3 levels of mean error; NeuQuant's palette and its
    // approximate nearest-colour search measure 5.5-6.5 here, the +-6
    // levels of ordered dither adding little on average. Bound: 8.
    let (info, back) = read_all(&out).unwrap();
    assert_eq!((info.fps, info.frames), (Some((10, 1)), Some(6)));
    assert_eq!(back.len(), 6);
    for (a, b) in input.iter().zip(&back) {
        let e = mae(a, b);
        assert!(e < 8.0, "mean abs error {e}");
    }
    assert_in_order("clip.gif", &input, &back);
}

#[test]
fn gif_without_dither_and_without_loop() {
    let dir = tempdir();
    let out = dir.path().join("once.gif");
    let input = frames(3);
    let opts = SinkOptions {
        loop_forever: false,
        gif_dither: false,
        ..options((30000, 1001))
    };
    write(&out, &input, &opts).unwrap();
    let (delays, _, local, repeat) = gif_structure(&out);
    assert!(!local);
    // No NETSCAPE extension: plays once.
    assert_eq!(repeat, gif::Repeat::Finite(0));
    // 3 frames at 29.97 fps end at 3.3, 6.7, 10.0 cs: 3 + 4 + 3.
    assert_eq!(delays, vec![3, 4, 3]);
    let (_, back) = read_all(&out).unwrap();
    assert_eq!(back.len(), 3);
    for (a, b) in input.iter().zip(&back) {
        // Measured 6.0 (see the test above); bound 7.
        assert!(mae(a, b) < 7.0, "{}", mae(a, b));
    }
    assert_in_order("once.gif", &input, &back);
}

/// How many colours each 8x8 block of `frame` below row `top` holds.
fn colours_per_block(frame: &Frame, top: u32) -> Vec<usize> {
    (top / 8..frame.height() / 8)
        .flat_map(|by| (0..frame.width() / 8).map(move |bx| (bx, by)))
        .map(|(bx, by)| {
            let mut colours: Vec<[u8; 3]> = (0..64)
                .map(|i| frame.get_pixel(bx * 8 + i % 8, by * 8 + i / 8).0)
                .collect();
            colours.sort_unstable();
            colours.dedup();
            colours.len()
        })
        .collect()
}

#[test]
fn gif_dither_splits_flat_greys_and_is_off_when_asked() {
    // The ramp above (more than 256 colours: a learned palette, which is
    // where the dither applies) and below it 8x8 blocks of flat greys 3
    // levels apart, so some lie between two of the palette's colours.
    let input: Vec<Frame> = frames(2)
        .into_iter()
        .map(|mut f| {
            for y in 8..H {
                for x in 0..W {
                    let grey = (100 + 3 * (x / 8 + (y / 8 - 1) * (W / 8))) as u8;
                    f.put_pixel(x, y, image::Rgb([grey; 3]));
                }
            }
            f
        })
        .collect();
    let dir = tempdir();
    let mut blocks = Vec::new();
    for dither in [false, true] {
        let out = dir.path().join(format!("dither-{dither}.gif"));
        let opts = SinkOptions {
            gif_dither: dither,
            ..SinkOptions::default()
        };
        write(&out, &input, &opts).unwrap();
        let (_, back) = read_all(&out).unwrap();
        assert_eq!(back.len(), 2);
        blocks.push(colours_per_block(&back[0], 8));
    }
    // Without the dither a flat block maps to one colour; with it, the
    // Bayer pattern splits the blocks that lie near a palette boundary.
    assert!(blocks[0].iter().all(|&n| n == 1), "{:?}", blocks[0]);
    assert!(blocks[1].iter().any(|&n| n > 1), "{:?}", blocks[1]);
}

#[test]
fn gif_of_few_colours_is_exact() {
    let dir = tempdir();
    let out = dir.path().join("flat.gif");
    let input: Vec<_> = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [7, 8, 9]]
        .iter()
        .map(|&c| flat(W, H, c))
        .collect();
    write(&out, &input, &SinkOptions::default()).unwrap();
    let (delays, global, _, _) = gif_structure(&out);
    // Default 25 fps: 4 cs each.
    assert_eq!(delays, vec![4; 4]);
    assert_eq!(global, 4);
    let (info, back) = read_all(&out).unwrap();
    assert_eq!(info.fps, Some((25, 1)));
    assert_eq!(back, input);
}

#[test]
fn apng_round_trip_is_lossless() {
    let dir = tempdir();
    let out = dir.path().join("clip.apng");
    let input = frames(4);
    write(&out, &input, &options((10, 1))).unwrap();
    assert_eq!(names(dir.path()), ["clip.apng"]);
    let decoder =
        image::codecs::png::PngDecoder::new(BufReader::new(File::open(&out).unwrap())).unwrap();
    let frames = decoder
        .apng()
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 4);
    for (f, a) in frames.iter().zip(&input) {
        assert_eq!(f.delay().numer_denom_ms(), (100, 1));
        assert_eq!(f.buffer().dimensions(), (W, H));
        let rgb = image::DynamicImage::ImageRgba8(f.buffer().clone()).into_rgb8();
        assert_eq!(&rgb, a);
    }
    let (info, back) = read_all(&out).unwrap();
    assert_eq!((info.fps, info.frames), (Some((10, 1)), Some(4)));
    assert_eq!(back, input);
}

#[test]
fn png_of_one_frame_is_a_plain_png_and_of_more_an_apng() {
    let dir = tempdir();
    let one = dir.path().join("one.png");
    write(&one, &frames(1), &SinkOptions::default()).unwrap();
    let decoder =
        image::codecs::png::PngDecoder::new(BufReader::new(File::open(&one).unwrap())).unwrap();
    assert!(!decoder.is_apng().unwrap());
    assert_eq!(image::open(&one).unwrap().into_rgb8(), frame(0));
    let (info, back) = read_all(&one).unwrap();
    assert_eq!((info.frames, info.fps, back.len()), (Some(1), None, 1));

    let two = dir.path().join("two.png");
    write(&two, &frames(2), &options((30000, 1001))).unwrap();
    let decoder =
        image::codecs::png::PngDecoder::new(BufReader::new(File::open(&two).unwrap())).unwrap();
    let frames = decoder
        .apng()
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 2);
    // Exact fraction: 1001/30000 s.
    let (n, d) = frames[0].delay().numer_denom_ms();
    assert!(
        (f64::from(n) / f64::from(d) - 1001.0 / 30.0).abs() < 1e-9,
        "{n}/{d}"
    );
}

#[test]
fn webp_round_trip_is_lossless() {
    let dir = tempdir();
    let out = dir.path().join("clip.webp");
    let input = frames(4);
    write(&out, &input, &options((30, 1))).unwrap();
    assert_eq!(names(dir.path()), ["clip.webp"]);
    let decoder =
        image::codecs::webp::WebPDecoder::new(BufReader::new(File::open(&out).unwrap())).unwrap();
    assert!(decoder.has_animation());
    let frames = decoder.into_frames().collect_frames().unwrap();
    assert_eq!(frames.len(), 4);
    // 30 fps in whole milliseconds: 33 + 34 + 33 + 33 (ends at 33, 67, 100, 133).
    let delays: Vec<_> = frames.iter().map(|f| f.delay().numer_denom_ms()).collect();
    assert_eq!(delays, vec![(33, 1), (34, 1), (33, 1), (33, 1)]);
    for (f, a) in frames.iter().zip(&input) {
        assert_eq!(f.buffer().dimensions(), (W, H));
        let rgb = image::DynamicImage::ImageRgba8(f.buffer().clone()).into_rgb8();
        assert_eq!(&rgb, a);
    }
    // The RIFF size covers the whole file.
    let bytes = std::fs::read(&out).unwrap();
    let riff = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    assert_eq!(riff + 8, bytes.len());
    let (info, back) = read_all(&out).unwrap();
    assert_eq!((info.width, info.height, info.frames), (W, H, Some(4)));
    // 33 and 34 ms are read as the 30 fps they round.
    assert_eq!(info.fps, Some((30, 1)));
    assert_eq!(back, input);
}

#[test]
fn webp_loop_count_when_not_looping() {
    let dir = tempdir();
    let out = dir.path().join("once.webp");
    let opts = SinkOptions {
        loop_forever: false,
        ..SinkOptions::default()
    };
    write(&out, &frames(2), &opts).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let anim = bytes.windows(4).position(|w| w == b"ANIM").unwrap();
    // ANIM payload: 4 bytes background, then the loop count.
    assert_eq!(&bytes[anim + 12..anim + 14], &[1, 0]);
}

#[test]
fn gif_from_another_encoder_with_local_palettes() {
    let dir = tempdir();
    let path = dir.path().join("other.gif");
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut encoder = image::codecs::gif::GifEncoder::new(file);
        for k in 0..3 {
            let rgba = image::DynamicImage::ImageRgb8(flat(W, H, [k * 80, 10, 200])).into_rgba8();
            let delay = image::Delay::from_numer_denom_ms(40, 1);
            encoder
                .encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
                .unwrap();
        }
    }
    let (info, back) = read_all(&path).unwrap();
    assert_eq!(
        (info.width, info.height, info.fps, info.frames),
        (W, H, Some((25, 1)), Some(3))
    );
    assert_eq!(back.len(), 3);
    assert_eq!(back[2].get_pixel(5, 5).0, [160, 10, 200]);
}

/// A clip is read at its typical frame's rate: a 30 fps GIF (delays of
/// 30 and 40 ms, 3 and 4 cs) at 30 fps, not the first frame's 33.3; a
/// GIF with a one-second title frame at its other frames' 25 fps, not
/// 1 fps. (Before: the first frame's delay set the rate.)
#[test]
fn an_animation_is_read_at_its_typical_frames_rate() {
    let dir = tempdir();
    let out = dir.path().join("thirty.gif");
    write(&out, &frames(6), &options((30, 1))).unwrap();
    let (delays, ..) = gif_structure(&out);
    assert_eq!(delays, vec![3, 4, 3, 3, 4, 3]);
    let (info, _) = read_all(&out).unwrap();
    assert_eq!(info.fps, Some((30, 1)));

    let path = dir.path().join("titled.gif");
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut encoder = image::codecs::gif::GifEncoder::new(file);
        for (k, ms) in [1000, 40, 40, 40, 40].into_iter().enumerate() {
            let rgba =
                image::DynamicImage::ImageRgb8(flat(W, H, [k as u8 * 40, 10, 200])).into_rgba8();
            let delay = image::Delay::from_numer_denom_ms(ms, 1);
            encoder
                .encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
                .unwrap();
        }
    }
    let (info, back) = read_all(&path).unwrap();
    assert_eq!((info.fps, back.len()), (Some((25, 1)), 5));
}

/// Each frame's display time in ms of an APNG or WebP, read with `image`.
fn animation_delays(path: &Path) -> Vec<f64> {
    let file = || BufReader::new(File::open(path).unwrap());
    let frames = if path.extension().is_some_and(|e| e == "webp") {
        image::codecs::webp::WebPDecoder::new(file())
            .unwrap()
            .into_frames()
    } else {
        image::codecs::png::PngDecoder::new(file())
            .unwrap()
            .apng()
            .unwrap()
            .into_frames()
    };
    let ms = |f: image::Frame| {
        let (n, d) = f.delay().numer_denom_ms();
        f64::from(n) / f64::from(d)
    };
    frames.map(|f| ms(f.unwrap())).collect()
}

/// An animation whose frames are shown for really different times (a
/// one-second title frame, a half-second pause at the end) gives them
/// (`FrameSource::frame_times`), and every animation output keeps them
/// given as `SinkOptions::frame_times`, frames past them at the rate. One
/// of even frames (a 30 fps GIF's 3 and 4 cs) gives none: its rate says it.
#[test]
fn an_animations_own_frame_times_are_kept() {
    let dir = tempdir();
    let even = dir.path().join("even.gif");
    write(&even, &frames(6), &options((30, 1))).unwrap();
    let source = stylize_frames::open_source(&even, &Default::default()).unwrap();
    assert_eq!(source.frame_times(), None);

    let titled = dir.path().join("titled.gif");
    let times: Vec<Duration> = [1000, 40, 40, 40, 500]
        .into_iter()
        .map(Duration::from_millis)
        .collect();
    let with_times = SinkOptions {
        frame_times: Some(times.clone()),
        ..options((25, 1))
    };
    write(&titled, &frames(5), &with_times).unwrap();
    assert_eq!(gif_structure(&titled).0, [100, 4, 4, 4, 50]);
    let source = stylize_frames::open_source(&titled, &Default::default()).unwrap();
    assert_eq!(source.info().fps, Some((25, 1)));
    assert_eq!(source.frame_times(), Some(&times[..]));

    // Each animation keeps them; two frames more follow at 25 fps.
    for name in ["out.gif", "out.apng", "out.webp"] {
        let out = dir.path().join(name);
        write(&out, &frames(7), &with_times).unwrap();
        let ms: Vec<f64> = if name.ends_with("gif") {
            gif_structure(&out)
                .0
                .iter()
                .map(|&cs| f64::from(cs) * 10.0)
                .collect()
        } else {
            animation_delays(&out)
        };
        assert_eq!(ms, [1000.0, 40.0, 40.0, 40.0, 500.0, 40.0, 40.0], "{name}");
    }
}

/// A GIF whose frames are shown for longer than 100 s each (a GIF's may
/// be, to 655 s): read at a frame every 100 s, the slowest rate taken,
/// with its frames' own times, and said so (before: read at 25 fps,
/// unsaid).
#[test]
fn a_gif_slower_than_a_frame_every_100_s_keeps_its_times() {
    let dir = tempdir();
    let slow = dir.path().join("slow.gif");
    let times: Vec<Duration> = [150_000, 150_000, 20_000]
        .into_iter()
        .map(Duration::from_millis)
        .collect();
    let with_times = SinkOptions {
        frame_times: Some(times.clone()),
        ..options((25, 1))
    };
    write(&slow, &frames(3), &with_times).unwrap();
    assert_eq!(gif_structure(&slow).0, [15000, 15000, 2000]);
    let said = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let hook = {
        let said = said.clone();
        stylize_frames::WarningHook::new(move |w: &stylize_frames::Warning| {
            said.lock().unwrap().push(w.message.clone());
        })
    };
    let source = stylize_frames::open_source(
        &slow,
        &stylize_frames::SourceOptions {
            on_warning: Some(hook),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(source.info().fps, Some((1, 100)));
    assert_eq!(source.frame_times(), Some(&times[..]));
    let said = said.lock().unwrap();
    assert!(
        said.iter().any(|m| m.contains("shown for 150 s")),
        "{said:?}"
    );
}

/// A GIF of a few dozen bytes whose screen claims 20000x20000 px: refused
/// from its header before a frame is decoded (decoding it once took 5 GB
/// and 51 s in the web page's upload).
#[test]
fn a_gif_claiming_a_huge_screen_is_refused_from_its_header() {
    let dir = tempdir();
    let path = dir.path().join("bomb.gif");
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&20000u16.to_le_bytes());
    gif.extend_from_slice(&20000u16.to_le_bytes());
    // A global palette of 2 colours, then one 1x1 image and the trailer.
    gif.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    gif.extend_from_slice(&[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
    gif.extend_from_slice(&[2, 2, 0x4c, 0x01, 0, 0x3b]);
    std::fs::write(&path, &gif).unwrap();
    let err = stylize_frames::open_source(&path, &stylize_frames::SourceOptions::default())
        .err()
        .expect("the 20000x20000 GIF was opened");
    assert!(
        matches!(
            err,
            stylize_frames::FramesError::FrameTooLarge {
                width: 20000,
                height: 20000,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("bomb.gif: its frames are 20000x20000 px"),
        "{err}"
    );
    // The same file within a larger limit decodes (its one real pixel is
    // composited onto the claimed screen), so the check is the header's.
    let small = dir.path().join("small.gif");
    let mut ok = gif.clone();
    ok[6..10].copy_from_slice(&[4, 0, 4, 0]);
    std::fs::write(&small, &ok).unwrap();
    let (info, _) = read_all(&small).unwrap();
    assert_eq!((info.width, info.height), (4, 4));
}

/// A GIF frame claiming far more than the screen (65535x65535 in a 16x16
/// GIF of a few bytes) fails to decode without the decoder allocating
/// what it claims (17 GB), the frames before it read.
#[test]
fn a_gif_frame_claiming_a_huge_size_is_refused_before_it_is_allocated() {
    let dir = tempdir();
    let path = dir.path().join("bomb.gif");
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&16u16.to_le_bytes());
    gif.extend_from_slice(&16u16.to_le_bytes());
    gif.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    for (w, h) in [(1u16, 1u16), (65535, 65535)] {
        gif.extend_from_slice(&[0x2c, 0, 0, 0, 0]);
        gif.extend_from_slice(&w.to_le_bytes());
        gif.extend_from_slice(&h.to_le_bytes());
        gif.extend_from_slice(&[0, 2, 2, 0x4c, 0x01, 0]);
    }
    gif.push(0x3b);
    std::fs::write(&path, &gif).unwrap();
    let mut source =
        stylize_frames::open_source(&path, &stylize_frames::SourceOptions::default()).unwrap();
    assert!(source.next_frame().unwrap().is_some());
    let err = source
        .next_frame()
        .expect_err("the 65535x65535 frame was read");
    let causes = std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    assert!(
        causes.contains("bomb.gif") && causes.contains("limit"),
        "{causes}"
    );
}

/// A GIF's or APNG's `finish` encodes the whole clip; a stop signal set
/// before it stops it with `Stopped`, and nothing is left in the folder.
/// Unset, the same sink writes its file.
#[test]
fn a_stop_signal_stops_the_encoding_and_leaves_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    for name in ["clip.gif", "clip.apng"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join(name);
        let flag = Arc::new(AtomicBool::new(false));
        let write = || {
            let opts = SinkOptions {
                stop: Some(stylize_frames::StopSignal::new(flag.clone())),
                ..options((10, 1))
            };
            let mut sink = stylize_frames::create_sink(&out, &opts).unwrap();
            for k in 0..3u8 {
                sink.write_frame(&image::RgbImage::from_pixel(
                    16,
                    8,
                    image::Rgb([80 * k, 40, 200]),
                ))
                .unwrap();
            }
            sink
        };
        let sink = write();
        flag.store(true, Ordering::SeqCst);
        let err = sink.finish().unwrap_err();
        assert!(
            matches!(err, stylize_frames::FramesError::Stopped { .. }),
            "{name}: {err}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{name}");
        flag.store(false, Ordering::SeqCst);
        write().finish().unwrap();
        assert!(out.is_file(), "{name}");
    }
}

/// A GIF that ends early (without its trailer byte, or inside its last
/// frame) gives its whole frames, not an error after them.
#[test]
fn a_gif_that_ends_early_gives_its_whole_frames() {
    let d = tempfile::tempdir().unwrap();
    let whole = d.path().join("whole.gif");
    write(&whole, &frames(4), &options((10, 1))).unwrap();
    let bytes = std::fs::read(&whole).unwrap();
    assert_eq!(bytes.last(), Some(&0x3b), "a GIF ends with its trailer");
    let (_, all) = read_all(&whole).unwrap();
    assert_eq!(all.len(), 4);
    let no_trailer = d.path().join("no-trailer.gif");
    std::fs::write(&no_trailer, &bytes[..bytes.len() - 1]).unwrap();
    let (_, got) = read_all(&no_trailer).unwrap();
    assert_eq!(got, all);
    // Cut inside the last frame: the three before it.
    let cut = d.path().join("cut.gif");
    std::fs::write(&cut, &bytes[..bytes.len() - 40]).unwrap();
    let (_, got) = read_all(&cut).unwrap();
    assert_eq!(got[..], all[..3]);
}

/// A GIF with an empty frame, first or later, is refused naming the
/// frame; the decoder's own words ("odd-sized buffer") stay as the cause.
#[test]
fn a_gif_with_an_empty_screen_or_frame_says_which() {
    fn gif(screen: (u16, u16), frames: &[(u16, u16)]) -> Vec<u8> {
        let mut b = b"GIF89a".to_vec();
        b.extend_from_slice(&screen.0.to_le_bytes());
        b.extend_from_slice(&screen.1.to_le_bytes());
        b.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        for (w, h) in frames {
            b.extend_from_slice(&[0x2c, 0, 0, 0, 0]);
            b.extend_from_slice(&w.to_le_bytes());
            b.extend_from_slice(&h.to_le_bytes());
            b.extend_from_slice(&[0, 2, 2, 0x4c, 0x01, 0]);
        }
        b.push(0x3b);
        b
    }
    let d = tempdir();
    let cases = [
        (
            "both.gif",
            gif((0, 0), &[(0, 0)]),
            "both.gif: frame 1 is empty (0x0 px)",
        ),
        (
            "first.gif",
            gif((4, 4), &[(0, 4), (1, 1)]),
            "first.gif: frame 1 is empty (0x4 px)",
        ),
        (
            "second.gif",
            gif((4, 4), &[(1, 1), (3, 0)]),
            "second.gif: frame 2 is empty (3x0 px)",
        ),
    ];
    for (name, bytes, says) in cases {
        let path = d.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = read_all(&path)
            .err()
            .unwrap_or_else(|| panic!("{name} was read"));
        assert!(
            matches!(err, stylize_frames::FramesError::EmptyGifFrame { .. }),
            "{name}: {err}"
        );
        assert!(err.to_string().contains(says), "{name}: {err}");
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            cause.is_some_and(|c| c.contains("odd-sized buffer")),
            "{name}: {err}"
        );
    }
    // A corrupt frame before an empty one is that frame's plain decode
    // error, not the later frame's emptiness.
    let mut corrupt = gif((4, 4), &[(1, 1), (1, 1), (0, 0)]);
    // The second frame's LZW code size, past the format's 12.
    let second = corrupt
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == &[0x2c, 0])
        .nth(1)
        .map(|(i, _)| i + 10)
        .unwrap();
    assert_eq!(corrupt[second], 2);
    corrupt[second] = 13;
    let path = d.path().join("corrupt.gif");
    std::fs::write(&path, corrupt).unwrap();
    let err = read_all(&path).expect_err("corrupt.gif was read");
    assert!(
        matches!(err, stylize_frames::FramesError::Decode { .. }),
        "corrupt.gif: {err}"
    );
    assert!(!err.to_string().contains("empty"), "corrupt.gif: {err}");
    // With frames of 1x1 the same files decode, an empty screen included:
    // the frames are what failed.
    for screen in [(4, 4), (0, 0)] {
        let ok = d.path().join("ok.gif");
        std::fs::write(&ok, gif(screen, &[(1, 1), (1, 1)])).unwrap();
        assert_eq!(read_all(&ok).unwrap().1.len(), 2, "{screen:?}");
    }
}

/// A RIFF chunk: fourcc, little-endian size, payload, pad byte.
fn riff_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], payload: &[u8]) {
    out.extend_from_slice(fourcc);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
}

/// The VP8L chunk (header included) of an RGBA image, encoded losslessly.
fn vp8l(img: &image::RgbaImage) -> Vec<u8> {
    let mut file = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut file)
        .encode(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    // RIFF <size> WEBP VP8L ...: a still lossless file is one chunk.
    assert_eq!(&file[12..16], b"VP8L");
    file[12..].to_vec()
}

/// An animated WebP whose first frame says "dispose to background"
/// (libwebp's usual encoding of a moving shape on transparency): the next
/// frame starts from a cleared rectangle, as browsers and libwebp show it.
/// (Before: the image crate's decoder, with no background colour set,
/// kept the first frame's square in every later frame.)
#[test]
fn webp_frames_disposed_to_background_are_cleared() {
    let u24 = |v: u32| v.to_le_bytes()[..3].to_vec();
    let red = image::Rgba([255, 0, 0, 255]);
    let mut first = image::RgbaImage::new(8, 8);
    for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        first.put_pixel(x, y, red);
    }
    let second = image::RgbaImage::from_pixel(2, 2, red);
    let mut body = b"WEBP".to_vec();
    let mut vp8x = vec![0x12, 0, 0, 0]; // animation and alpha
    vp8x.extend(u24(7));
    vp8x.extend(u24(7));
    riff_chunk(&mut body, b"VP8X", &vp8x);
    riff_chunk(&mut body, b"ANIM", &[0, 0, 0, 0, 0, 0]);
    // (x / 2, y / 2, width - 1, height - 1, duration, flags)
    for (img, half_offset, flags) in [(&first, 0, 0x03), (&second, 2, 0x00)] {
        let mut anmf = Vec::new();
        anmf.extend(u24(half_offset));
        anmf.extend(u24(half_offset));
        anmf.extend(u24(img.width() - 1));
        anmf.extend(u24(img.height() - 1));
        anmf.extend(u24(100));
        anmf.push(flags); // 0x02: do not blend; 0x01: dispose to background
        anmf.extend(vp8l(img));
        riff_chunk(&mut body, b"ANMF", &anmf);
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend(body);
    let dir = tempdir();
    let path = dir.path().join("disposed.webp");
    std::fs::write(&path, file).unwrap();
    let (_, frames) = read_all(&path).unwrap();
    assert_eq!(frames.len(), 2);
    // (Flattened onto the background, within a level of rounding.)
    let is_red = |p: &image::Rgb<u8>| p[0] > 250 && p[1] < 5 && p[2] < 5;
    assert!(is_red(frames[0].get_pixel(0, 0)));
    assert!(is_red(frames[1].get_pixel(4, 4)));
    // Where the first frame's square was: the background again.
    assert_eq!(frames[1].get_pixel(0, 0), frames[1].get_pixel(7, 7));
    assert!(!is_red(frames[1].get_pixel(0, 0)));
}
