//! The work folder of a video run: every finished frame, written
//! atomically, so that a stopped or killed run loses at most the frame in
//! progress, and a manifest of the settings, so that the same command run
//! again continues where it stopped and a changed one starts over.
//!
//! Per frame `N` (1-based, six digits): `frame_N.png`, the result at the
//! output size; `state_N.png`, the result at the working size (what the
//! next frame is warped from); `state_N.json`, its final cost and whether
//! it began a shot. A frame counts as finished when its `frame_N.png`
//! exists, which is written last. With a closed loop, `loop_frame_N.png`
//! (and its state) is the second pass over one of the first frames, and
//! replaces `frame_N.png` in the output.

use std::path::{Path, PathBuf};

use image::{DynamicImage, RgbImage};
use serde_json::json;

use crate::error::{Error, Result};
use crate::image_io::{load_image, save_image, write_atomic};

const MANIFEST: &str = "manifest.json";

/// A video run's work folder (see the module docs).
#[derive(Debug)]
pub struct WorkDir {
    dir: PathBuf,
    finished: usize,
    restarted: bool,
}

/// What the work folder holds of one finished frame.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) state: RgbImage,
    pub(crate) cost: f64,
    pub(crate) fresh: bool,
}

impl WorkDir {
    /// Opens (or makes) `dir` for a run with `settings` (any text that
    /// changes when the result would: the settings and the inputs'
    /// identities). A folder holding another run's frames is emptied of
    /// them, and [`Self::restarted`] says so.
    ///
    /// # Errors
    /// [`Error::Io`] naming the folder or file.
    pub fn open(dir: &Path, settings: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let manifest = dir.join(MANIFEST);
        let want = json!({ "stylize": env!("CARGO_PKG_VERSION"), "settings": settings });
        let same = std::fs::read_to_string(&manifest)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| v == want);
        let mut restarted = false;
        if !same {
            restarted = clear_frames(dir)?;
            write_atomic(&manifest, want.to_string().as_bytes())?;
        }
        let mut finished = 0;
        while dir.join(frame_name("frame", finished + 1, "png")).is_file()
            && dir.join(frame_name("state", finished + 1, "png")).is_file()
            && dir
                .join(frame_name("state", finished + 1, "json"))
                .is_file()
        {
            finished += 1;
        }
        Ok(WorkDir {
            dir: dir.to_path_buf(),
            finished,
            restarted,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Frames finished by earlier runs (0-based indices `0..finished`).
    pub fn finished(&self) -> usize {
        self.finished
    }

    /// Whether the folder held frames of a run with other settings, which
    /// were removed.
    pub fn restarted(&self) -> bool {
        self.restarted
    }

    /// The finished frames' result files, in order.
    pub fn frame_files(&self) -> Vec<PathBuf> {
        (1..=self.finished)
            .map(|n| {
                let looped = self.dir.join(frame_name("loop_frame", n, "png"));
                if looped.is_file() {
                    looped
                } else {
                    self.dir.join(frame_name("frame", n, "png"))
                }
            })
            .collect()
    }

    pub(crate) fn load(&self, index: usize) -> Result<Stored> {
        self.load_kind(index, "")
    }

    /// Frame `index` as the loop's second pass made it, if it did.
    pub(crate) fn load_loop(&self, index: usize) -> Result<Option<Stored>> {
        let done = self
            .dir
            .join(frame_name("loop_frame", index + 1, "png"))
            .is_file();
        done.then(|| self.load_kind(index, "loop_")).transpose()
    }

    /// Frame `index` as the loop's second pass made it; an I/O error
    /// naming the file when it did not.
    pub(crate) fn load_looped(&self, index: usize) -> Result<Stored> {
        self.load_kind(index, "loop_")
    }

    /// The result image (at the frame's size) of frame `index`: the
    /// first pass's, or the loop pass's with `looped`.
    pub(crate) fn load_result(&self, index: usize, looped: bool) -> Result<DynamicImage> {
        let kind = if looped { "loop_frame" } else { "frame" };
        load_image(&self.dir.join(frame_name(kind, index + 1, "png")))
    }

    fn load_kind(&self, index: usize, prefix: &str) -> Result<Stored> {
        let n = index + 1;
        let state_path = self
            .dir
            .join(frame_name(&format!("{prefix}state"), n, "png"));
        let state = load_image(&state_path)?.to_rgb8();
        let json_path = self
            .dir
            .join(frame_name(&format!("{prefix}state"), n, "json"));
        let text = std::fs::read_to_string(&json_path).map_err(|e| Error::io(&json_path, e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::io(
                &json_path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })?;
        let bad = || {
            Error::io(
                &json_path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, "not a frame record"),
            )
        };
        Ok(Stored {
            state,
            cost: v["cost"].as_f64().ok_or_else(bad)?,
            fresh: v["fresh"].as_bool().ok_or_else(bad)?,
        })
    }

    /// Records frame `index` (0-based) as finished: the state files first,
    /// the result last, each atomically.
    pub(crate) fn store(&mut self, index: usize, image: &DynamicImage, s: &Stored) -> Result<()> {
        self.store_kind(index, image, s, "")?;
        self.finished = self.finished.max(index + 1);
        Ok(())
    }

    /// Records the loop's second pass over frame `index`, which replaces
    /// the first pass's result in [`Self::frame_files`].
    pub(crate) fn store_loop(&self, index: usize, image: &DynamicImage, s: &Stored) -> Result<()> {
        self.store_kind(index, image, s, "loop_")
    }

    fn store_kind(
        &self,
        index: usize,
        image: &DynamicImage,
        s: &Stored,
        prefix: &str,
    ) -> Result<()> {
        let n = index + 1;
        save_image(
            &DynamicImage::ImageRgb8(s.state.clone()),
            &self
                .dir
                .join(frame_name(&format!("{prefix}state"), n, "png")),
        )?;
        let record = json!({ "cost": s.cost, "fresh": s.fresh });
        let json_path = self
            .dir
            .join(frame_name(&format!("{prefix}state"), n, "json"));
        write_atomic(&json_path, record.to_string().as_bytes())?;
        save_image(
            image,
            &self
                .dir
                .join(frame_name(&format!("{prefix}frame"), n, "png")),
        )?;
        Ok(())
    }
}

fn frame_name(kind: &str, n: usize, ext: &str) -> String {
    format!("{kind}_{n:06}.{ext}")
}

/// Removes every frame file of an earlier run; whether there were any.
fn clear_frames(dir: &Path) -> Result<bool> {
    let mut any = false;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("frame_") || name.starts_with("state_") || name.starts_with("loop_") {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            any = true;
        }
    }
    Ok(any)
}
