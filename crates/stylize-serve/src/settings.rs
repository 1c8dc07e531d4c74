//! A job's settings as the page sends them: the method (the optimiser, or
//! the fast feed-forward network), the preset and the few settings people
//! change, the rest under "Advanced". Missing fields take the preset's
//! values; the result maps onto a [`StyleConfig`] and onto the equivalent
//! command line.

use serde::{Deserialize, Serialize};
use stylize::{ColorPreservation, Init, Optimizer, Preset, Scales, StyleConfig};
use stylize_feedforward::{FastOptions, StyleMix};

use crate::job_kind::JobKind;

/// Every setting of a job, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Settings {
    /// The optimiser (default), or the feed-forward network in well under
    /// a second (photos only; of the rest it uses the size and the
    /// colours).
    pub(crate) method: MethodName,
    pub(crate) preset: PresetName,
    /// Longer side of the working image, pixels.
    pub(crate) size: u32,
    /// Iterations per scale.
    pub(crate) iterations: usize,
    /// Style strength: `beta = preset beta * 10^strength`, alpha unchanged.
    pub(crate) strength: f32,
    /// The fast network's strength, 0..=1 (`stylize fast --strength`):
    /// how far the style vector moves from the photo's own toward the
    /// painting's. Default 1.
    pub(crate) fast_strength: f32,
    /// With the fast method: one of the network's 26 built-in styles
    /// (`"3"`) or a mix (`"3:0.5,12:0.5"`), instead of the job's style
    /// images (`stylize fast --builtin`). Default: none, the paintings.
    pub(crate) network_style: Option<String>,
    /// Weights of the job's paintings, one per style part in the order
    /// sent, each >= 0 (normalised to sum to 1; `--style-blend`). Both
    /// methods use them. Default: none, equal parts.
    pub(crate) style_blend: Option<Vec<f32>>,
    /// With the fast method: a contact sheet instead of one painting, the
    /// photo then each style on it in a numbered tile of `size` (`stylize
    /// fast --sheet`): each of the job's paintings, or without any the
    /// network's 26 built-in styles. Default false.
    pub(crate) sheet: bool,
    pub(crate) preserve_colors: Colors,
    pub(crate) optimizer: OptimizerName,
    pub(crate) seed: u64,
    pub(crate) tv_weight: f32,
    pub(crate) init: InitName,
    pub(crate) init_noise: f32,
    /// `None`: the optimiser's default.
    pub(crate) learning_rate: Option<f32>,
    pub(crate) scales: usize,
    pub(crate) style_scale: f32,
}

/// What a request may give: any subset of [`Settings`]; an unknown field
/// is an error (a typo would otherwise be ignored silently).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsPatch {
    method: Option<MethodName>,
    preset: Option<PresetName>,
    size: Option<u32>,
    iterations: Option<usize>,
    strength: Option<f32>,
    fast_strength: Option<f32>,
    network_style: Option<String>,
    style_blend: Option<Vec<f32>>,
    sheet: Option<bool>,
    preserve_colors: Option<Colors>,
    optimizer: Option<OptimizerName>,
    seed: Option<u64>,
    tv_weight: Option<f32>,
    init: Option<InitName>,
    init_noise: Option<f32>,
    learning_rate: Option<f32>,
    scales: Option<usize>,
    style_scale: Option<f32>,
}

/// How a job paints: `stylize image`, or `stylize fast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MethodName {
    /// The Gatys optimiser.
    Optimize,
    /// The pretrained feed-forward network.
    Fast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PresetName {
    Seed,
    Gatys,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Colors {
    None,
    Luminance,
    Histogram,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OptimizerName {
    Adam,
    Lbfgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum InitName {
    Content,
    Noise,
    Style,
    /// The feed-forward network's painting (`--init fast`).
    Fast,
}

/// Ranges the page's controls use and requests are checked against.
pub(crate) const SIZE_RANGE: (u32, u32) = (16, 8192);
pub(crate) const ITERATIONS_RANGE: (usize, usize) = (1, 100_000);
pub(crate) const STRENGTH_RANGE: (f32, f32) = (-3.0, 3.0);
pub(crate) const SCALES_RANGE: (usize, usize) = (1, 8);
/// The largest seed: 2^53 - 1, so that the page (JavaScript numbers are
/// doubles) shows and sends back every seed exactly.
pub(crate) const MAX_SEED: u64 = (1 << 53) - 1;

impl PresetName {
    fn preset(self) -> Preset {
        match self {
            PresetName::Seed => Preset::Seed,
            PresetName::Gatys => Preset::Gatys,
        }
    }
}

impl Settings {
    /// The preset's settings.
    pub(crate) fn defaults(preset: PresetName) -> Settings {
        let c = StyleConfig::preset(preset.preset());
        Settings {
            method: MethodName::Optimize,
            preset,
            size: c.size,
            iterations: c.iterations,
            strength: 0.0,
            fast_strength: 1.0,
            network_style: None,
            style_blend: None,
            sheet: false,
            preserve_colors: match c.preserve_colors {
                None => Colors::None,
                Some(ColorPreservation::Luminance) => Colors::Luminance,
                Some(ColorPreservation::Histogram) => Colors::Histogram,
            },
            optimizer: match c.optimizer {
                Optimizer::Adam => OptimizerName::Adam,
                Optimizer::Lbfgs => OptimizerName::Lbfgs,
            },
            seed: c.seed,
            tv_weight: c.tv_weight,
            init: match c.init {
                Init::Noise => InitName::Noise,
                Init::Style => InitName::Style,
                _ => InitName::Content,
            },
            init_noise: c.init_noise,
            learning_rate: c.learning_rate,
            scales: match c.scales {
                Scales::Fixed(n) => n,
                Scales::Auto => 1,
            },
            style_scale: c.style_scale,
        }
    }

    /// `patch` over its preset's settings, checked.
    ///
    /// # Errors
    /// A message naming the setting out of range.
    pub(crate) fn resolve(patch: &SettingsPatch) -> Result<Settings, String> {
        let mut s = Settings::defaults(patch.preset.unwrap_or(PresetName::Seed));
        macro_rules! take {
            ($($f:ident),*) => { $( if let Some(v) = patch.$f { s.$f = v; } )* };
        }
        take!(
            method,
            size,
            iterations,
            strength,
            fast_strength,
            sheet,
            preserve_colors,
            optimizer,
            seed,
            tv_weight,
            init,
            init_noise,
            scales,
            style_scale
        );
        if patch.learning_rate.is_some() {
            s.learning_rate = patch.learning_rate;
        }
        if let Some(mix) = &patch.network_style {
            s.network_style = Some(mix.trim().to_string());
        }
        // An empty list is the default: equal parts.
        s.style_blend = patch.style_blend.clone().filter(|b| !b.is_empty());
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), String> {
        if self.method == MethodName::Fast && self.preserve_colors == Colors::Histogram {
            return Err(
                "the fast network keeps the photo's colours by luminance only: use preserve_colors \"luminance\""
                    .into(),
            );
        }
        if self.sheet {
            let refuse = |why: &str| Err(format!("a sheet {why}"));
            if self.method != MethodName::Fast {
                return refuse("is the fast network's (stylize fast --sheet): set method \"fast\"");
            }
            if self.network_style.is_some() {
                return refuse(
                    "without paintings shows every built-in style: send no network_style",
                );
            }
            if self.style_blend.is_some() {
                return refuse("shows each painting on its own: send no style_blend");
            }
            if self.preserve_colors != Colors::None {
                return refuse("shows each style's own colours: preserve_colors \"none\"");
            }
        }
        if let Some(mix) = &self.network_style {
            // 26 styles with their weights fit well within this; the
            // parse error quotes the mix's parts, so it stays short.
            let length = mix.chars().count();
            if length > MAX_NETWORK_STYLE {
                return Err(format!(
                    "network_style is at most {MAX_NETWORK_STYLE} characters: a built-in style \
                     or a mix of them (\"3:0.7,12:0.3\"); got {length}"
                ));
            }
            if self.method != MethodName::Fast {
                return Err(
                    "network_style is one of the fast network's built-in styles: set method \"fast\""
                        .into(),
                );
            }
            self.network_mix()?;
            if self.style_blend.is_some() {
                return Err(
                    "style_blend weighs the paintings; a network_style mix carries its own weights (\"3:0.7,12:0.3\")"
                        .into(),
                );
            }
        }
        if self.seed > MAX_SEED {
            return Err(format!(
                "seed must be within 0..={MAX_SEED} (2^53 - 1, the largest whole number a web \
                 page's JavaScript holds exactly; got {})",
                self.seed
            ));
        }
        let within = |name: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else if v.is_infinite() {
                // JSON's 1e308 read into an f32.
                Err(format!(
                    "{name} must be within {lo}..={hi} (got a number too large to hold)"
                ))
            } else if v.fract() == 0.0 && f64::from(v as f32) != v {
                // A whole number an f32 cannot hold, so a whole-number
                // setting's (a size, a count): as it was sent, 4294967295,
                // not its f32's 4294967300. (An f32 setting's value is one
                // an f32 holds, shown as below.)
                Err(format!("{name} must be within {lo}..={hi} (got {v:.0})"))
            } else {
                // Most other settings are f32: shown as one (-3.01, not
                // -3.009999990463257).
                Err(format!(
                    "{name} must be within {lo}..={hi} (got {})",
                    v as f32
                ))
            }
        };
        within(
            "size",
            f64::from(self.size),
            f64::from(SIZE_RANGE.0),
            f64::from(SIZE_RANGE.1),
        )?;
        within(
            "iterations",
            self.iterations as f64,
            ITERATIONS_RANGE.0 as f64,
            ITERATIONS_RANGE.1 as f64,
        )?;
        within(
            "strength",
            f64::from(self.strength),
            f64::from(STRENGTH_RANGE.0),
            f64::from(STRENGTH_RANGE.1),
        )?;
        within(
            "scales",
            self.scales as f64,
            SCALES_RANGE.0 as f64,
            SCALES_RANGE.1 as f64,
        )?;
        within("tv_weight", f64::from(self.tv_weight), 0.0, 1e9)?;
        within("fast_strength", f64::from(self.fast_strength), 0.0, 1.0)?;
        within("init_noise", f64::from(self.init_noise), 0.0, 1.0)?;
        within("style_scale", f64::from(self.style_scale), 0.05, 8.0)?;
        if let Some(lr) = self.learning_rate {
            within("learning_rate", f64::from(lr), 1e-9, 1e3)?;
            if lr <= 0.0 {
                return Err("learning_rate must be positive".into());
            }
        }
        Ok(())
    }

    /// The library's settings for these, with the server's memory limit.
    ///
    /// # Errors
    /// The library's own check ([`StyleConfig::validate`]), as a message.
    pub(crate) fn to_config(&self, max_memory: Option<u64>) -> Result<StyleConfig, String> {
        let mut c = StyleConfig::preset(self.preset.preset());
        c.size = self.size;
        c.iterations = self.iterations;
        c.beta *= 10f32.powf(self.strength);
        c.preserve_colors = match self.preserve_colors {
            Colors::None => None,
            Colors::Luminance => Some(ColorPreservation::Luminance),
            Colors::Histogram => Some(ColorPreservation::Histogram),
        };
        c.optimizer = match self.optimizer {
            OptimizerName::Adam => Optimizer::Adam,
            OptimizerName::Lbfgs => Optimizer::Lbfgs,
        };
        c.seed = self.seed;
        c.tv_weight = self.tv_weight;
        c.init = match self.init {
            InitName::Content => Init::Content,
            InitName::Noise => Init::Noise,
            InitName::Style => Init::Style,
            // The worker puts the network's painting here before the run.
            InitName::Fast => Init::Content,
        };
        c.init_noise = self.init_noise;
        c.learning_rate = self.learning_rate;
        c.scales = Scales::Fixed(self.scales);
        c.style_scale = self.style_scale;
        c.style_blend = self.style_blend.clone();
        c.max_memory = max_memory;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    /// The feed-forward network's settings for a fast job.
    pub(crate) fn fast_options(&self) -> FastOptions {
        FastOptions {
            strength: self.fast_strength,
            ..FastOptions::default()
        }
    }

    /// The built-in style mix of `network_style`, if one is set.
    ///
    /// # Errors
    /// The mix does not parse (an index out of range, a bad weight).
    pub(crate) fn network_mix(&self) -> Result<Option<StyleMix>, String> {
        self.network_style
            .as_deref()
            .map(|m| m.parse::<StyleMix>())
            .transpose()
            .map_err(|e| format!("network_style: {e}"))
    }

    /// Whether the job needs the feed-forward networks.
    pub(crate) fn needs_fast(&self) -> bool {
        self.method == MethodName::Fast || self.init == InitName::Fast
    }

    /// The `stylize image` (or `stylize fast`) command that does the same,
    /// naming the files as they were uploaded. Flags equal to the preset's
    /// are left out, but the preset, size and iterations are always given.
    /// `mask`: the paint mask's name, when the job has one.
    pub(crate) fn command(
        &self,
        kind: JobKind,
        content: &str,
        styles: &[String],
        mask: Option<&str>,
    ) -> String {
        if self.method == MethodName::Fast {
            return self.fast_command(kind, content, styles, mask);
        }
        let d = Settings::defaults(self.preset);
        let base = StyleConfig::preset(self.preset.preset());
        let job = match kind {
            JobKind::Image => "image",
            JobKind::Video => "video",
        };
        let mut args: Vec<String> = vec!["stylize".into(), job.into()];
        let mut flag = |name: &str, value: String| {
            args.push(format!("--{name}"));
            args.push(value);
        };
        match kind {
            JobKind::Image => flag("content", file_arg(content)),
            JobKind::Video => flag("input", file_arg(content)),
        }
        for s in styles {
            flag("style", file_arg(s));
        }
        flag("output", output_name(kind, content, styles, mask));
        if let Some(mask) = mask {
            flag("mask", file_arg(mask));
        }
        flag("preset", format!("{:?}", self.preset).to_lowercase());
        flag("size", self.size.to_string());
        flag("iterations", self.iterations.to_string());
        if self.strength != 0.0 {
            flag("beta", (base.beta * 10f32.powf(self.strength)).to_string());
        }
        if self.preserve_colors != d.preserve_colors {
            flag(
                "preserve-colors",
                format!("{:?}", self.preserve_colors).to_lowercase(),
            );
        }
        if self.optimizer != d.optimizer {
            flag("optimizer", format!("{:?}", self.optimizer).to_lowercase());
        }
        if self.seed != d.seed {
            flag("seed", self.seed.to_string());
        }
        if self.tv_weight != d.tv_weight {
            flag("tv-weight", self.tv_weight.to_string());
        }
        if self.init != d.init {
            flag("init", format!("{:?}", self.init).to_lowercase());
        }
        if self.init_noise != d.init_noise {
            flag("init-noise", self.init_noise.to_string());
        }
        if let Some(lr) = self.learning_rate {
            flag("lr", lr.to_string());
        }
        if self.scales != d.scales {
            flag("scales", self.scales.to_string());
        }
        if self.style_scale != d.style_scale {
            flag("style-scale", self.style_scale.to_string());
        }
        if let Some(b) = &self.style_blend {
            flag("style-blend", shell_quote(&blend_list(b)));
        }
        args.join(" ")
    }

    /// The flags of what the server paints with, for the end of
    /// [`Self::command`]: empty, or starting with a space. An optimiser
    /// job's `--threads` (`threads`, the server's painting threads), then
    /// the files, `--weights` and `--models`, each when given and used by
    /// this job.
    pub(crate) fn server_flags(
        &self,
        threads: usize,
        weights: Option<&std::path::Path>,
        models: Option<&std::path::Path>,
    ) -> String {
        let mut flags = String::new();
        // The optimiser's Gram products split their sums by thread, so its
        // result changes with the count (one per core without the flag).
        // The networks' sums run in one fixed order whatever the threads
        // (`stylize-feedforward`'s `direct.rs`, `ordered_conv.rs`): a fast
        // job paints the same at any count, and its command leaves the
        // flag out.
        if self.method != MethodName::Fast {
            flags.push_str(&format!(" --threads {threads}"));
        }
        let mut flag = |name: &str, path: &std::path::Path| {
            flags.push_str(&format!(" --{name} {}", file_arg(&path.to_string_lossy())));
        };
        if let Some(w) = weights.filter(|_| self.method != MethodName::Fast) {
            flag("weights", w);
        }
        if let Some(m) = models.filter(|_| self.needs_fast()) {
            flag("models", m);
        }
        flags
    }

    /// The `stylize fast` command of a fast photo, `stylize video --method
    /// fast` of a fast clip.
    fn fast_command(
        &self,
        kind: JobKind,
        content: &str,
        styles: &[String],
        mask: Option<&str>,
    ) -> String {
        let mut args: Vec<String> = match kind {
            JobKind::Image if self.sheet => ["stylize", "fast", "--sheet", "--content"]
                .map(String::from)
                .to_vec(),
            JobKind::Image => vec!["stylize".into(), "fast".into(), "--content".into()],
            JobKind::Video => ["stylize", "video", "--method", "fast", "--input"]
                .map(String::from)
                .to_vec(),
        };
        args.push(file_arg(content));
        match &self.network_style {
            Some(mix) => args.extend(["--builtin".into(), shell_quote(mix)]),
            None => {
                for s in styles {
                    args.extend(["--style".into(), file_arg(s)]);
                }
                if let Some(b) = &self.style_blend {
                    args.extend(["--style-blend".into(), shell_quote(&blend_list(b))]);
                }
            }
        }
        args.extend(["--output".into(), output_name(kind, content, styles, mask)]);
        if let Some(mask) = mask {
            args.extend(["--mask".into(), file_arg(mask)]);
        }
        args.extend(["--size".into(), self.size.to_string()]);
        if self.fast_strength != 1.0 {
            args.extend(["--strength".into(), self.fast_strength.to_string()]);
        }
        if self.preserve_colors != Colors::None {
            args.push("--preserve-colors".into());
            if kind == JobKind::Video {
                args.push("luminance".into());
            }
        }
        args.join(" ")
    }
}

/// The styles a sheet of `paintings` paintings shows: one each, or the
/// network's built-in ones without any.
pub(crate) fn sheet_tiles(paintings: usize) -> usize {
    if paintings == 0 {
        stylize_feedforward::BUILTIN_STYLES
    } else {
        paintings
    }
}

/// Blend weights as `--style-blend` takes them: `0.7,0.3`.
fn blend_list(weights: &[f32]) -> String {
    weights
        .iter()
        .map(f32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The output a job's command names: `result.png` (`result.gif` for a
/// clip), or `result-2.png`, ... where an uploaded file has that name (in
/// any letter case): the command would refuse to write over its input.
fn output_name(kind: JobKind, content: &str, styles: &[String], mask: Option<&str>) -> String {
    let ext = match kind {
        JobKind::Image => "png",
        JobKind::Video => "gif",
    };
    let taken = |name: &str| {
        std::iter::once(content)
            .chain(styles.iter().map(String::as_str))
            .chain(mask)
            .any(|t| t.eq_ignore_ascii_case(name))
    };
    (1..)
        .map(|k| match k {
            1 => format!("result.{ext}"),
            k => format!("result-{k}.{ext}"),
        })
        .find(|name| !taken(name))
        .unwrap_or_default()
}

/// A file name as one word for a POSIX shell that the command line takes
/// as a file: `-x.png` as `./-x.png`, not a flag.
fn file_arg(name: &str) -> String {
    if name.starts_with('-') {
        shell_quote(&format!("./{name}"))
    } else {
        shell_quote(name)
    }
}

/// `s` as one word for the shell the command is pasted into: a POSIX
/// shell's, or on Windows cmd.exe's and PowerShell's.
pub(crate) fn shell_quote(s: &str) -> String {
    if cfg!(windows) {
        windows_quote(s)
    } else {
        posix_quote(s)
    }
}

/// `s` as one word for a POSIX shell.
fn posix_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+,:@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `s` as one word for cmd.exe and PowerShell: in double quotes, unless
/// it needs none (a `,` does: PowerShell makes a list of `0.7,0.3`). A
/// `"`, which no Windows file name holds, is doubled. Inside the quotes
/// cmd.exe still expands `%NAME%` and PowerShell `$name` and backticks: a
/// file name with those may need editing before the line runs.
fn windows_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+:\\".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// The longest `network_style` taken, in characters.
const MAX_NETWORK_STYLE: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_a_posix_shell_and_for_windows_shells() {
        assert_eq!(posix_quote("w.h5"), "w.h5");
        assert_eq!(posix_quote("my photo.jpg"), "'my photo.jpg'");
        assert_eq!(posix_quote("it's.jpg"), r"'it'\''s.jpg'");
        assert_eq!(windows_quote(r"C:\w\w.h5"), r"C:\w\w.h5");
        assert_eq!(
            windows_quote(r"C:\My Pictures\it's.jpg"),
            r#""C:\My Pictures\it's.jpg""#
        );
        assert_eq!(windows_quote(""), r#""""#);
        assert_eq!(windows_quote("0.7,0.3"), r#""0.7,0.3""#);
        assert_eq!(posix_quote("0.7,0.3"), "0.7,0.3");
    }

    #[test]
    fn a_network_style_past_its_length_is_refused_without_being_echoed() {
        let all: Vec<String> = (0..26).map(|i| format!("{i}:0.0384615")).collect();
        let mix = all.join(", ");
        let ok = format!(r#"{{"method":"fast","network_style":"{mix}"}}"#);
        let patch: SettingsPatch = serde_json::from_str(&ok).expect("valid JSON");
        assert!(Settings::resolve(&patch).is_ok(), "all 26 styles: {mix}");
        let long = "7:".repeat(100_000);
        let text = format!(r#"{{"method":"fast","network_style":"{long}"}}"#);
        let patch: SettingsPatch = serde_json::from_str(&text).expect("valid JSON");
        let err = Settings::resolve(&patch).expect_err("200,000 characters");
        assert!(
            err.contains("at most 1000 characters") && err.contains("200000"),
            "{err}"
        );
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn defaults_round_trip_to_the_preset() {
        for p in [PresetName::Seed, PresetName::Gatys] {
            let s = Settings::defaults(p);
            let c = s.to_config(None).expect("preset settings are valid");
            let mut want = StyleConfig::preset(p.preset());
            // The presets use fixed scales already; only this is ours.
            want.scales = Scales::Fixed(s.scales);
            assert_eq!(c, want, "{p:?}");
        }
    }

    #[test]
    fn patch_overrides_and_strength_scales_beta() {
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"preset":"gatys","size":96,"strength":1,"seed":7}"#)
                .expect("valid JSON");
        let s = Settings::resolve(&patch).expect("valid settings");
        assert_eq!((s.size, s.seed, s.optimizer), (96, 7, OptimizerName::Lbfgs));
        let c = s.to_config(None).expect("valid");
        let base = StyleConfig::gatys();
        assert!((c.beta - base.beta * 10.0).abs() < 1e-4);
        assert_eq!(c.alpha, base.alpha);
        let cmd = s.command(
            JobKind::Image,
            "my photo.jpg",
            &["starry_night.jpg".into()],
            None,
        );
        assert_eq!(
            cmd,
            "stylize image --content 'my photo.jpg' --style starry_night.jpg --output result.png \
             --preset gatys --size 96 --iterations 300 --beta 10 --seed 7"
        );
        // An upload named as the output is not written over (before: the
        // command refused to run).
        let cmd = s.command(JobKind::Image, "result.png", &["Result-2.PNG".into()], None);
        assert!(cmd.contains(" --output result-3.png "), "{cmd}");
        let cmd = s.fast_command(JobKind::Video, "result.gif", &[], None);
        assert!(cmd.contains(" --output result-2.gif "), "{cmd}");
        let cmd = s.command(JobKind::Image, "p.jpg", &["s.jpg".into()], Some("-m.png"));
        assert!(
            cmd.starts_with(
                "stylize image --content p.jpg --style s.jpg --output result.png --mask ./-m.png \
                 --preset gatys"
            ),
            "{cmd}"
        );
        let cmd = s.command(JobKind::Video, "walk.gif", &["udnie.jpg".into()], None);
        assert!(
            cmd.starts_with("stylize video --input walk.gif --style udnie.jpg --output result.gif")
        );
    }

    #[test]
    fn a_fast_job_is_the_stylize_fast_command() {
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"method":"fast","size":200,"preserve_colors":"none"}"#)
                .expect("valid JSON");
        let mut s = Settings::resolve(&patch).expect("valid settings");
        assert!(s.needs_fast());
        assert_eq!(
            s.command(
                JobKind::Image,
                "my photo.jpg",
                &["a.jpg".into(), "b.jpg".into()],
                None
            ),
            "stylize fast --content 'my photo.jpg' --style a.jpg --style b.jpg \
             --output result.png --size 200"
        );
        // A paint mask is named as uploaded, after the output.
        assert_eq!(
            s.command(
                JobKind::Image,
                "c.jpg",
                &["s.jpg".into()],
                Some("sky mask.png")
            ),
            "stylize fast --content c.jpg --style s.jpg --output result.png \
             --mask 'sky mask.png' --size 200"
        );
        s.fast_strength = 0.5;
        assert!(s
            .command(JobKind::Image, "c.jpg", &["s.jpg".into()], None)
            .ends_with("--size 200 --strength 0.5"));
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"init":"fast","preset":"gatys"}"#).expect("valid JSON");
        let s = Settings::resolve(&patch).expect("valid settings");
        assert!(s.needs_fast());
        assert!(s
            .command(JobKind::Image, "c.jpg", &["s.jpg".into()], None)
            .ends_with("--init fast"));
        assert!(!Settings::defaults(PresetName::Seed).needs_fast());
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"method":"fast","size":64,"preserve_colors":"luminance"}"#)
                .expect("valid JSON");
        let s = Settings::resolve(&patch).expect("valid settings");
        assert_eq!(
            s.command(JobKind::Video, "walk.gif", &["udnie.jpg".into()], None),
            "stylize video --method fast --input walk.gif --style udnie.jpg --output result.gif \
             --size 64 --preserve-colors luminance"
        );
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"method":"fast","preserve_colors":"histogram"}"#)
                .expect("valid JSON");
        let err = Settings::resolve(&patch).expect_err("histogram is the optimiser's");
        assert!(err.contains("luminance"), "{err}");
    }

    #[test]
    fn file_names_that_look_like_flags_stay_files() {
        let fast: SettingsPatch =
            serde_json::from_str(r#"{"method":"fast","size":64,"preserve_colors":"none"}"#)
                .expect("valid JSON");
        let fast = Settings::resolve(&fast).expect("valid settings");
        let optimise = Settings::defaults(PresetName::Seed);
        for s in [&fast, &optimise] {
            for kind in [JobKind::Image, JobKind::Video] {
                let c = s.command(kind, "-x.png", &["--help".into(), "-'s.jpg".into()], None);
                assert!(c.contains(" ./-x.png "), "{c}");
                assert!(c.contains("--style ./--help"), "{c}");
                assert!(c.contains(r"--style './-'\''s.jpg'"), "{c}");
                assert!(!c.contains(" -x.png"), "{c}");
            }
        }
    }

    #[test]
    fn style_blend_reaches_the_config_and_both_commands() {
        let s = Settings::resolve(
            &serde_json::from_str(r#"{"size":96,"style_blend":[0.7,0.3]}"#).expect("JSON"),
        )
        .expect("valid");
        let c = s.to_config(None).expect("valid");
        assert_eq!(c.style_blend, Some(vec![0.7, 0.3]));
        let styles = ["a.jpg".to_string(), "b.jpg".to_string()];
        let cmd = s.command(JobKind::Image, "p.jpg", &styles, None);
        assert!(cmd.ends_with("--style-blend 0.7,0.3"), "{cmd}");
        let fast = Settings::resolve(
            &serde_json::from_str(r#"{"method":"fast","size":96,"style_blend":[0.7,0.3]}"#)
                .expect("JSON"),
        )
        .expect("valid");
        assert_eq!(
            fast.command(JobKind::Video, "walk.gif", &styles, None),
            "stylize video --method fast --input walk.gif --style a.jpg --style b.jpg \
             --style-blend 0.7,0.3 --output result.gif --size 96"
        );
        // An empty list is equal parts, and no flag.
        let equal =
            Settings::resolve(&serde_json::from_str(r#"{"style_blend":[]}"#).expect("JSON"))
                .expect("valid");
        assert_eq!(equal.style_blend, None);
        assert!(!equal
            .command(JobKind::Image, "p.jpg", &styles, None)
            .contains("blend"));
        // Values are checked with the rest of the settings.
        let bad =
            Settings::resolve(&serde_json::from_str(r#"{"style_blend":[1,-1]}"#).expect("JSON"))
                .expect("resolves");
        assert!(bad
            .to_config(None)
            .is_err_and(|e| e.contains("style_blend")));
    }

    /// The files a server was started with are named where the job uses
    /// them: the weights for the optimiser, the models for the network;
    /// the painting threads where they change the result (the optimiser).
    #[test]
    fn the_servers_threads_and_files_are_named_where_the_job_uses_them() {
        let of = |json: &str| {
            Settings::resolve(&serde_json::from_str(json).expect("JSON"))
                .expect("valid")
                .server_flags(
                    3,
                    Some(std::path::Path::new("/w/my weights.h5")),
                    Some(std::path::Path::new("/m")),
                )
        };
        assert_eq!(of(r#"{}"#), " --threads 3 --weights '/w/my weights.h5'");
        assert_eq!(
            of(r#"{"init":"fast"}"#),
            " --threads 3 --weights '/w/my weights.h5' --models /m"
        );
        assert_eq!(of(r#"{"method":"fast"}"#), " --models /m");
        let none = Settings::resolve(&serde_json::from_str("{}").expect("JSON"))
            .expect("valid")
            .server_flags(1, None, None);
        assert_eq!(none, " --threads 1");
    }

    #[test]
    fn a_network_style_is_the_builtin_flag_and_needs_the_fast_method() {
        let patch: SettingsPatch = serde_json::from_str(
            r#"{"method":"fast","size":128,"network_style":" 3:0.5,12:0.5 "}"#,
        )
        .expect("valid JSON");
        let s = Settings::resolve(&patch).expect("valid settings");
        let mix = s.network_mix().expect("parses").expect("set");
        assert_eq!((mix.weights()[3], mix.weights()[12]), (0.5, 0.5));
        assert_eq!(
            s.command(JobKind::Image, "c.jpg", &[], None),
            "stylize fast --content c.jpg --builtin 3:0.5,12:0.5 --output result.png --size 128"
        );
        assert_eq!(
            s.command(JobKind::Video, "walk.gif", &[], None),
            "stylize video --method fast --input walk.gif --builtin 3:0.5,12:0.5 \
             --output result.gif --size 128"
        );
        for (json, want) in [
            (r#"{"network_style":"3"}"#, "set method \"fast\""),
            (r#"{"method":"fast","network_style":"26"}"#, "0 to 25"),
            (
                r#"{"method":"fast","network_style":"3:-1"}"#,
                "network_style",
            ),
            (r#"{"method":"fast","network_style":"3:0"}"#, "positive"),
        ] {
            let patch: SettingsPatch = serde_json::from_str(json).expect("valid JSON");
            let err = Settings::resolve(&patch).expect_err(json);
            assert!(err.contains(want), "{json}: {err}");
        }
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        for (json, name) in [
            (r#"{"size":1}"#, "size"),
            (r#"{"iterations":0}"#, "iterations"),
            (r#"{"strength":9}"#, "strength"),
            (r#"{"fast_strength":1.5}"#, "fast_strength"),
            (r#"{"scales":50}"#, "scales"),
            (r#"{"learning_rate":-1}"#, "learning_rate"),
        ] {
            let patch: SettingsPatch = serde_json::from_str(json).expect("valid JSON");
            let err = Settings::resolve(&patch).expect_err(json);
            assert!(err.contains(name), "{json}: {err}");
        }
        // A number past f32's range is said as such, not as "inf".
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"learning_rate":1e308}"#).expect("valid JSON");
        let err = Settings::resolve(&patch).expect_err("1e308");
        assert!(
            err.contains("learning_rate") && err.contains("too large"),
            "{err}"
        );
        assert!(serde_json::from_str::<SettingsPatch>(r#"{"sise":64}"#).is_err());
        assert!(serde_json::from_str::<SettingsPatch>(r#"{"method":"slow"}"#).is_err());
        assert!(serde_json::from_str::<SettingsPatch>(r#"{"optimizer":"sgd"}"#).is_err());
    }
}
