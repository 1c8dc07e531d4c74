//! Loss history plots for `--plot`: total, content and style cost against
//! iteration on a logarithmic cost axis, drawn with `plotters` into an RGB
//! buffer and encoded as PNG with `image`.
//!
//! Text goes through `plotters`' pure-Rust `ab_glyph` renderer, with DejaVu
//! Sans embedded in the binary (see `assets/DejaVuSans-LICENSE.txt`), so
//! nothing depends on the fonts or font libraries of the machine.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// Width of the image [`write_plot`] draws, in pixels.
pub const WIDTH: u32 = 900;
/// Height of the image [`write_plot`] draws, in pixels.
pub const HEIGHT: u32 = 560;

/// The embedded font, registered with `plotters` under [`FONT_FAMILY`].
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FONT_FAMILY: &str = "sans-serif";
const LEGEND_FONT_PX: u32 = 15;

/// Okabe-Ito colours: distinct for colour-blind readers, and used nowhere
/// else in the image (text is black, the grid grey).
const TOTAL_COLOUR: RGBColor = RGBColor(0, 114, 178);
const CONTENT_COLOUR: RGBColor = RGBColor(0, 158, 115);
const STYLE_COLOUR: RGBColor = RGBColor(213, 94, 0);

/// One row of the loss history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// 1-based iteration number.
    pub iteration: usize,
    /// Weighted content cost.
    pub content: f64,
    /// Weighted style cost.
    pub style: f64,
    /// The total cost: `content + style` plus the total-variation term
    /// (and any other term) when there is one, so it can be above the
    /// sum of the two curves drawn beside it.
    pub total: f64,
}

/// Why a plot could not be written. Every variant names the plot's path.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// No history to draw.
    #[error("cannot plot {}: the loss history is empty", path.display())]
    Empty {
        /// The plot that was asked for.
        path: PathBuf,
    },
    /// Every cost is zero, negative or not finite: nothing fits a log axis.
    #[error(
        "cannot plot {}: no cost is positive and finite, so none fits a logarithmic axis",
        path.display()
    )]
    NothingToDraw {
        /// The plot that was asked for.
        path: PathBuf,
    },
    /// `plotters` failed while drawing (this includes a font it rejects).
    #[error("cannot draw plot {}: {reason}", path.display())]
    Draw {
        /// The plot that was asked for.
        path: PathBuf,
        /// What `plotters` reported.
        reason: String,
    },
    /// PNG encoding failed.
    #[error("cannot encode plot {}: {error}", path.display())]
    Encode {
        /// The plot that was asked for.
        path: PathBuf,
        /// The encoder's error (said in the message).
        error: image::ImageError,
    },
    /// Creating, writing or renaming the file failed (or the temporary file
    /// beside it, in a directory that does not exist, say).
    #[error("cannot write plot {}: {error}", path.display())]
    Io {
        /// The plot that was asked for.
        path: PathBuf,
        /// The operating system's error (said in the message).
        error: std::io::Error,
    },
}

/// Draws the history to `path` as a [`WIDTH`]x[`HEIGHT`] PNG: total,
/// content and style cost against iteration, cost on a log axis.
///
/// Values that are zero, negative or not finite cannot go on a log axis and
/// are skipped (a series is broken where one is skipped); a series with no
/// drawable value at all (content cost with alpha 0, say) is listed in the
/// legend as not drawn. Costs of 0 throughout give empty axes, so listed. The PNG is written to a temporary file beside `path`
/// and renamed into place, so an error leaves no partial file.
///
/// # Errors
/// [`PlotError::Empty`] for an empty history, [`PlotError::NothingToDraw`]
/// if no value is positive and finite (and not all are 0), [`PlotError::Io`] if the file cannot
/// be written (a missing directory, say); each names `path`.
pub fn write_plot(path: &Path, points: &[Point], title: &str) -> Result<(), PlotError> {
    write_plot_sized(path, points, title, (WIDTH, HEIGHT))
}

/// [`write_plot`] at a chosen size, `(width, height)` in pixels.
pub fn write_plot_sized(
    path: &Path,
    points: &[Point],
    title: &str,
    (width, height): (u32, u32),
) -> Result<(), PlotError> {
    let rgb = render(path, points, title, (width, height))?;

    let io = |error| PlotError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut out = stylize::OutputFile::create(path, ".stylize-plot-").map_err(io)?;
    {
        let mut w = std::io::BufWriter::new(out.file());
        PngEncoder::new(&mut w)
            .write_image(&rgb, width, height, ExtendedColorType::Rgb8)
            .map_err(|error| PlotError::Encode {
                path: path.to_path_buf(),
                error,
            })?;
        w.flush().map_err(io)?;
    }
    out.commit().map_err(io)
}

/// One series to draw: its values, only those a log axis can show, split
/// into runs of consecutive drawable points.
struct Series {
    name: &'static str,
    colour: RGBColor,
    width: u32,
    runs: Vec<Vec<(i64, f64)>>,
    /// Every value is exactly zero (rather than merely none drawable).
    all_zero: bool,
}

impl Series {
    fn new(
        name: &'static str,
        colour: RGBColor,
        width: u32,
        points: &[Point],
        value: impl Fn(&Point) -> f64,
    ) -> Self {
        let mut runs: Vec<Vec<(i64, f64)>> = vec![];
        let mut open = false;
        for p in points {
            let v = value(p);
            if v.is_finite() && v > 0.0 {
                if !open {
                    runs.push(vec![]);
                    open = true;
                }
                if let Some(run) = runs.last_mut() {
                    run.push((iteration(p), v));
                }
            } else {
                open = false;
            }
        }
        Self {
            name,
            colour,
            width,
            runs,
            all_zero: points.iter().all(|p| value(p) == 0.0),
        }
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.runs.iter().flatten().map(|&(_, v)| v)
    }

    fn label(&self) -> String {
        match (self.runs.is_empty(), self.all_zero) {
            (false, _) => self.name.to_owned(),
            (true, true) => format!("{} = 0 (not drawn)", self.name),
            (true, false) => format!("{} (no positive value, not drawn)", self.name),
        }
    }
}

/// Registers the embedded font once per process.
fn register_embedded_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FONT_FAMILY, FontStyle::Normal, FONT)
                .map_err(|_| "the embedded font DejaVuSans.ttf is not a valid font".to_owned())
        })
        .clone()
}

/// Draws the chart into a packed RGB8 buffer of `width * height * 3` bytes.
fn render(
    path: &Path,
    points: &[Point],
    title: &str,
    (width, height): (u32, u32),
) -> Result<Vec<u8>, PlotError> {
    let draw_err = |reason: String| PlotError::Draw {
        path: path.to_path_buf(),
        reason,
    };
    if points.is_empty() {
        return Err(PlotError::Empty {
            path: path.to_path_buf(),
        });
    }
    // Total drawn first and thickest, so that where it coincides with the
    // style (or content) cost it still shows on both sides of that line.
    let series = [
        Series::new("total", TOTAL_COLOUR, 4, points, |p| p.total),
        Series::new("content", CONTENT_COLOUR, 2, points, |p| p.content),
        Series::new("style", STYLE_COLOUR, 2, points, |p| p.style),
    ];
    let (lo, hi) = series
        .iter()
        .flat_map(Series::values)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    // Costs of 0 throughout (a run starting at its optimum: the content
    // alone, without noise) leave the axes empty, the legend saying so
    // (before: no plot, and the run failed).
    let zero = |v: f64| v == 0.0;
    let (lo, hi) = if lo > hi
        && points
            .iter()
            .all(|p| zero(p.total) && zero(p.content) && zero(p.style))
    {
        (1.0, 1.0)
    } else {
        (lo, hi)
    };
    if lo > hi {
        return Err(PlotError::NothingToDraw {
            path: path.to_path_buf(),
        });
    }
    if width < 200 || height < 150 {
        return Err(draw_err(format!(
            "{width}x{height} px is too small (at least 200x150)"
        )));
    }
    register_embedded_font().map_err(draw_err)?;

    let first = points.iter().map(iteration).min().unwrap_or(1);
    let last = points.iter().map(iteration).max().unwrap_or(1);
    let x_range = if first == last {
        // One iteration: put it in the middle.
        first - 1..last + 1
    } else {
        first.min(1)..last
    };
    let x_ticks = if first == last {
        vec![first]
    } else {
        linear_ticks(&x_range, (width / 90).max(3) as usize)
    };
    let y_range = y_range(lo, hi);
    let (y_ticks, y_light) = log_ticks(&y_range);
    let powers = y_ticks.iter().any(|&v| !(1e-2..1e5).contains(&v));

    let mut buf = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT_FAMILY, 24))
            .margin_top(12)
            .margin_bottom(8)
            .margin_left(12)
            .margin_right(28)
            .x_label_area_size(48)
            .y_label_area_size(78)
            .build_cartesian_2d(
                x_range.clone().with_key_points(x_ticks),
                y_range
                    .clone()
                    .log_scale()
                    .with_key_points(y_ticks)
                    .with_light_points(y_light),
            )
            .map_err(|e| draw_err(e.to_string()))?;
        let y_fmt = |v: &f64| format_cost(*v, powers);
        chart
            .configure_mesh()
            .x_desc("iteration")
            .y_desc("cost")
            .y_label_formatter(&y_fmt)
            .label_style((FONT_FAMILY, 16))
            .axis_desc_style((FONT_FAMILY, 17))
            .bold_line_style(RGBColor(200, 200, 200))
            .light_line_style(RGBColor(235, 235, 235))
            .disable_x_mesh()
            .draw()
            .map_err(|e| draw_err(e.to_string()))?;

        for s in &series {
            let style = ShapeStyle::from(s.colour).stroke_width(s.width);
            let mut labelled = false;
            for run in &s.runs {
                let anno = if let [only] = run.as_slice() {
                    // A lone point: a line of one point would be invisible.
                    chart.draw_series(std::iter::once(Circle::new(
                        *only,
                        s.width + 2,
                        s.colour.filled(),
                    )))
                } else {
                    chart.draw_series(LineSeries::new(run.iter().copied(), style))
                }
                .map_err(|e| draw_err(e.to_string()))?;
                if !labelled {
                    labelled = true;
                    let colour = s.colour;
                    anno.label(s.label()).legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(3))
                    });
                }
            }
            if !labelled {
                // Not drawn at all: still listed, with no line sample.
                chart
                    .draw_series(std::iter::empty::<Circle<(i64, f64), u32>>())
                    .map_err(|e| draw_err(e.to_string()))?
                    .label(s.label())
                    .legend(|(x, y)| Circle::new((x, y), 0, TRANSPARENT));
            }
        }
        // The legend's size as plotters lays it out: the labels, the
        // sample lines' area and a margin around both, 5 px from the edges.
        let label_font: TextStyle = (FONT_FAMILY, LEGEND_FONT_PX).into_font().into();
        let mut labels = MultiLineText::<_, String>::new((0, 0), &label_font);
        for s in &series {
            labels.push_line(s.label());
        }
        let (text_w, text_h) = labels
            .estimate_dimension()
            .map_err(|e| draw_err(e.to_string()))?;
        let (plot_w, plot_h) = chart.plotting_area().dim_in_pixel();
        let legend = (
            f64::from(text_w + 30 + 2 * 12 + 5) / f64::from(plot_w.max(1)),
            f64::from(text_h + 2 * 12 + 5) / f64::from(plot_h.max(1)),
        );
        chart
            .configure_series_labels()
            .position(legend_corner(&series, &x_range, &y_range, legend))
            .margin(12)
            .legend_area_size(30)
            .label_font(label_font.clone())
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(|e| draw_err(e.to_string()))?;
        root.present().map_err(|e| draw_err(e.to_string()))?;
    }
    Ok(buf)
}

/// The corner of the plot the lines cross least, for the legend; upper
/// right on a tie (a falling loss leaves it empty).
/// `legend` is its size as a fraction of the plot's, `(width, height)`.
fn legend_corner(
    series: &[Series],
    x: &Range<i64>,
    y: &Range<f64>,
    legend: (f64, f64),
) -> SeriesLabelPosition {
    // Positions as fractions of the plot area, y upwards.
    let fx = |v: f64| (v - x.start as f64) / (x.end - x.start) as f64;
    let fy = |v: f64| (v.ln() - y.start.ln()) / (y.end.ln() - y.start.ln());
    // A little extra for the lines' width.
    let (w, h) = (legend.0 + 0.01, legend.1 + 0.01);
    let corners = [
        (SeriesLabelPosition::UpperRight, 1.0 - w..1.0, 1.0 - h..1.0),
        (SeriesLabelPosition::UpperLeft, 0.0..w, 1.0 - h..1.0),
        (SeriesLabelPosition::LowerRight, 1.0 - w..1.0, 0.0..h),
        (SeriesLabelPosition::LowerLeft, 0.0..w, 0.0..h),
    ];
    let mut hits = [0usize; 4];
    for run in series.iter().flat_map(|s| &s.runs) {
        // Sample along each segment, not only at the points.
        let samples = run.windows(2).flat_map(|seg| {
            (0..8).map(move |i| {
                let t = f64::from(i) / 8.0;
                let (a, b) = (seg[0], seg[1]);
                (
                    a.0 as f64 + (b.0 - a.0) as f64 * t,
                    (a.1.ln() + (b.1.ln() - a.1.ln()) * t).exp(),
                )
            })
        });
        for (px, py) in run.iter().map(|&(x, y)| (x as f64, y)).chain(samples) {
            let (px, py) = (fx(px), fy(py));
            for (hit, (_, cx, cy)) in hits.iter_mut().zip(&corners) {
                if cx.contains(&px) && cy.contains(&py) {
                    *hit += 1;
                }
            }
        }
    }
    let best = (0..corners.len()).min_by_key(|&i| hits[i]).unwrap_or(0);
    corners
        .into_iter()
        .nth(best)
        .map_or(SeriesLabelPosition::UpperRight, |(pos, _, _)| pos)
}

/// The iteration as an x coordinate.
fn iteration(p: &Point) -> i64 {
    i64::try_from(p.iteration).unwrap_or(i64::MAX)
}

/// About `n` round tick values (1, 2 or 5 times a power of ten apart) at
/// or inside the ends of `range`, leaving out 0 (iterations start at 1).
fn linear_ticks(range: &Range<i64>, n: usize) -> Vec<i64> {
    let raw = ((range.end - range.start) as f64 / n.max(1) as f64).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag) as i64;
    let step = step.max(1);
    let start = (range.start.max(1) + step - 1) / step * step;
    (start..=range.end).step_by(step as usize).collect()
}

/// The cost axis: the data's range widened by a margin, and further down to
/// the next tick value if it would hold none (so at least one is labelled).
fn y_range(lo: f64, hi: f64) -> Range<f64> {
    // A constant (or single) value gets a decade around it; otherwise pad
    // by 4% of the span on each side, at least a factor of 1.15.
    let span = (hi / lo).log10();
    let pad = if span < 1e-9 {
        10f64.powf(0.5)
    } else {
        10f64.powf(span * 0.04).max(1.15)
    };
    let (lo, hi) = (lo / pad, hi * pad);
    if log_ticks(&(lo..hi)).0.is_empty() {
        // Down to the multiple of a power of ten below `lo`.
        let mag = 10f64.powf(lo.log10().floor());
        return (lo / mag).floor() * mag..hi;
    }
    lo..hi
}

/// Tick values for a log axis over `range`: `(labelled, grid only)`.
/// Over less than a decade every multiple of a power of ten (200, 300, ...)
/// is labelled; over less than about two, 1x, 2x and 5x; beyond that the
/// powers of ten (every other, or fewer, past ten decades). Light grid
/// lines mark the other multiples while there are few enough decades.
fn log_ticks(range: &Range<f64>) -> (Vec<f64>, Vec<f64>) {
    let (lo, hi) = (range.start, range.end);
    let e_lo = lo.log10().floor() as i32;
    let e_hi = hi.log10().ceil() as i32;
    let decades = (e_hi - e_lo).max(1);
    let step = (decades + 9) / 10;
    let inside = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    let mut bold = vec![];
    let mut light = vec![];
    for e in e_lo..=e_hi {
        let base = 10f64.powi(e);
        for m in 1..=9 {
            let v = f64::from(m) * base;
            if !inside(v) {
                continue;
            }
            let labelled = if hi / lo < 12.0 {
                true
            } else if hi / lo < 150.0 {
                matches!(m, 1 | 2 | 5)
            } else {
                m == 1 && (e - e_lo) % step == 0
            };
            if labelled {
                bold.push(v);
            } else if decades <= 8 {
                light.push(v);
            }
        }
    }
    (bold, light)
}

/// A cost for an axis label: plain (`0.05`, `300`), or as a power of ten
/// (`10⁶`, `2×10⁶`) when `powers`.
fn format_cost(v: f64, powers: bool) -> String {
    if !(v.is_finite() && v > 0.0) {
        return format!("{v}");
    }
    let e = (v.log10() + 1e-9).floor() as i32;
    let m = (v / 10f64.powi(e)).round();
    if !powers {
        let decimals = usize::try_from(-e).unwrap_or(0);
        return format!("{v:.decimals$}");
    }
    let sup: String = e
        .to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect();
    if m == 1.0 {
        format!("10{sup}")
    } else {
        format!("{m}×10{sup}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typical run: both costs fall, style faster, over several decades.
    fn history(n: usize) -> Vec<Point> {
        (1..=n)
            .map(|i| {
                let t = i as f64;
                let content = 5.0e3 * (1.0 - (-t / 40.0).exp()) + 10.0;
                let style = 3.0e7 * (-t / 25.0).exp() + 2.0e3;
                Point {
                    iteration: i,
                    content,
                    style,
                    total: content + style,
                }
            })
            .collect()
    }

    fn count_colour(img: &image::RgbImage, c: RGBColor, x_max: u32) -> usize {
        img.enumerate_pixels()
            .filter(|(x, _, p)| *x < x_max && p.0 == [c.0, c.1, c.2])
            .count()
    }

    #[test]
    fn writes_a_png_of_the_requested_size_with_each_series() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("loss.png");
        write_plot(
            &path,
            &history(300),
            "loss: photo.jpg in the style of art.jpg",
        )
        .expect("plot");
        let img = image::open(&path).expect("decode").to_rgb8();
        assert_eq!(img.dimensions(), (WIDTH, HEIGHT));
        let first = img.get_pixel(0, 0);
        assert!(img.pixels().any(|p| p != first), "single colour");
        // The legend sits upper right; the left half only has the lines.
        for c in [TOTAL_COLOUR, CONTENT_COLOUR, STYLE_COLOUR] {
            assert!(count_colour(&img, c, WIDTH / 2) > 50, "no {c:?} line");
        }
        // Only the plot is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["loss.png"]);
    }

    #[test]
    fn other_sizes_and_a_single_point() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("one.png");
        write_plot_sized(&path, &history(1), "one", (400, 300)).expect("plot");
        let img = image::open(&path).expect("decode").to_rgb8();
        assert_eq!(img.dimensions(), (400, 300));
        assert!(count_colour(&img, TOTAL_COLOUR, 400) > 0);
    }

    #[test]
    fn zero_and_non_finite_values_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("zero.png");
        let mut h = history(100);
        for p in &mut h {
            p.content = 0.0;
        }
        h[50].style = f64::NAN;
        h[51].total = f64::INFINITY;
        write_plot(&path, &h, "alpha 0").expect("plot");
        let img = image::open(&path).expect("decode").to_rgb8();
        assert_eq!(count_colour(&img, CONTENT_COLOUR, WIDTH / 2), 0);
        assert!(count_colour(&img, STYLE_COLOUR, WIDTH / 2) > 50);

        let zeros: Vec<_> = h
            .iter()
            .map(|p| Point {
                content: 0.0,
                style: -1.0,
                total: f64::NAN,
                ..*p
            })
            .collect();
        let err = write_plot(&path, &zeros, "t").expect_err("nothing to draw");
        assert!(matches!(err, PlotError::NothingToDraw { .. }), "{err}");

        // All 0: empty axes, no curve, still a plot.
        let all_zero: Vec<_> = h
            .iter()
            .map(|p| Point {
                content: 0.0,
                style: 0.0,
                total: 0.0,
                ..*p
            })
            .collect();
        let path = dir.path().join("all-zero.png");
        write_plot(&path, &all_zero, "at its optimum").expect("plot of zeros");
        let img = image::open(&path).expect("decode").to_rgb8();
        assert_eq!((img.width(), img.height()), (WIDTH, HEIGHT));
        assert_eq!(count_colour(&img, TOTAL_COLOUR, WIDTH / 2), 0);
    }

    #[test]
    fn empty_history_is_an_error_and_leaves_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("empty.png");
        let err = write_plot(&path, &[], "t").expect_err("empty history");
        assert!(matches!(err, PlotError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("empty.png"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("read_dir").count(), 0);
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("no-such-dir").join("loss.png");
        let err = write_plot(&path, &history(10), "t").expect_err("missing dir");
        assert!(matches!(err, PlotError::Io { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("no-such-dir") && msg.contains("loss.png"),
            "{msg}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn cost_labels() {
        assert_eq!(format_cost(1.0, false), "1");
        assert_eq!(format_cost(0.05, false), "0.05");
        assert_eq!(format_cost(20_000.0, false), "20000");
        assert_eq!(format_cost(1e6, true), "10⁶");
        assert_eq!(format_cost(100.0, true), "10²");
        assert_eq!(format_cost(2e7, true), "2×10⁷");
        assert_eq!(format_cost(1e-5, true), "10⁻⁵");
    }

    #[test]
    fn log_ticks_always_label_something() {
        for (lo, hi) in [
            (150.0, 250.0),
            (1.0, 1.0),
            (3e-3, 4e9),
            (7.0, 9.0),
            (215.0, 220.0),
        ] {
            let r = y_range(lo, hi);
            assert!(r.start <= lo && r.end >= hi, "{r:?}");
            let (bold, _) = log_ticks(&r);
            assert!(!bold.is_empty(), "{lo}..{hi}: {r:?}");
        }
    }
}
