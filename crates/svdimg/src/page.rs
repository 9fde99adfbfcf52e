//! The explorer's page: its HTML, styles and ES modules, kept here as text so that both front
//! ends that show it use the same files. `svdimg serve` sends them one by one; the notebook
//! widget (`svdimg.widget.Explorer`) joins the modules into one. Nothing here runs in Rust.

/// The page's HTML (`index.html`).
pub const PAGE_HTML: &str = include_str!("../page/index.html");

/// The page's styles (`style.css`).
pub const PAGE_CSS: &str = include_str!("../page/style.css");

/// The page's ES modules, file name and source. `page.js` starts the page over HTTP;
/// `widget.js` starts it inside a notebook widget; the rest are shared by both.
pub const PAGE_MODULES: [(&str, &str); 15] = [
    ("api.js", include_str!("../page/api.js")),
    ("app.js", include_str!("../page/app.js")),
    ("charts.js", include_str!("../page/charts.js")),
    ("explain.js", include_str!("../page/explain.js")),
    ("host.js", include_str!("../page/host.js")),
    ("lesson.js", include_str!("../page/lesson.js")),
    ("numbers.js", include_str!("../page/numbers.js")),
    ("page.js", include_str!("../page/page.js")),
    ("parts.js", include_str!("../page/parts.js")),
    ("scale.js", include_str!("../page/scale.js")),
    ("sliders.js", include_str!("../page/sliders.js")),
    ("state.js", include_str!("../page/state.js")),
    ("status.js", include_str!("../page/status.js")),
    ("util.js", include_str!("../page/util.js")),
    ("zoom.js", include_str!("../page/zoom.js")),
];

/// The notebook widget's entry module (anywidget's `render`), not served by `svdimg serve`.
pub const WIDGET_MODULE: (&str, &str) = ("widget.js", include_str!("../page/widget.js"));
