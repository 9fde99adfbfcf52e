//! The figures a learner wants: the spectrum, a rank gallery and rank-one components.
//!
//! Drawing uses plotters with a font the repository ships (DejaVu Sans, see
//! `assets/fonts/LICENSE-DejaVu.txt`), so no system font library is needed.

use std::sync::Once;

use anyhow::{anyhow, Result};
use image::{imageops, DynamicImage, Rgb, RgbImage};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Registers the shipped font with plotters once.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

fn plot_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("cannot draw the figure: {e:?}")
}

/// One line of the spectrum plot.
pub struct Series<'a> {
    pub name: &'a str,
    pub values: Vec<f64>,
}

fn series_color(name: &str) -> RGBColor {
    match name {
        "r" => RGBColor(214, 39, 40),
        "g" => RGBColor(44, 160, 44),
        "b" => RGBColor(31, 119, 180),
        _ => RGBColor(40, 40, 40),
    }
}

const ENERGY_LEVELS: [f64; 3] = [0.9, 0.99, 0.999];
const SPECTRUM_SIZE: (u32, u32) = (960, 820);

/// The spectrum as SVG: singular values on a log scale, and the cumulative energy with
/// markers where each plane reaches 90%, 99% and 99.9%.
pub fn spectrum_svg(series: &[Series]) -> Result<String> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SPECTRUM_SIZE).into_drawing_area();
        draw_spectrum(&root, series)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// The spectrum as a PNG-ready image.
pub fn spectrum_image(series: &[Series]) -> Result<DynamicImage> {
    register_font();
    let (w, h) = SPECTRUM_SIZE;
    let mut canvas = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    {
        let root = BitMapBackend::with_buffer(&mut canvas, (w, h)).into_drawing_area();
        draw_spectrum(&root, series)?;
        root.present().map_err(plot_error)?;
    }
    Ok(DynamicImage::ImageRgb8(canvas))
}

fn draw_spectrum<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[Series],
) -> Result<()> {
    root.fill(&WHITE).map_err(plot_error)?;
    let (top, bottom) = root.split_vertically(SPECTRUM_SIZE.1 / 2);
    let r = series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let positive = |v: &f64| *v > 0.0;
    let hi = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-300);
    let lo = series
        .iter()
        .flat_map(|s| s.values.iter().copied().filter(positive))
        .fold(hi, f64::min)
        .max(hi * 1e-8);
    let mut chart = ChartBuilder::on(&top)
        .caption("Singular values σᵢ (log scale)", (FAMILY, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(1f64..r as f64, (lo * 0.8..hi * 1.25).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("index i")
        .y_desc("σᵢ")
        .label_style((FAMILY, 14))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(plot_error)?;
    for s in series {
        let color = series_color(s.name);
        chart
            .draw_series(LineSeries::new(
                s.values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v >= lo)
                    .map(|(i, &v)| ((i + 1) as f64, v)),
                color.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label(s.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    chart
        .configure_series_labels()
        .label_font((FAMILY, 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;

    let first = series
        .iter()
        .map(|s| cumulative(&s.values).first().copied().unwrap_or(0.0))
        .fold(1.0f64, f64::min);
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            "Energy kept by the first k components (90%, 99%, 99.9% marked)",
            (FAMILY, 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((1f64..r as f64).log_scale(), (first - 0.02).max(0.0)..1.005)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("rank k (log scale)")
        .y_desc("energy kept")
        .label_style((FAMILY, 14))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .draw()
        .map_err(plot_error)?;
    for level in ENERGY_LEVELS {
        chart
            .draw_series(LineSeries::new(
                [(1.0, level), (r as f64, level)],
                RGBColor(150, 150, 150).stroke_width(1),
            ))
            .map_err(plot_error)?;
    }
    for s in series {
        let color = series_color(s.name);
        let cum = cumulative(&s.values);
        chart
            .draw_series(LineSeries::new(
                cum.iter().enumerate().map(|(i, &c)| ((i + 1) as f64, c)),
                color.stroke_width(2),
            ))
            .map_err(plot_error)?;
        let marks = ENERGY_LEVELS.iter().map(|&level| {
            let k = svdimg::energy_rank(&s.values, level).max(1);
            ((k as f64), cum.get(k - 1).copied().unwrap_or(1.0))
        });
        chart
            .draw_series(marks.map(|p| Circle::new(p, 5, color.filled())))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// Cumulative energy fractions after each component.
fn cumulative(s: &[f64]) -> Vec<f64> {
    let total: f64 = s.iter().map(|x| x * x).sum();
    let mut acc = 0.0;
    s.iter()
        .map(|x| {
            acc += x * x;
            if total > 0.0 {
                acc / total
            } else {
                1.0
            }
        })
        .collect()
}

/// Scales an image so that it fits in `max`×`max`, keeping its aspect ratio; never enlarges
/// by more than 4× (tiny images stay crisp with nearest-neighbour).
fn fit(image: &DynamicImage, max: u32) -> RgbImage {
    let (w, h) = (image.width(), image.height());
    let scale = (max as f64 / w.max(h) as f64).min(4.0);
    let (tw, th) = (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    );
    let filter = if scale >= 1.0 {
        imageops::FilterType::Nearest
    } else {
        imageops::FilterType::Triangle
    };
    imageops::resize(&image.to_rgb8(), tw, th, filter)
}

const TILE: u32 = 300;
const LABEL: u32 = 34;
const GAP: u32 = 12;

/// One labelled tile of the gallery.
pub struct Tile {
    pub image: DynamicImage,
    pub label: String,
}

/// A grid of labelled tiles, `columns` wide, each labelled above its picture.
pub fn gallery(tiles: &[Tile], columns: usize) -> Result<DynamicImage> {
    register_font();
    let columns = columns.clamp(1, tiles.len().max(1));
    let rows = tiles.len().div_ceil(columns);
    let fitted: Vec<RgbImage> = tiles.iter().map(|t| fit(&t.image, TILE)).collect();
    let cell_w = fitted.iter().map(|t| t.width()).max().unwrap_or(1).max(160);
    let cell_h = fitted.iter().map(|t| t.height()).max().unwrap_or(1) + LABEL;
    let w = columns as u32 * (cell_w + GAP) + GAP;
    let h = rows as u32 * (cell_h + GAP) + GAP;
    let mut canvas = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    let origin = |i: usize| {
        let (col, row) = ((i % columns) as u32, (i / columns) as u32);
        (GAP + col * (cell_w + GAP), GAP + row * (cell_h + GAP))
    };
    for (i, tile) in fitted.iter().enumerate() {
        let (x, y) = origin(i);
        let dx = (cell_w - tile.width()) / 2;
        imageops::replace(&mut canvas, tile, i64::from(x + dx), i64::from(y + LABEL));
    }
    {
        let root = BitMapBackend::with_buffer(&mut canvas, (w, h)).into_drawing_area();
        let style = TextStyle::from((FAMILY, 20).into_font()).color(&BLACK);
        for (i, tile) in tiles.iter().enumerate() {
            let (x, y) = origin(i);
            root.draw_text(&tile.label, &style, (x as i32 + 4, y as i32 + 6))
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(DynamicImage::ImageRgb8(canvas))
}

pub use svdimg::diverging;

/// One rank-one component σᵢ uᵢ vᵢᵀ with its row vᵢ.
pub struct Component {
    /// 1-based index i.
    pub index: usize,
    pub sigma: f64,
    /// Row-major height×width values of σᵢ uᵢ vᵢᵀ.
    pub values: Vec<f64>,
    pub width: usize,
    pub height: usize,
    /// The row vᵢ of Vᵀ (length width).
    pub v: Vec<f64>,
}

const PLOT_H: u32 = 170;

/// Each component as a diverging heat map centred at zero, above a plot of its own row vᵢ.
pub fn components(items: &[Component]) -> Result<DynamicImage> {
    register_font();
    let maps: Vec<RgbImage> = items
        .iter()
        .map(|c| {
            let peak = c
                .values
                .iter()
                .fold(0.0f64, |m, x| m.max(x.abs()))
                .max(1e-300);
            let img = RgbImage::from_fn(c.width as u32, c.height as u32, |x, y| {
                diverging(c.values[y as usize * c.width + x as usize] / peak)
            });
            fit(&DynamicImage::ImageRgb8(img), TILE)
        })
        .collect();
    let cell_w = maps.iter().map(|m| m.width()).max().unwrap_or(1).max(220);
    let map_h = maps.iter().map(|m| m.height()).max().unwrap_or(1);
    let w = items.len().max(1) as u32 * (cell_w + GAP) + GAP;
    let h = GAP + LABEL + map_h + GAP + PLOT_H + GAP;
    let mut canvas = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    for (i, map) in maps.iter().enumerate() {
        let x = GAP + i as u32 * (cell_w + GAP) + (cell_w - map.width()) / 2;
        imageops::replace(&mut canvas, map, i64::from(x), i64::from(GAP + LABEL));
    }
    {
        let root = BitMapBackend::with_buffer(&mut canvas, (w, h)).into_drawing_area();
        let style = TextStyle::from((FAMILY, 18).into_font()).color(&BLACK);
        for (i, c) in items.iter().enumerate() {
            let x0 = (GAP + i as u32 * (cell_w + GAP)) as i32;
            let label = format!("σ{0}u{0}v{0}ᵀ, σ{0} = {1:.3}", subscript(c.index), c.sigma);
            root.draw_text(&label, &style, (x0 + 2, GAP as i32 + 6))
                .map_err(plot_error)?;
            let top = (GAP + LABEL + map_h + GAP) as i32;
            let area = root.clone().shrink((x0, top), (cell_w, PLOT_H));
            let peak = c.v.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-12);
            let mut chart = ChartBuilder::on(&area)
                .caption(format!("row v{} of Vᵀ", subscript(c.index)), (FAMILY, 15))
                .x_label_area_size(22)
                .y_label_area_size(44)
                .build_cartesian_2d(0f64..(c.v.len().max(2) - 1) as f64, -peak * 1.1..peak * 1.1)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_labels(4)
                .y_labels(5)
                .label_style((FAMILY, 11))
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.2}"))
                .draw()
                .map_err(plot_error)?;
            chart
                .draw_series(LineSeries::new(
                    c.v.iter().enumerate().map(|(j, &y)| (j as f64, y)),
                    RGBColor(31, 119, 180).stroke_width(1),
                ))
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(DynamicImage::ImageRgb8(canvas))
}

/// `12` as `₁₂`.
pub fn subscript(i: usize) -> String {
    i.to_string()
        .chars()
        .map(|c| char::from_u32(0x2080 + c.to_digit(10).unwrap_or(0)).unwrap_or(c))
        .collect()
}

const RD_SIZE: (u32, u32) = (960, 620);

fn curve_color(name: &str) -> RGBColor {
    match name {
        "svdz-v2" => RGBColor(148, 103, 189),
        "svdz-ycbcr" | "svdz-gray" => RGBColor(214, 39, 40),
        "svdz-rgb" => RGBColor(255, 127, 14),
        "jpeg" => RGBColor(31, 119, 180),
        "jpeg-strong" => RGBColor(44, 160, 44),
        "webp" => RGBColor(23, 190, 207),
        _ => RGBColor(110, 110, 110),
    }
}

/// The rate–distortion plot as SVG: PSNR against bits per pixel, one line per curve.
pub fn rd_svg(curves: &[svdimg::RdCurve], pixels: f64) -> Result<String> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, RD_SIZE).into_drawing_area();
        draw_rd(&root, curves, pixels)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// The rate–distortion plot as a PNG-ready image.
pub fn rd_image(curves: &[svdimg::RdCurve], pixels: f64) -> Result<DynamicImage> {
    register_font();
    let (w, h) = RD_SIZE;
    let mut canvas = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    {
        let root = BitMapBackend::with_buffer(&mut canvas, (w, h)).into_drawing_area();
        draw_rd(&root, curves, pixels)?;
        root.present().map_err(plot_error)?;
    }
    Ok(DynamicImage::ImageRgb8(canvas))
}

fn draw_rd<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curves: &[svdimg::RdCurve],
    pixels: f64,
) -> Result<()> {
    root.fill(&WHITE).map_err(plot_error)?;
    let bpp = |bytes: u64| 8.0 * bytes as f64 / pixels;
    // The interesting range: up to 50 dB, and the bit rates that reach it.
    let points = || {
        curves
            .iter()
            .flat_map(|c| c.points.iter())
            .filter(|p| p.psnr_db <= 50.0)
    };
    let x_max = points().map(|p| bpp(p.bytes)).fold(0.5, f64::max).min(16.0);
    let y_min = points().map(|p| p.psnr_db).fold(50.0, f64::min).max(15.0);
    let mut chart = ChartBuilder::on(root)
        .caption("Rate–distortion: PSNR against bits per pixel", (FAMILY, 22))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max * 1.02, (y_min.floor() - 1.0)..50.0)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("bits per pixel (file bytes × 8 / pixels)")
        .y_desc("PSNR of the decoded image (dB)")
        .label_style((FAMILY, 14))
        .draw()
        .map_err(plot_error)?;
    for c in curves {
        let color = curve_color(c.name);
        let line: Vec<(f64, f64)> = c
            .points
            .iter()
            .map(|p| (bpp(p.bytes), p.psnr_db))
            .filter(|&(x, y)| x <= x_max * 1.02 && y <= 50.0)
            .collect();
        chart
            .draw_series(LineSeries::new(line.iter().copied(), color.stroke_width(2)))
            .map_err(plot_error)?
            .label(c.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        chart
            .draw_series(line.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(plot_error)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FAMILY, 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    Ok(())
}
