//! Videos through ffmpeg (skipped without one), and a missing or failing
//! ffmpeg.

use std::path::{Path, PathBuf};
use std::process::Command;

use stylize_frames::{create_sink, open_source, probe, FramesError, SinkOptions, SourceOptions};

use crate::common::*;

fn assert_install_help(err: &FramesError) {
    let text = err.to_string();
    assert!(matches!(err, FramesError::FfmpegMissing { .. }), "{text}");
    assert!(text.contains("apt-get install ffmpeg"), "{text}");
    assert!(text.contains("imageio-ffmpeg"), "{text}");
    assert!(text.contains("STYLIZE_FFMPEG"), "{text}");
}

#[test]
fn missing_ffmpeg_says_how_to_get_one() {
    let dir = tempdir();
    let missing = PathBuf::from("/nonexistent/ffmpeg");
    let video = dir.path().join("clip.mp4");
    std::fs::write(&video, b"\0\0\0\x18ftypmp42 not really").unwrap();
    let options = SourceOptions {
        ffmpeg: missing.clone(),
        ..SourceOptions::default()
    };
    let err = open_source(&video, &options).err().unwrap();
    assert_install_help(&err);
    assert!(err.to_string().contains("clip.mp4"));

    for name in ["out.mp4", "out.webm", "out.mov", "out.mkv"] {
        let options = SinkOptions {
            ffmpeg: missing.clone(),
            ..SinkOptions::default()
        };
        let err = create_sink(&dir.path().join(name), &options).err().unwrap();
        assert_install_help(&err);
    }
    assert_install_help(&probe(&video, &missing).unwrap_err());
    // Formats that need no ffmpeg still work with a missing one.
    let gif = dir.path().join("a.gif");
    write(
        &gif,
        &frames(2),
        &SinkOptions {
            ffmpeg: missing.clone(),
            ..SinkOptions::default()
        },
    )
    .unwrap();
    assert_eq!(names(dir.path()), ["a.gif", "clip.mp4"]);
}

#[cfg(unix)]
#[test]
fn failing_ffmpeg_leaves_nothing() {
    let dir = tempdir();
    let out = dir.path().join("out.mp4");
    let options = SinkOptions {
        ffmpeg: PathBuf::from("false"),
        ..SinkOptions::default()
    };
    let result = (|| {
        let mut sink = create_sink(&out, &options)?;
        for f in frames(3) {
            sink.write_frame(&f)?;
        }
        sink.finish()
    })();
    let err = result.unwrap_err();
    assert!(matches!(err, FramesError::FfmpegFailed { .. }), "{err}");
    assert!(err.to_string().contains("exit status 1"), "{err}");
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

/// ffmpeg 5.1 on a full disk: the frames taken, the file's end not
/// written, "Error writing trailer of ...: No space left on device", and
/// exit status 0. That is a failure: the output is not replaced (an
/// earlier one stays as it was) and no staged file is left. (Before: the
/// few KiB written replaced the output, and the run said it was written.)
#[cfg(unix)]
#[test]
fn ffmpeg_that_cannot_write_the_files_end_fails_though_it_exits_0() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempdir();
    let fake = dir.path().join("ffmpeg");
    // Reads the frames, writes 4 KiB to its last argument, says what
    // ffmpeg says, and exits 0.
    std::fs::write(
        &fake,
        "#!/bin/sh\ncat > /dev/null\nfor last; do :; done\nhead -c 4096 /dev/zero > \"$last\"\n\
         echo \"Error writing trailer of $last: No space left on device\" >&2\n\
         echo \"Error closing file $last: No space left on device\" >&2\nexit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("clip.mkv");
    std::fs::write(&out, b"an earlier video").unwrap();
    let options = SinkOptions {
        ffmpeg: fake,
        ..SinkOptions::default()
    };
    let result = (|| {
        let mut sink = create_sink(&out, &options)?;
        for f in frames(3) {
            sink.write_frame(&f)?;
        }
        sink.finish()
    })();
    let err = result.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, FramesError::FfmpegFailed { .. }), "{text}");
    assert!(text.contains("could not write the whole file"), "{text}");
    assert!(text.contains("No space left on device"), "{text}");
    assert_eq!(std::fs::read(&out).unwrap(), b"an earlier video");
    assert_eq!(names(&out_dir), ["clip.mkv"]);
}

/// Runs ffmpeg with `args`; panics with its stderr on failure.
fn run(ffmpeg: &Path, args: &[&str]) {
    let out = Command::new(ffmpeg)
        .args(["-y", "-v", "error"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mp4_and_webm_round_trips() {
    let Some(ffmpeg) = ffmpeg_or_skip("mp4_and_webm_round_trips") else {
        return;
    };
    let dir = tempdir();
    let input = frames(8);
    for (name, bound) in [
        ("clip.mp4", 4.0),
        ("clip.webm", 5.0),
        ("clip.mkv", 4.0),
        ("clip.mov", 4.0),
    ] {
        let out = dir.path().join(name);
        let options = SinkOptions {
            fps: Some((10, 1)),
            ffmpeg: ffmpeg.clone(),
            ..SinkOptions::default()
        };
        write(&out, &input, &options).unwrap();
        let options = SourceOptions {
            ffmpeg: ffmpeg.clone(),
            ..SourceOptions::default()
        };
        let mut source = open_source(&out, &options).unwrap();
        let info = *source.info();
        assert_eq!(
            (info.width, info.height, info.fps),
            (W, H, Some((10, 1))),
            "{name}"
        );
        assert_eq!(source.total_frames(), Some(8), "{name}");
        let mut back = Vec::new();
        while let Some(f) = source.next_frame().unwrap() {
            back.push(f);
        }
        assert_eq!(back.len(), 8, "{name}");
        // Lossy 4:2:0 at high quality on smooth ramps: a few levels.
        for (a, b) in input.iter().zip(&back) {
            assert!(mae(a, b) < bound, "{name}: {}", mae(a, b));
        }
        assert_in_order(name, &input, &back);
        let p = probe(&out, &ffmpeg).unwrap();
        assert!(!p.has_audio(), "{name}");
    }
    let mut left = names(dir.path());
    left.sort();
    assert_eq!(left, ["clip.mkv", "clip.mov", "clip.mp4", "clip.webm"]);
}

#[test]
fn odd_sizes_are_cropped_to_even() {
    let Some(ffmpeg) = ffmpeg_or_skip("odd_sizes_are_cropped_to_even") else {
        return;
    };
    let dir = tempdir();
    let out = dir.path().join("odd.mp4");
    let options = SinkOptions {
        ffmpeg: ffmpeg.clone(),
        ..SinkOptions::default()
    };
    write(
        &out,
        &[flat(33, 25, [10, 200, 30]), flat(33, 25, [10, 200, 30])],
        &options,
    )
    .unwrap();
    let options = SourceOptions {
        ffmpeg,
        ..SourceOptions::default()
    };
    let (info, back) = read_all_with(&out, &options).unwrap();
    assert_eq!((info.width, info.height, info.fps), (32, 24, Some((25, 1))));
    assert!(mae(&back[0], &flat(32, 24, [10, 200, 30])) < 3.0);
}

/// Makes `path`: `video_seconds` of a 10 fps H.264 test pattern and 4 s
/// of AAC sound.
fn with_sound(ffmpeg: &Path, path: &Path, video_seconds: u32) {
    let pattern = format!("testsrc=size=32x24:rate=10:duration={video_seconds}");
    run(
        ffmpeg,
        &[
            "-f",
            "lavfi",
            "-i",
            &pattern,
            "-f",
            "lavfi",
            "-i",
            "sine=duration=4",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            path.to_str().unwrap(),
        ],
    );
}

/// A clip whose sound runs on after its pictures (2 s of video, 4 s of
/// sound): its length is its frames, not the container's duration, which
/// is the sound's (a progress bar said 20 of 40 frames, and ended at 20).
#[test]
fn a_clips_length_is_its_frames_when_its_sound_runs_longer() {
    let Some(ffmpeg) = ffmpeg_or_skip("a_clips_length_is_its_frames_when_its_sound_runs_longer")
    else {
        return;
    };
    let dir = tempdir();
    let input = dir.path().join("long-sound.mp4");
    with_sound(&ffmpeg, &input, 2);
    let p = probe(&input, &ffmpeg).unwrap();
    let d = p.duration.unwrap().as_secs_f64();
    assert!(d > 3.5, "the container's duration is the sound's: {d}");
    let options = SourceOptions {
        ffmpeg: ffmpeg.clone(),
        ..SourceOptions::default()
    };
    let source = open_source(&input, &options).unwrap();
    assert_eq!(source.total_frames(), Some(20));
    let (_, frames) = read_all_with(&input, &options).unwrap();
    assert_eq!(frames.len(), 20);
    // Cut out without re-encoding, with sound: the copy keeps the frames
    // back to the keyframe before the cut, which an edit list hides (27
    // packets, 12 frames shown); the length is the duration's, not the
    // packets' count.
    let source4 = dir.path().join("source.mp4");
    with_sound(&ffmpeg, &source4, 4);
    let trimmed = dir.path().join("trimmed.mp4");
    run(
        &ffmpeg,
        &[
            "-ss",
            "1.5",
            "-i",
            source4.to_str().unwrap(),
            "-t",
            "1",
            "-c",
            "copy",
            trimmed.to_str().unwrap(),
        ],
    );
    let total = open_source(&trimmed, &options).unwrap().total_frames();
    let (_, frames) = read_all_with(&trimmed, &options).unwrap();
    let n = frames.len() as u64;
    assert!(
        total.is_some_and(|t| t.abs_diff(n) <= 1),
        "{total:?} for {n} frames"
    );
}

#[test]
fn audio_is_copied_from_the_input() {
    let Some(ffmpeg) = ffmpeg_or_skip("audio_is_copied_from_the_input") else {
        return;
    };
    let dir = tempdir();
    let input = dir.path().join("in.mp4");
    run(
        &ffmpeg,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=32x24:rate=10:duration=1",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=44100:cl=mono",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            input.to_str().unwrap(),
        ],
    );
    let p = probe(&input, &ffmpeg).unwrap();
    assert_eq!(p.audio_codec.as_deref(), Some("aac"));
    let d = p.duration.unwrap().as_secs_f64();
    assert!((0.9..1.2).contains(&d), "{d}");

    let options = SourceOptions {
        ffmpeg: ffmpeg.clone(),
        ..SourceOptions::default()
    };
    let (info, frames) = read_all_with(&input, &options).unwrap();
    assert_eq!(info.fps, Some((10, 1)));
    assert_eq!(frames.len(), 10);

    for (name, codec) in [("out.mp4", "aac"), ("out.webm", "opus"), ("out.mkv", "aac")] {
        let out = dir.path().join(name);
        let options = SinkOptions {
            fps: info.fps,
            audio_from: Some(input.clone()),
            ffmpeg: ffmpeg.clone(),
            ..SinkOptions::default()
        };
        write(&out, &frames, &options).unwrap();
        let p = probe(&out, &ffmpeg).unwrap();
        assert_eq!(p.audio_codec.as_deref(), Some(codec), "{name}");
    }
    // A source without audio adds none.
    let gif = dir.path().join("a.gif");
    write(&gif, &frames[..2], &SinkOptions::default()).unwrap();
    let out = dir.path().join("silent.mp4");
    let options = SinkOptions {
        audio_from: Some(gif),
        ffmpeg: ffmpeg.clone(),
        ..SinkOptions::default()
    };
    write(&out, &frames[..2], &options).unwrap();
    assert!(!probe(&out, &ffmpeg).unwrap().has_audio());
    // Two sound tracks (the sink says only the first goes along).
    let two = dir.path().join("two.mkv");
    run(
        &ffmpeg,
        &[
            "-i",
            input.to_str().unwrap(),
            "-map",
            "0:v",
            "-map",
            "0:a",
            "-map",
            "0:a",
            "-c",
            "copy",
            two.to_str().unwrap(),
        ],
    );
    let p = probe(&two, &ffmpeg).unwrap();
    assert_eq!(
        (p.audio_codec.as_deref(), p.audio_streams),
        (Some("aac"), 2)
    );
    assert_eq!(probe(&input, &ffmpeg).unwrap().audio_streams, 1);
}

/// An audio file is said to have no video, not with ffmpeg's advice on
/// its `-map` option; an empty file is said to be empty, before ffmpeg.
#[test]
fn audio_only_and_empty_inputs_say_so() {
    let Some(ffmpeg) = ffmpeg_or_skip("audio_only_and_empty_inputs_say_so") else {
        return;
    };
    let dir = tempdir();
    let audio = dir.path().join("tone.wav");
    run(
        &ffmpeg,
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=duration=0.2",
            audio.to_str().unwrap(),
        ],
    );
    let options = SourceOptions {
        ffmpeg,
        ..SourceOptions::default()
    };
    let err = read_all_with(&audio, &options).unwrap_err();
    assert!(matches!(err, FramesError::NoVideoStream { .. }), "{err}");
    assert!(
        err.to_string().contains("tone.wav has no video stream"),
        "{err}"
    );
    for name in ["empty.mp4", "empty.y4m", "empty.gif"] {
        let path = dir.path().join(name);
        std::fs::write(&path, b"").unwrap();
        let err = read_all_with(&path, &options).unwrap_err();
        assert!(
            matches!(err, FramesError::EmptyFile { .. }),
            "{name}: {err}"
        );
        assert!(
            err.to_string().contains("the file is empty (0 bytes)"),
            "{err}"
        );
    }
    // A frame of 0 bytes in a folder, first or later.
    let folder = dir.path().join("frames");
    std::fs::create_dir(&folder).unwrap();
    for (k, f) in frames(2).iter().enumerate() {
        f.save(folder.join(format!("f{k}.png"))).unwrap();
    }
    std::fs::write(folder.join("f1.png"), b"").unwrap();
    let err = read_all_with(&folder, &options).unwrap_err();
    assert!(matches!(err, FramesError::EmptyFile { .. }), "{err}");
    assert!(err.to_string().contains("f1.png"), "{err}");
}

/// Of several video streams the default is read, not the first; a file
/// whose only picture is a cover (a song) has no clip; a lone cover is
/// not taken for one. (Before: always the first video stream.)
#[test]
fn the_default_video_stream_is_read_and_a_cover_is_not_a_clip() {
    let Some(ffmpeg) = ffmpeg_or_skip("the_default_video_stream_is_read_and_a_cover_is_not_a_clip")
    else {
        return;
    };
    let dir = tempdir();
    let two = dir.path().join("two.mkv");
    let src = |size: &str, rate: &str| format!("testsrc=size={size}:rate={rate}:duration=0.4");
    run(
        &ffmpeg,
        &[
            "-f",
            "lavfi",
            "-i",
            &src("96x64", "25"),
            "-f",
            "lavfi",
            "-i",
            &src("64x48", "10"),
            "-map",
            "0:v",
            "-map",
            "1:v",
            "-c:v",
            "ffv1",
            "-disposition:v:0",
            "0",
            "-disposition:v:1",
            "default",
            two.to_str().unwrap(),
        ],
    );
    let options = SourceOptions {
        ffmpeg: ffmpeg.clone(),
        ..SourceOptions::default()
    };
    // The default, smaller and second: not the first, nor the largest.
    let (info, frames) = read_all_with(&two, &options).unwrap();
    assert_eq!((info.width, info.height, info.fps), (64, 48, Some((10, 1))));
    assert_eq!(frames.len(), 4);
    // A description of many kilobytes (a film's tags and chapters): read
    // whole. (Before: only its last 2000 bytes were kept, the probe
    // failed, and the first stream was read.)
    let tagged = dir.path().join("tagged.mkv");
    let chapters = dir.path().join("chapters.txt");
    let mut meta = String::from(";FFMETADATA1\n");
    for k in 0..60 {
        meta += &format!(
            "[CHAPTER]\nTIMEBASE=1/1000\nSTART={}\nEND={}\ntitle=Chapter {k}\n",
            k * 5,
            k * 5 + 5
        );
    }
    std::fs::write(&chapters, meta).unwrap();
    run(
        &ffmpeg,
        &[
            "-i",
            two.to_str().unwrap(),
            "-i",
            chapters.to_str().unwrap(),
            "-map",
            "0",
            "-map_chapters",
            "1",
            "-c",
            "copy",
            tagged.to_str().unwrap(),
        ],
    );
    let p = probe(&tagged, &ffmpeg).unwrap();
    assert_eq!(p.clip_stream().map(|v| v.index), Some(1));
    let (info, _) = read_all_with(&tagged, &options).unwrap();
    assert_eq!((info.width, info.height), (64, 48));

    let cover = dir.path().join("cover.png");
    flat(32, 32, [200, 30, 30]).save(&cover).unwrap();
    let song = dir.path().join("song.m4a");
    run(
        &ffmpeg,
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=duration=0.5",
            "-i",
            cover.to_str().unwrap(),
            "-map",
            "0",
            "-map",
            "1",
            "-c:a",
            "aac",
            "-c:v",
            "png",
            "-disposition:v",
            "attached_pic",
            song.to_str().unwrap(),
        ],
    );
    let Err(err) = read_all_with(&song, &options) else {
        panic!("a song's cover was read as a clip");
    };
    assert!(matches!(err, FramesError::NoVideoStream { .. }), "{err}");
}

#[test]
fn corrupt_video_reports_ffmpeg_stderr() {
    let Some(ffmpeg) = ffmpeg_or_skip("corrupt_video_reports_ffmpeg_stderr") else {
        return;
    };
    let dir = tempdir();
    let video = dir.path().join("broken.mp4");
    std::fs::write(&video, b"\0\0\0\x18ftypmp42 this is not a video at all").unwrap();
    let options = SourceOptions {
        ffmpeg,
        ..SourceOptions::default()
    };
    let err = read_all_with(&video, &options).unwrap_err();
    assert!(matches!(err, FramesError::FfmpegFailed { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("broken.mp4"), "{text}");
    // ffmpeg's own words are in it.
    match err {
        FramesError::FfmpegFailed { stderr, .. } => assert!(!stderr.is_empty()),
        _ => unreachable!(),
    }
}

#[test]
fn y4m_source_reads_ffmpeg_output_and_ffmpeg_reads_ours() {
    let Some(ffmpeg) = ffmpeg_or_skip("y4m_source_reads_ffmpeg_output_and_ffmpeg_reads_ours")
    else {
        return;
    };
    let dir = tempdir();
    // ffmpeg's C420jpeg / C420mpeg2 Y4M read by our parser.
    for pix in ["yuv420p", "yuvj420p", "yuv444p", "gray"] {
        let y4m = dir.path().join(format!("{pix}.y4m"));
        run(
            &ffmpeg,
            &[
                "-f",
                "lavfi",
                "-i",
                "color=c=0x3070b0:size=32x24:rate=25:duration=0.2",
                "-pix_fmt",
                pix,
                "-strict",
                "-1",
                y4m.to_str().unwrap(),
            ],
        );
        let (info, back) = read_all(&y4m).unwrap();
        assert_eq!(
            (info.width, info.height, info.fps, back.len()),
            (W, H, Some((25, 1)), 5),
            "{pix}"
        );
        // Grey: the colour's BT.601 luma, 0.299 * 48 + 0.587 * 112 +
        // 0.114 * 176 = 100.2, in every channel.
        let want = if pix == "gray" {
            flat(W, H, [100, 100, 100])
        } else {
            flat(W, H, [0x30, 0x70, 0xb0])
        };
        assert!(
            max_diff(&back[0], &want) <= 3,
            "{pix}: {:?}",
            back[0].get_pixel(0, 0)
        );
    }
    // Our Y4M read by ffmpeg, converted to PNG.
    let ours = dir.path().join("ours.y4m");
    write(&ours, &[flat(W, H, [200, 40, 90])], &SinkOptions::default()).unwrap();
    let png = dir.path().join("ours.png");
    run(
        &ffmpeg,
        &["-i", ours.to_str().unwrap(), png.to_str().unwrap()],
    );
    let back = image::open(&png).unwrap().into_rgb8();
    assert!(
        max_diff(&back, &flat(W, H, [200, 40, 90])) <= 3,
        "{:?}",
        back.get_pixel(0, 0)
    );
}

#[test]
fn dropping_an_ffmpeg_source_early_stops_ffmpeg() {
    let Some(ffmpeg) = ffmpeg_or_skip("dropping_an_ffmpeg_source_early_stops_ffmpeg") else {
        return;
    };
    let dir = tempdir();
    let video = dir.path().join("long.mkv");
    run(
        &ffmpeg,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25:duration=60",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            video.to_str().unwrap(),
        ],
    );
    let options = SourceOptions {
        ffmpeg,
        ..SourceOptions::default()
    };
    let mut source = open_source(&video, &options).unwrap();
    assert_eq!(source.total_frames(), Some(1500));
    assert!(source.next_frame().unwrap().is_some());
    // Drop kills and reaps ffmpeg instead of waiting for 1499 more frames
    // to be decoded into a pipe nobody reads (which would hang).
    drop(source);
}
