//! `svdimg batch`: many images, resumable, within a memory budget.
//!
//! Each input is read, transcoded by the library ([`svdimg::transcode`]) and written
//! through a temporary file and a rename, then recorded in a journal of JSON lines. A
//! rerun skips the files the journal shows done with the same size, modification time and
//! settings, so a killed batch (even by SIGKILL) resumes where it stopped: an output either
//! exists whole or not at all, and a journal line is written only after its output.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Instant, UNIX_EPOCH};

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};
use svdimg::{CompressOptions, Destination, TranscodeOptions};

use crate::cli::{BatchArgs, ToArg};
use crate::io::{io_reason, print_stdout, write_atomic_as, UsageError};

/// The journal's name inside OUTDIR when --journal is not given.
pub const DEFAULT_JOURNAL: &str = ".svdimg-journal.jsonl";

/// How temporary outputs begin; leftovers of a killed run are removed by the next one.
const TEMP_PREFIX: &str = ".svdimg-batch-";

/// File extensions a folder is searched for.
const IMAGE_EXTENSIONS: [&str; 12] = [
    "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "pnm", "ppm", "pgm", "pbm",
];

/// One line of the journal: a file finished, well or not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// The input's absolute path.
    pub input: String,
    /// The output's absolute path.
    pub output: String,
    /// The input's size in bytes and modification time (ns since the Unix epoch) when it
    /// was read.
    pub size: u64,
    pub mtime_ns: u64,
    /// [`svdimg::settings_hash`] of the settings line.
    pub settings: String,
    /// `done` or `failed`.
    pub status: String,
    /// The output's size (0 when failed).
    pub bytes_out: u64,
    /// PSNR of the output against the input; `null` when equal or failed.
    pub psnr_db: Option<f64>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub seconds: f64,
}

/// An input file and where its output goes.
struct Job {
    input: PathBuf,
    output: PathBuf,
    size: u64,
    mtime_ns: u64,
}

#[derive(Serialize)]
struct Summary {
    done: usize,
    skipped: usize,
    failed: usize,
    bytes_in: u64,
    bytes_out: u64,
    psnr_median: Option<f64>,
    psnr_worst: Option<f64>,
    seconds: f64,
}

pub fn run(args: BatchArgs) -> Result<()> {
    let start = Instant::now();
    let options = TranscodeOptions {
        compress: CompressOptions {
            target: args.target.target(),
            color: args.color.choice(),
            method: args.svd.method(),
            randomized: args.svd.settings(),
            ..CompressOptions::default()
        },
        to: match args.to {
            ToArg::Svdz => Destination::Svdz,
            ToArg::Png => Destination::Image(svdimg::OutputFormat::from_extension("png")?),
            ToArg::Jpg => Destination::Image(svdimg::OutputFormat::from_extension("jpg")?),
        },
        decode: args.decode.options(),
    };
    let settings = svdimg::settings_hash(&options.settings_line());
    std::fs::create_dir_all(&args.output).map_err(|e| {
        anyhow!(
            "cannot create '{}': {}",
            args.output.display(),
            io_reason(&e)
        )
    })?;
    let outdir = std::fs::canonicalize(&args.output)?;
    let jobs = plan(&args.inputs, &outdir, options.to.extension())?;
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| outdir.join(DEFAULT_JOURNAL));
    let done_before = read_journal(&journal_path)?;
    remove_leftovers(&jobs);

    let (todo, skipped): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|job| {
        let key = job.input.display().to_string();
        !done_before.get(&key).is_some_and(|e| {
            e.status == "done"
                && e.size == job.size
                && e.mtime_ns == job.mtime_ns
                && e.settings == settings
                && e.output == job.output.display().to_string()
                && job.output.is_file()
        })
    });
    let workers = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, todo.len().max(1));
    let budget = args.memory.unwrap_or_else(default_budget);
    let journal = Journal::open(&journal_path)?;
    let entries = execute(&todo, &options, &settings, workers, budget, &journal);

    let seconds = start.elapsed().as_secs_f64();
    let done: Vec<&Entry> = entries.iter().filter(|e| e.status == "done").collect();
    let failed: Vec<&Entry> = entries.iter().filter(|e| e.status != "done").collect();
    let mut psnr: Vec<f64> = done
        .iter()
        .map(|e| e.psnr_db.unwrap_or(f64::INFINITY))
        .collect();
    psnr.sort_by(f64::total_cmp);
    let finite = |x: f64| x.is_finite().then_some(x);
    let summary = Summary {
        done: done.len(),
        skipped: skipped.len(),
        failed: failed.len(),
        bytes_in: todo
            .iter()
            .zip(&entries)
            .filter(|(_, e)| e.status == "done")
            .map(|(j, _)| j.size)
            .sum(),
        bytes_out: done.iter().map(|e| e.bytes_out).sum(),
        psnr_median: psnr.get(psnr.len() / 2).copied().and_then(finite),
        psnr_worst: psnr.first().copied().and_then(finite),
        seconds,
    };
    if args.json {
        print_stdout(&(serde_json::to_string(&summary)? + "\n"))?;
    } else {
        let db = |x: Option<f64>, any: bool| match (x, any) {
            (Some(x), _) => format!("{x:.2} dB"),
            (None, true) => "exact".to_string(),
            (None, false) => "-".to_string(),
        };
        let mut text = format!(
            "{} done, {} skipped (already done), {} failed in {seconds:.1} s\n\
             {:.1} MB in, {:.1} MB out; PSNR median {}, worst {}\njournal: {}\n",
            summary.done,
            summary.skipped,
            summary.failed,
            summary.bytes_in as f64 / 1e6,
            summary.bytes_out as f64 / 1e6,
            db(summary.psnr_median, !done.is_empty()),
            db(summary.psnr_worst, !done.is_empty()),
            journal_path.display()
        );
        for e in &failed {
            text += &format!(
                "failed: {}: {}\n",
                e.input,
                e.error.as_deref().unwrap_or("?")
            );
        }
        print_stdout(&text)?;
    }
    if !failed.is_empty() {
        // The report is printed; exit 1 without another message.
        std::process::exit(1);
    }
    Ok(())
}

/// The files behind the inputs, in order, each with its output path: a folder's images
/// mirror their path below it, a glob's matches their path below its fixed part, a file
/// lands at OUTDIR/its name. Two inputs that would write the same output are an error.
fn plan(inputs: &[String], outdir: &Path, extension: &str) -> Result<Vec<Job>> {
    let mut found: Vec<(PathBuf, PathBuf)> = Vec::new();
    for input in inputs {
        let path = PathBuf::from(input);
        if path.is_dir() {
            let root = std::fs::canonicalize(&path)?;
            let mut files = Vec::new();
            walk(&root, outdir, &is_image_name, &mut files);
            files.sort();
            for f in files {
                let rel = f.strip_prefix(&root).unwrap_or(&f).to_path_buf();
                found.push((f, rel));
            }
        } else if path.is_file() {
            let rel = PathBuf::from(path.file_name().unwrap_or_default());
            found.push((std::fs::canonicalize(&path)?, rel));
        } else if input.contains(['*', '?', '[']) {
            let matches = glob(input, outdir)?;
            if matches.is_empty() {
                return Err(UsageError(format!("'{input}': no file matches")).into());
            }
            found.extend(matches);
        } else {
            bail!("'{input}': no such file or directory");
        }
    }
    let mut seen: HashMap<PathBuf, PathBuf> = HashMap::new();
    let mut jobs = Vec::new();
    for (input, rel) in found {
        let output = outdir.join(rel).with_extension(extension);
        if output == input {
            return Err(UsageError(format!(
                "'{}' would be written over itself: choose another OUTDIR",
                input.display()
            ))
            .into());
        }
        if let Some(other) = seen.get(&output) {
            if *other == input {
                continue; // the same file given twice
            }
            return Err(UsageError(format!(
                "'{}' and '{}' would both write '{}': give their folder instead",
                other.display(),
                input.display(),
                output.display()
            ))
            .into());
        }
        seen.insert(output.clone(), input.clone());
        let meta = std::fs::metadata(&input)
            .map_err(|e| anyhow!("'{}': {}", input.display(), io_reason(&e)))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        jobs.push(Job {
            input,
            output,
            size: meta.len(),
            mtime_ns,
        });
    }
    Ok(jobs)
}

/// Files below `dir` that `keep` accepts, skipping hidden entries and `outdir`.
fn walk(dir: &Path, outdir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') || path == outdir {
            continue;
        }
        match entry.file_type() {
            Ok(k) if k.is_dir() => walk(&path, outdir, keep, out),
            Ok(k) if k.is_file() && keep(&path) => out.push(path),
            _ => {}
        }
    }
}

fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The files matching a glob (`*` and `?` within a name, `[abc]` a set, `**` any number of
/// folders), each with its path below the pattern's fixed leading folders.
fn glob(pattern: &str, outdir: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let parts: Vec<&str> = pattern.split('/').collect();
    let fixed = parts
        .iter()
        .take_while(|p| !p.contains(['*', '?', '[']))
        .count();
    let base = if fixed == 0 {
        PathBuf::from(".")
    } else {
        PathBuf::from(parts[..fixed].join("/"))
    };
    let base = if pattern.starts_with('/') && fixed <= 1 {
        PathBuf::from("/")
    } else {
        base
    };
    let rest: Vec<&str> = parts[fixed..].to_vec();
    let root = std::fs::canonicalize(&base)
        .map_err(|e| anyhow!("'{pattern}': '{}': {}", base.display(), io_reason(&e)))?;
    let mut files = Vec::new();
    walk(&root, outdir, &|_| true, &mut files);
    files.sort();
    Ok(files
        .into_iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(&root).ok()?.to_path_buf();
            let names: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            matches_path(&rest, &names).then_some((f, rel))
        })
        .collect())
}

/// Whether the path components `names` match the pattern components `pattern`.
fn matches_path(pattern: &[&str], names: &[&str]) -> bool {
    match pattern.split_first() {
        None => names.is_empty(),
        Some((&"**", rest)) => (0..=names.len()).any(|i| matches_path(rest, &names[i..])),
        Some((p, rest)) => names.split_first().is_some_and(|(n, names)| {
            matches_name(p.as_bytes(), n.as_bytes()) && matches_path(rest, names)
        }),
    }
}

/// Whether one file name matches one pattern component (`*`, `?`, `[set]`).
fn matches_name(p: &[u8], n: &[u8]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some(b'*') => (0..=n.len()).any(|i| matches_name(&p[1..], &n[i..])),
        Some(b'?') => !n.is_empty() && matches_name(&p[1..], &n[1..]),
        Some(b'[') => match p.iter().position(|&c| c == b']') {
            Some(end) if end > 1 => {
                !n.is_empty() && p[1..end].contains(&n[0]) && matches_name(&p[end + 1..], &n[1..])
            }
            _ => n.first() == Some(&b'[') && matches_name(&p[1..], &n[1..]),
        },
        Some(&c) => n.first() == Some(&c) && matches_name(&p[1..], &n[1..]),
    }
}

/// The last entry per input in the journal; lines that do not parse (a line cut by a
/// kill) are ignored.
fn read_journal(path: &Path) -> Result<HashMap<String, Entry>> {
    let mut out = HashMap::new();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => bail!(
            "cannot read the journal '{}': {}",
            path.display(),
            io_reason(&e)
        ),
    };
    for line in BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        if let Ok(entry) = serde_json::from_str::<Entry>(&line) {
            out.insert(entry.input.clone(), entry);
        }
    }
    Ok(out)
}

/// Temporary files a killed run left beside the outputs.
fn remove_leftovers(jobs: &[Job]) {
    let dirs: std::collections::BTreeSet<&Path> =
        jobs.iter().filter_map(|j| j.output.parent()).collect();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The journal, appended to under a lock, one whole line per finished file.
struct Journal {
    file: Mutex<File>,
}

impl Journal {
    fn open(path: &Path) -> Result<Journal> {
        let fail = |e: std::io::Error| {
            anyhow!(
                "cannot write the journal '{}': {}",
                path.display(),
                io_reason(&e)
            )
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(fail)?;
        // A line cut by a kill is ended, so that the next entry starts on a line of its own.
        let len = file.metadata().map_err(fail)?.len();
        if len > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8];
            file.seek(SeekFrom::Start(len - 1)).map_err(fail)?;
            file.read_exact(&mut last).map_err(fail)?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(fail)?;
            }
        }
        Ok(Journal {
            file: Mutex::new(file),
        })
    }

    fn append(&self, entry: &Entry) {
        let line = serde_json::to_string(entry).unwrap_or_default() + "\n";
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .is_err()
        {
            eprintln!("warning: cannot write to the journal; this file will be redone next time");
        }
    }
}

/// Admits files in order while their estimated working sets fit the budget; a file larger
/// than the whole budget runs alone.
struct Gate {
    budget: u64,
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    used: u64,
    in_flight: usize,
    /// Files waiting, in the order they were taken: only the first may be admitted.
    waiting: VecDeque<usize>,
}

impl Gate {
    fn new(budget: u64) -> Gate {
        Gate {
            budget,
            state: Mutex::new(GateState::default()),
            changed: Condvar::new(),
        }
    }

    fn acquire(&self, ticket: usize, bytes: u64) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let at = s
            .waiting
            .iter()
            .position(|&t| t > ticket)
            .unwrap_or(s.waiting.len());
        s.waiting.insert(at, ticket);
        while s.waiting.front() != Some(&ticket)
            || (s.in_flight > 0 && s.used + bytes > self.budget)
        {
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.waiting.pop_front();
        s.used += bytes;
        s.in_flight += 1;
        self.changed.notify_all();
    }

    fn release(&self, bytes: u64) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.used -= bytes;
        s.in_flight -= 1;
        self.changed.notify_all();
    }
}

/// Runs the jobs on `workers` threads within `budget` bytes; returns their entries in the
/// jobs' order.
fn execute(
    jobs: &[Job],
    options: &TranscodeOptions,
    settings: &str,
    workers: usize,
    budget: u64,
    journal: &Journal,
) -> Vec<Entry> {
    let next = AtomicUsize::new(0);
    let gate = Gate::new(budget);
    let results: Mutex<BTreeMap<usize, Entry>> = Mutex::new(BTreeMap::new());
    let bar = crate::io::progress(jobs.len() as u64, "batch");
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>10} [{bar:30}] {pos}/{len} files {per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let clock = Instant::now();
    let bytes_read = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                let entry = one(job, i, options, settings, &gate);
                journal.append(&entry);
                let read =
                    bytes_read.fetch_add(job.size as usize, Ordering::SeqCst) + job.size as usize;
                let mbs = read as f64 / 1e6 / clock.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!("{mbs:.1} MB/s"));
                bar.inc(1);
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(i, entry);
            });
        }
    });
    bar.finish_and_clear();
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_values()
        .collect()
}

/// Reads, transcodes and writes one file; the entry says how it went.
fn one(job: &Job, ticket: usize, options: &TranscodeOptions, settings: &str, gate: &Gate) -> Entry {
    let start = Instant::now();
    let mut entry = Entry {
        input: job.input.display().to_string(),
        output: job.output.display().to_string(),
        size: job.size,
        mtime_ns: job.mtime_ns,
        settings: settings.to_string(),
        status: "failed".into(),
        bytes_out: 0,
        psnr_db: None,
        error: None,
        seconds: 0.0,
    };
    let result = (|| -> Result<svdimg::Transcoded> {
        let bytes = std::fs::read(&job.input).map_err(|e| anyhow!("{}", io_reason(&e)))?;
        // An unreadable header fails in transcode; its estimate is just the file.
        let need = svdimg::working_set(&bytes).unwrap_or(bytes.len() as u64);
        gate.acquire(ticket, need);
        let out = svdimg::transcode(&bytes, options);
        gate.release(need);
        let out = out?;
        if let Some(dir) = job.output.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow!("cannot create '{}': {}", dir.display(), io_reason(&e)))?;
        }
        write_atomic_as(&job.output, &out.bytes, TEMP_PREFIX)?;
        Ok(out)
    })();
    match result {
        Ok(out) => {
            entry.status = "done".into();
            entry.bytes_out = out.bytes.len() as u64;
            entry.psnr_db = out.psnr_db.is_finite().then_some(out.psnr_db);
        }
        Err(e) => entry.error = Some(format!("{e:#}")),
    }
    entry.seconds = start.elapsed().as_secs_f64();
    entry
}

/// Half the machine's memory (from /proc/meminfo), or 2 GiB when it cannot be read.
fn default_budget() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024 / 2)
        })
        .unwrap_or(2 << 30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn glob_names() {
        assert!(matches_name(b"*.jpg", b"a.jpg"));
        assert!(!matches_name(b"*.jpg", b"a.png"));
        assert!(matches_name(b"im?[9x].png", b"img9.png"));
        assert!(matches_path(&["**", "*.png"], &["a", "b", "c.png"]));
        assert!(matches_path(&["**", "*.png"], &["c.png"]));
        assert!(!matches_path(&["*", "*.png"], &["c.png"]));
    }

    /// Concurrent files never hold more than the budget, unless one alone is larger, and a
    /// large file is not starved by small ones behind it.
    #[test]
    fn gate_keeps_the_budget() {
        let gate = Arc::new(Gate::new(100));
        let peak = Arc::new(Mutex::new((0u64, 0u64)));
        let sizes: Vec<u64> = (0..40)
            .map(|i| {
                if i == 7 {
                    90
                } else if i == 20 {
                    250
                } else {
                    20
                }
            })
            .collect();
        let next = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        std::thread::scope(|s| {
            for _ in 0..6 {
                let (gate, peak, next, sizes, order) = (&gate, &peak, &next, &sizes, &order);
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&need) = sizes.get(i) else { break };
                    gate.acquire(i, need);
                    order.lock().unwrap().push(i);
                    {
                        let mut p = peak.lock().unwrap();
                        p.0 += need;
                        if need <= 100 {
                            assert!(p.0 <= 100, "{} in flight", p.0);
                        } else {
                            assert_eq!(p.0, need, "the large file runs alone");
                        }
                        p.1 = p.1.max(p.0);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    peak.lock().unwrap().0 -= need;
                    gate.release(need);
                });
            }
        });
        let order = order.lock().unwrap();
        assert_eq!(order.len(), 40);
        // The large file waits for the budget, not behind every small file after it.
        let at = order.iter().position(|&i| i == 20).unwrap();
        assert!(at <= 20 + 6, "{order:?}");
    }
}
