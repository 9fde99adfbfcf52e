//! `svdimg tour`: both SVD lessons, step by step, on any photo, with an HTML report.

use std::fmt::Write as _;

use anyhow::{anyhow, Result};
use svdimg::{
    approximate, encode, to_image, Lesson, LessonFacts, OutputFormat, Picture, LESSON_COMPONENTS,
};

use crate::cli::{Source, TourArgs};
use crate::explore::{component_items, gallery_tiles, psnr_text, spectra_of, spectrum_series};
use crate::figures;
use crate::io::{io_reason, print_stdout, progress, write_atomic, Input};

/// The ranks of the second lesson's gallery.
const GALLERY_RANKS: [usize; 8] = [1, 2, 3, 4, 5, 10, 20, 50];

fn shape(dims: &[usize]) -> String {
    match dims {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Everything the tour measured, for the terminal and the HTML report.
struct Facts {
    name: String,
    lesson: LessonFacts,
    gallery: Vec<(usize, f64, f64)>,
    energy_ranks: Vec<(String, [usize; 3])>,
}

pub fn run(args: TourArgs) -> Result<()> {
    let source = Source {
        image: args.image.clone(),
        sample: args.image.is_none(),
    };
    let input = Input::read(&source)?;
    let picture = input.decode(&args.decode)?;
    let dir = &args.output;
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!(
            "cannot write the tour into '{}': it is not a directory",
            dir.display()
        );
    }
    let (facts, files) = compute(&input, &picture, args.rank)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow!("cannot create '{}': {}", dir.display(), io_reason(&e)))?;
    let html = report_html(
        &facts,
        &files.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
    );
    for (name, bytes) in files.iter().chain(std::iter::once(&(
        "index.html".to_string(),
        html.into_bytes(),
    ))) {
        write_atomic(&dir.join(name), bytes)?;
    }
    let mut out = steps_text(&facts);
    let mut names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    names.push("index.html");
    writeln!(
        out,
        "\nWrote {} files to {}/: {}",
        names.len(),
        dir.display(),
        names.join(", ")
    )?;
    writeln!(
        out,
        "Open {} in a browser for the illustrated report.",
        dir.join("index.html").display()
    )?;
    print_stdout(&out)
}

type Files = Vec<(String, Vec<u8>)>;

fn compute(input: &Input, picture: &Picture, k: usize) -> Result<(Facts, Files)> {
    let par = faer::Par::rayon(0);
    let png = OutputFormat::from_extension("png")?;
    let fail = |e: svdimg::Error| anyhow!("'{}': {e}", input.name);
    let bar = progress(6, "tour");
    let (m, n) = (picture.height(), picture.width());
    let r = m.min(n);
    let k = k.min(r);

    // Steps 1–7: the lessons' numbers, from the SVDs of the gray plane and of every
    // colour plane (batched), in float64 as NumPy computes them.
    let lesson = Lesson::new(picture.planes(false), par).map_err(fail)?;
    bar.inc(2);
    let lf = lesson.facts(k, par).map_err(fail)?;
    let (color, gray) = (&lesson.color, &lesson.gray);
    let (color_svd, gray_svd) = (&lesson.color_svd, &lesson.gray_svd);
    let gf = &gray_svd.planes[0].1;
    let approx_gray = approximate(gray, gray_svd, k, par).map_err(fail)?;
    let reconstruction = approximate(color, color_svd, r, par).map_err(fail)?;
    let approx_color = approximate(color, color_svd, k, par).map_err(fail)?;
    bar.inc(1);

    // Step 8: the gallery, one SVD for every rank.
    let ranks: Vec<usize> = GALLERY_RANKS.iter().map(|&g| g.min(r)).collect();
    let mut ranks_unique = ranks.clone();
    ranks_unique.dedup();
    let (tiles, reports) = gallery_tiles(color, color_svd, &ranks_unique)?;
    let gallery = figures::gallery(&tiles, 4)?;
    bar.inc(1);

    // Step 9: rank-one components, and the check that they add up.
    let items = component_items(gf, LESSON_COMPONENTS);
    let components = figures::components(&items)?;
    bar.inc(1);

    let color_values = spectra_of(color_svd);
    let gray_values = spectra_of(gray_svd);
    let series = spectrum_series(
        &color_values,
        picture
            .color_model()
            .is_color()
            .then_some(gray_values.as_slice()),
    );
    let spectrum = figures::spectrum_svg(&series)?;
    let energy_ranks = series
        .iter()
        .map(|s| {
            let ranks = [0.9, 0.99, 0.999].map(|level| svdimg::energy_rank(&s.values, level));
            (s.name.to_string(), ranks)
        })
        .collect();
    let gray_image = to_image(
        n,
        m,
        &[gray.color[0].data.as_slice()],
        None,
        picture.bit_depth(),
    );
    let files = vec![
        ("original.png".to_string(), encode(picture.image(), png)?),
        ("gray.png".to_string(), encode(&gray_image, png)?),
        ("spectrum.svg".to_string(), spectrum.into_bytes()),
        (
            format!("approx_gray_k{k}.png"),
            encode(&approx_gray.image, png)?,
        ),
        (
            "reconstruction_color.png".to_string(),
            encode(&reconstruction.image, png)?,
        ),
        (
            format!("approx_color_k{k}.png"),
            encode(&approx_color.image, png)?,
        ),
        ("gallery.png".to_string(), encode(&gallery, png)?),
        ("components.png".to_string(), encode(&components, png)?),
    ];
    bar.inc(1);
    bar.finish_and_clear();

    let facts = Facts {
        name: input.name.clone(),
        lesson: lf,
        gallery: reports
            .iter()
            .map(|r| (r.rank, r.psnr_db, r.ssim))
            .collect(),
        energy_ranks,
    };
    Ok((facts, files))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn steps_text(f: &Facts) -> String {
    let (m, n, r, k) = (
        f.lesson.height,
        f.lesson.width,
        f.lesson.full_rank,
        f.lesson.rank,
    );
    let mut o = String::new();
    let img_shape = if f.lesson.channels == 1 {
        shape(&[m, n])
    } else {
        shape(&[m, n, f.lesson.channels])
    };
    let _ = writeln!(o, "svdimg tour of {}", f.name);
    let _ = writeln!(o, "\n1. The image is an array");
    let _ = writeln!(
        o,
        "   shape {img_shape}, {}, values {:.0}..{:.0}; divided by {:.0} it becomes floats in [{:.4}, {:.4}]",
        f.lesson.dtype,
        f.lesson.raw_range.0,
        f.lesson.raw_range.1,
        f.lesson.type_max,
        f.lesson.raw_range.0 / f.lesson.type_max,
        f.lesson.raw_range.1 / f.lesson.type_max
    );
    let _ = writeln!(o, "\n2. Gray plane: 0.2126 R + 0.7152 G + 0.0722 B");
    let _ = writeln!(o, "   img_gray.shape = {}", shape(&[m, n]));
    let _ = writeln!(o, "\n3. SVD: A = U Σ Vᵀ");
    let _ = writeln!(
        o,
        "   full (np.linalg.svd default): U {}  s {}  Vᵀ {}",
        shape(&[m, m]),
        shape(&[r]),
        shape(&[n, n])
    );
    let _ = writeln!(
        o,
        "   thin (what svdimg stores):    U {}  s {}  Vᵀ {}",
        shape(&[m, r]),
        shape(&[r]),
        shape(&[r, n])
    );
    let _ = writeln!(o, "\n4. Reconstruction");
    let _ = writeln!(o, "   ‖A − U Σ Vᵀ‖ = {:.3e}", f.lesson.gray_error);
    let _ = writeln!(
        o,
        "   np.allclose(A, U Σ Vᵀ) (rtol 1e-5, atol 1e-8): {}",
        yes_no(f.lesson.gray_allclose)
    );
    let _ = writeln!(o, "\n5. Storage at rank k = {k}");
    let _ = writeln!(
        o,
        "   k(m+n+1) = {k}·({m}+{n}+1) = {} numbers instead of m·n = {} ({:.1}%)",
        f.lesson.storage.stored_values,
        f.lesson.storage.pixel_values,
        100.0 * f.lesson.storage.stored_values as f64 / f.lesson.storage.pixel_values as f64
    );
    let _ = writeln!(o, "\n6. Rank-{k} error");
    let _ = writeln!(
        o,
        "   ‖A − A_{k}‖ = {:.6}; Eckart–Young optimum sqrt(Σ_{{i>{k}}} σᵢ²) = {:.6}",
        f.lesson.rank_error, f.lesson.optimum
    );
    let _ = writeln!(
        o,
        "\n7. Colour, batched: one SVD per channel ({} planes)",
        f.lesson.color_planes
    );
    let _ = writeln!(
        o,
        "   ‖A − U Σ Vᵀ‖ over all planes = {:.3e}; allclose: {}",
        f.lesson.color_error,
        yes_no(f.lesson.color_allclose)
    );
    let _ = writeln!(
        o,
        "   the rank-{k} colour approximation ranges over [{:.4}, {:.4}] before clipping: {}",
        f.lesson.color_range.0,
        f.lesson.color_range.1,
        if f.lesson.color_range.0 < 0.0 || f.lesson.color_range.1 > 1.0 {
            "values outside [0, 1] must be clipped before saving"
        } else {
            "inside [0, 1] this time, but clipping is still applied"
        }
    );
    let _ = writeln!(o, "\n8. Gallery: one SVD, components added rank by rank");
    for (rank, psnr, ssim) in &f.gallery {
        let _ = writeln!(
            o,
            "   rank={rank:<4} PSNR {:>9}  SSIM {ssim:.4}",
            psnr_text(*psnr)
        );
    }
    let _ = writeln!(o, "\n9. Rank-one components σᵢ uᵢ vᵢᵀ of the gray plane");
    let sig: Vec<String> = f.lesson.sigmas.iter().map(|s| format!("{s:.4}")).collect();
    let _ = writeln!(
        o,
        "   σ₁..σ{} = {}",
        figures::subscript(f.lesson.sigmas.len()),
        sig.join(", ")
    );
    let _ = writeln!(
        o,
        "   the first {} components add up to the rank-{} approximation: max |difference| = {:.3e}",
        f.lesson.sigmas.len(),
        f.lesson.sigmas.len(),
        f.lesson.component_difference
    );
    o
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn report_html(f: &Facts, files: &[&str]) -> String {
    let (m, n, r, k) = (
        f.lesson.height,
        f.lesson.width,
        f.lesson.full_rank,
        f.lesson.rank,
    );
    let name = escape(&f.name);
    let file = |prefix: &str| {
        files
            .iter()
            .find(|x| x.starts_with(prefix))
            .copied()
            .unwrap_or(prefix)
            .to_string()
    };
    let gallery_rows: String = f
        .gallery
        .iter()
        .map(|(rank, psnr, ssim)| {
            let stored = svdimg::Storage::new(*rank, m, n, f.lesson.color_planes);
            format!(
                "<tr><td>{rank}</td><td>{}</td><td>{ssim:.4}</td><td>{:.1}%</td></tr>",
                psnr_text(*psnr),
                100.0 * stored.ratio
            )
        })
        .collect();
    let energy_rows: String = f
        .energy_ranks
        .iter()
        .map(|(p, [a, b, c])| format!("<tr><td>{p}</td><td>{a}</td><td>{b}</td><td>{c}</td></tr>"))
        .collect();
    let sigmas: Vec<String> = f.lesson.sigmas.iter().map(|s| format!("{s:.4}")).collect();
    let clip_note = if f.lesson.color_range.0 < 0.0 || f.lesson.color_range.1 > 1.0 {
        "Some values fall outside [0, 1], which no pixel can hold: they are clipped before saving."
    } else {
        "This time every value stays inside [0, 1]; svdimg clips anyway, since at other ranks they may not."
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>svdimg tour: {name}</title>
<style>
  :root {{ --ink: #1d2330; --muted: #5b6475; --accent: #2f6fb3; --paper: #fbfbfd; --card: #fff; --line: #e2e5ec; }}
  * {{ box-sizing: border-box; }}
  body {{ margin: 0; font: 17px/1.6 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--paper); }}
  header {{ background: linear-gradient(120deg, #1f3b63, #2f6fb3); color: #fff; padding: 2.5rem 1.5rem 2rem; }}
  header h1 {{ margin: 0 0 .3rem; font-size: 2rem; }}
  header p {{ margin: 0; opacity: .9; max-width: 60rem; }}
  main {{ max-width: 64rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; }}
  section {{ background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 1.2rem 1.5rem; margin: 1.5rem 0; box-shadow: 0 1px 3px rgba(0,0,0,.04); }}
  h2 {{ margin-top: .2rem; font-size: 1.3rem; }}
  h2 .n {{ display: inline-block; width: 1.8rem; height: 1.8rem; line-height: 1.8rem; text-align: center; border-radius: 50%; background: var(--accent); color: #fff; font-size: 1rem; margin-right: .5rem; }}
  code, .num {{ font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .92em; }}
  .num {{ background: #eef3fa; padding: .05rem .35rem; border-radius: 4px; }}
  figure {{ margin: 1rem 0; text-align: center; }}
  figure img {{ max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }}
  figcaption {{ color: var(--muted); font-size: .92rem; margin-top: .4rem; }}
  .pair img, .single img {{ width: 100%; max-width: 26rem; image-rendering: auto; }}
  .pair {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 1rem; }}
  table {{ border-collapse: collapse; margin: .6rem 0; }}
  th, td {{ padding: .25rem .9rem; border-bottom: 1px solid var(--line); text-align: right; }}
  th:first-child, td:first-child {{ text-align: left; }}
  .ok {{ color: #1e7d32; font-weight: 600; }} .bad {{ color: #b3261e; font-weight: 600; }}
  footer {{ color: var(--muted); text-align: center; font-size: .85rem; }}
</style>
</head>
<body>
<header>
  <h1>The SVD of {name}</h1>
  <p>A walk through NumPy's “Linear algebra on n-dimensional arrays” and the SVD image-compression lesson, with this image's own numbers. Every number below was measured by svdimg on this image.</p>
</header>
<main>
<section>
  <h2><span class="n">1</span>The image is an array</h2>
  <p>A picture is a grid of numbers: this one has shape <span class="num">{img_shape}</span> of type <code>{dtype}</code>, with values from <span class="num">{lo:.0}</span> to <span class="num">{hi:.0}</span>. Dividing by {tmax:.0} puts them on the [0, 1] scale that every later step uses.</p>
  <div class="pair">
    <figure><img src="original.png" alt="the original image"><figcaption>original.png</figcaption></figure>
    <figure><img src="gray.png" alt="the gray plane"><figcaption>gray.png: 0.2126 R + 0.7152 G + 0.0722 B</figcaption></figure>
  </div>
</section>
<section>
  <h2><span class="n">2</span>One matrix: the gray plane</h2>
  <p>Weighting red, green and blue the way our eyes do (Rec.709) gives a single matrix <i>A</i> of shape <span class="num">({m}, {n})</span>: {m} rows, {n} columns.</p>
</section>
<section>
  <h2><span class="n">3</span>The decomposition A = U Σ Vᵀ</h2>
  <p>The SVD writes <i>A</i> as a sum of simple layers, strongest first. NumPy's default returns the <em>full</em> matrices, U <span class="num">({m}, {m})</span>, s <span class="num">({r},)</span>, Vᵀ <span class="num">({n}, {n})</span>; only the first {r} columns of U and rows of Vᵀ ever meet a singular value, so svdimg keeps the <em>thin</em> ones: U <span class="num">({m}, {r})</span>, s <span class="num">({r},)</span>, Vᵀ <span class="num">({r}, {n})</span>.</p>
</section>
<section>
  <h2><span class="n">4</span>Nothing is lost</h2>
  <p>Multiplying the three factors back gives <i>A</i> again: ‖A − U Σ Vᵀ‖ = <span class="num">{gerr:.3e}</span>, and <code>np.allclose(A, U Σ Vᵀ)</code> is <span class="{gcls}">{gok}</span>. The tiny difference is floating-point rounding.</p>
</section>
<section>
  <h2><span class="n">5</span>The spectrum: how much each layer matters</h2>
  <p>The singular values σ₁ ≥ σ₂ ≥ … measure each layer's strength. They fall fast: a few layers carry most of the <em>energy</em> Σσᵢ², the image's total squared brightness.</p>
  <figure><img src="spectrum.svg" alt="singular values and cumulative energy"><figcaption>spectrum.svg: singular values on a log scale (top) and the energy kept by the first k (bottom)</figcaption></figure>
  <table><tr><th>plane</th><th>rank for 90%</th><th>99%</th><th>99.9%</th></tr>{energy_rows}</table>
</section>
<section>
  <h2><span class="n">6</span>Keep k layers: the rank-{k} approximation</h2>
  <p>Keeping the first k = {k} layers stores k(m+n+1) = <span class="num">{stored}</span> numbers instead of m·n = <span class="num">{pixels}</span>, or <span class="num">{pct:.1}%</span>. The error ‖A − A<sub>{k}</sub>‖ = <span class="num">{rerr:.6}</span> equals the Eckart–Young optimum √(Σ<sub>i&gt;{k}</sub> σᵢ²) = <span class="num">{opt:.6}</span>: no rank-{k} matrix can do better.</p>
  <figure class="single"><img src="{agray}" alt="rank-{k} gray approximation"><figcaption>{agray}</figcaption></figure>
</section>
<section>
  <h2><span class="n">7</span>Colour, batched</h2>
  <p>A colour image is {cp} matrices, one per channel, decomposed together. All of them rebuild exactly (error <span class="num">{cerr:.3e}</span>, allclose <span class="{ccls}">{cok}</span>). At rank {k} the values range over <span class="num">[{clo:.4}, {chi:.4}]</span>. {clip_note}</p>
  <div class="pair">
    <figure><img src="reconstruction_color.png" alt="full-rank colour reconstruction"><figcaption>reconstruction_color.png (all {r} layers)</figcaption></figure>
    <figure><img src="{acolor}" alt="rank-{k} colour approximation"><figcaption>{acolor}</figcaption></figure>
  </div>
</section>
<section>
  <h2><span class="n">8</span>The rank gallery</h2>
  <p>The same image with 1, 2, 3, 4, 5, 10, 20 and 50 layers. One SVD serves every tile: each adds the next layers to the one before. PSNR (peak signal-to-noise ratio) grows with the rank; around 30 dB most people stop seeing a difference.</p>
  <figure><img src="gallery.png" alt="rank gallery"><figcaption>gallery.png</figcaption></figure>
  <table><tr><th>rank</th><th>PSNR</th><th>SSIM</th><th>storage</th></tr>{gallery_rows}</table>
</section>
<section>
  <h2><span class="n">9</span>The layers themselves</h2>
  <p>Each layer σᵢ uᵢ vᵢᵀ is a rank-one image: a column pattern uᵢ times a row pattern vᵢ. Layers have negative values too, so blue means negative, white zero and red positive. Below each is its own row vᵢ of Vᵀ. The strengths are σ₁..σ{ncs} = {sigmas}, and the first {nc} layers add up to the rank-{nc} approximation (max |difference| <span class="num">{cdiff:.3e}</span>).</p>
  <figure><img src="components.png" alt="rank-one components"><figcaption>components.png</figcaption></figure>
</section>
<footer>Made by svdimg {version}. All figures are local files; this page works offline.</footer>
</main>
</body>
</html>
"#,
        img_shape = if f.lesson.channels == 1 {
            shape(&[m, n])
        } else {
            shape(&[m, n, f.lesson.channels])
        },
        dtype = f.lesson.dtype,
        lo = f.lesson.raw_range.0,
        hi = f.lesson.raw_range.1,
        tmax = f.lesson.type_max,
        gerr = f.lesson.gray_error,
        gcls = if f.lesson.gray_allclose { "ok" } else { "bad" },
        gok = yes_no(f.lesson.gray_allclose),
        stored = f.lesson.storage.stored_values,
        pixels = f.lesson.storage.pixel_values,
        pct = 100.0 * f.lesson.storage.stored_values as f64 / f.lesson.storage.pixel_values as f64,
        rerr = f.lesson.rank_error,
        opt = f.lesson.optimum,
        agray = file("approx_gray_k"),
        acolor = file("approx_color_k"),
        cp = f.lesson.color_planes,
        cerr = f.lesson.color_error,
        ccls = if f.lesson.color_allclose { "ok" } else { "bad" },
        cok = yes_no(f.lesson.color_allclose),
        clo = f.lesson.color_range.0,
        chi = f.lesson.color_range.1,
        nc = f.lesson.sigmas.len(),
        ncs = figures::subscript(f.lesson.sigmas.len()),
        sigmas = sigmas.join(", "),
        cdiff = f.lesson.component_difference,
        version = env!("CARGO_PKG_VERSION"),
    )
}
