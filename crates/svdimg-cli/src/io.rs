//! Files, stdout and error reporting: everything the library leaves to its front ends.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use svdimg::{ErrorKind, OutputFormat, Picture};

use crate::cli::{DecodeArgs, Source};

/// How the library's error for a cut-off file begins.
const TRUNCATED: &str = "the image is truncated";

/// An error caused by how the command was called: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Prints `error: ...` on one line and picks the exit code: 2 for usage, 1 otherwise.
pub fn report_error(e: &anyhow::Error) -> ExitCode {
    let usage = e.chain().any(|c| {
        c.is::<UsageError>()
            || c.downcast_ref::<svdimg::Error>()
                .is_some_and(|e| e.kind() == ErrorKind::InvalidParameter)
    });
    let message = format!("{e:#}").replace('\n', " ");
    eprintln!("error: {message}");
    ExitCode::from(if usage { 2 } else { 1 })
}

/// The image's display name and bytes.
pub struct Input {
    pub name: String,
    pub path: Option<PathBuf>,
    pub bytes: Vec<u8>,
}

impl Input {
    pub fn read(source: &Source) -> Result<Input> {
        match &source.image {
            None => Ok(Input {
                name: "sample".into(),
                path: None,
                bytes: svdimg::SAMPLE_PNG.to_vec(),
            }),
            Some(path) => {
                let name = path.display().to_string();
                let bytes =
                    std::fs::read(path).map_err(|e| anyhow!("'{name}': {}", io_reason(&e)))?;
                Ok(Input {
                    name,
                    path: Some(path.clone()),
                    bytes,
                })
            }
        }
    }

    /// Decodes the image, naming the file and hinting at --max-pixels when over the limit
    /// and at --allow-truncated when cut short. An accepted truncated file gets a warning
    /// on stderr.
    pub fn decode(&self, args: &DecodeArgs) -> Result<Picture> {
        let picture = Picture::decode_with(&self.bytes, &args.options()).map_err(|e| {
            let hint = if e.kind() == ErrorKind::LimitExceeded {
                " (raise it with --max-pixels)"
            } else if e.message().starts_with(TRUNCATED) {
                " (pass --allow-truncated to decode what is there)"
            } else {
                ""
            };
            anyhow!("'{}': {e}{hint}", self.name)
        })?;
        if let Some(t) = picture.truncation() {
            let missing = match (t.missing_bytes(), t.expected_len()) {
                (Some(m), Some(e)) => format!(
                    "{m} of its {e} bytes are missing ({:.2}%) and the decoder filled them in",
                    100.0 * m as f64 / e as f64
                ),
                _ => "the decoder filled in what is missing".into(),
            };
            eprintln!(
                "warning: '{}': the image is truncated ({t}); {missing}",
                self.name
            );
        }
        Ok(picture)
    }
}

/// A short reason for an I/O error, lower-case.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "no such file or directory".into(),
        K::PermissionDenied => "permission denied".into(),
        K::IsADirectory => "is a directory".into(),
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

/// Where a result will be written, checked before any work is done.
pub struct Output {
    pub path: PathBuf,
    pub format: OutputFormat,
}

impl Output {
    /// Checks the extension, the directory, and that OUT is not the input (unless `force`).
    pub fn check(path: &Path, input: &Input, force: bool) -> Result<Output> {
        let name = path.display();
        let ext = path.extension().and_then(|e| e.to_str()).ok_or_else(|| {
            UsageError(format!(
                "'{name}' has no extension to pick a format (try .png)"
            ))
        })?;
        let format =
            OutputFormat::from_extension(ext).map_err(|e| UsageError(format!("'{name}': {e}")))?;
        check_target(path, input, force)?;
        Ok(Output {
            path: path.to_path_buf(),
            format,
        })
    }

    /// Writes `bytes` to a temporary file beside OUT, then renames it into place, so that
    /// OUT is never left half written.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.path, bytes)
    }
}

/// Checks that OUT's directory exists and that OUT is not the input (unless `force`).
pub fn check_target(path: &Path, input: &Input, force: bool) -> Result<()> {
    let name = path.display();
    let dir = parent_dir(path);
    if !dir.is_dir() {
        bail!(
            "cannot write '{name}': directory '{}' does not exist",
            dir.display()
        );
    }
    if let Some(input_path) = &input.path {
        let same = match (
            std::fs::canonicalize(input_path),
            std::fs::canonicalize(path),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same && !force {
            return Err(UsageError(format!(
                "refusing to overwrite the input '{name}' (pass --force to allow it)"
            ))
            .into());
        }
    }
    Ok(())
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// The extension of a plot's output, `svg` or `png`, or a usage error naming `what`.
pub fn plot_extension(path: &Path, what: &str) -> Result<String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext != "svg" && ext != "png" {
        return Err(UsageError(format!(
            "'{}': {what} is written as .svg or .png",
            path.display()
        ))
        .into());
    }
    Ok(ext)
}

/// A spinner on stderr for work of unknown length, drawn only when stderr is a terminal.
pub fn spinner(what: &str) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes a file through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_as(path, bytes, ".svdimg-")
}

/// [`write_atomic`] with temporary files named `PREFIX…`, so that a later run can find and
/// remove those a killed one left.
pub fn write_atomic_as(path: &Path, bytes: &[u8], prefix: &str) -> Result<()> {
    let name = path.display();
    let dir = parent_dir(path);
    let fail = |e: std::io::Error| anyhow!("cannot write '{name}': {}", io_reason(&e));
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    // Temporary files are private (0600); the result gets the usual 0666 less the umask.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Prints to stdout; a closed pipe (`svdimg info x | head`) is not an error.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}
