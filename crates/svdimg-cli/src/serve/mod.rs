//! `svdimg serve`: a local web explorer over the library, on axum and tokio.

mod api;
mod page;
mod store;

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};

use crate::cli::ServeArgs;
use api::AppState;
use store::{Origin, Store};

/// Heavy requests (renders, compression) computed at once; the rest wait their turn.
const WORKERS: usize = 2;

/// How long requests in flight may take to finish after Ctrl-C.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

pub fn run(args: ServeArgs) -> Result<()> {
    let store = Arc::new(Store::new(args.memory, args.max_pixels));
    load_images(&store, &args)?;
    let listener =
        std::net::TcpListener::bind(SocketAddr::new(args.host, args.port)).map_err(|e| {
            anyhow!(
                "cannot listen on {}:{}: {e}{}",
                args.host,
                args.port,
                if e.kind() == std::io::ErrorKind::AddrInUse {
                    " (pick another --port, or --port 0 for any free one)"
                } else {
                    ""
                }
            )
        })?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let state = Arc::new(AppState::new(
        Arc::clone(&store),
        allowed_hosts(address),
        usize::try_from(args.max_upload).unwrap_or(usize::MAX),
    )?);
    if !args.host.is_loopback() {
        eprintln!(
            "warning: listening on {}, which other machines can reach: svdimg serve has no \
             authentication, and anyone who can connect can upload images",
            args.host
        );
    }
    let url = page_url(address);
    println!("svdimg serve: {url}  (Ctrl-C to stop)");
    std::io::stdout().flush().ok();
    if args.open {
        open_browser(&url);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(listener, api::router(state)).with_graceful_shutdown(async {
            shutdown().await;
            stopping.send(()).ok();
        });
        // After Ctrl-C the requests in flight get a few seconds to finish; a long one (the
        // sizes of a 24 MP setting) does not hold the server open.
        tokio::select! {
            result = server => result,
            () = async {
                stopped.await.ok();
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => Ok(()),
        }
    })?;
    // Work still running on blocking threads is abandoned, not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    eprintln!("svdimg serve: stopped");
    Ok(())
}

/// Lowers the calling thread's scheduling priority (nice 10, Linux only), so that the
/// work it runs (the numbers of a setting, the sizes of a 24 MP file: seconds each) takes
/// the cores only when a render does not need them. Elsewhere it does nothing.
fn yield_to_renders() {
    #[cfg(target_os = "linux")]
    {
        let thread = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(thread), 10) {
            eprintln!("warning: cannot lower the priority of a background thread: {e}");
        }
    }
}

/// The command line's images, or the sample; each starts factoring at once.
fn load_images(store: &Arc<Store>, args: &ServeArgs) -> Result<()> {
    if args.images.is_empty() {
        let image = store
            .add(
                svdimg::SAMPLE_PNG,
                "sample".into(),
                Origin::Sample,
                Some("sample".into()),
            )
            .map_err(|e| anyhow!("the sample: {e}"))?;
        drop(store.factors(&image, image.default_color()));
        return Ok(());
    }
    for (i, path) in args.images.iter().enumerate() {
        let name = path.display().to_string();
        let bytes =
            std::fs::read(path).map_err(|e| anyhow!("'{name}': {}", crate::io::io_reason(&e)))?;
        let image = store
            .add(
                &bytes,
                name.clone(),
                Origin::File,
                Some(format!("f{}", i + 1)),
            )
            .map_err(|e| anyhow!("'{name}': {e}"))?;
        if i == 0 {
            drop(store.factors(&image, image.default_color()));
        }
    }
    Ok(())
}

/// The `Host` values a browser sends for this server: its address, `localhost` and
/// `127.0.0.1`, each with the port (and without it on port 80).
fn allowed_hosts(address: SocketAddr) -> Vec<String> {
    let port = address.port();
    let ip = match address.ip() {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    let mut names = vec![ip, "localhost".into(), "127.0.0.1".into()];
    if address.ip() == IpAddr::V6(std::net::Ipv6Addr::LOCALHOST) {
        names.push("[::1]".into());
    }
    names.dedup();
    let mut hosts: Vec<String> = names.iter().map(|n| format!("{n}:{port}")).collect();
    if port == 80 {
        hosts.extend(names);
    }
    hosts
}

fn page_url(address: SocketAddr) -> String {
    let host = match address.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    format!("http://{host}:{}/", address.port())
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("warning: cannot open a browser ({opener}: {e}); open {url} yourself");
    }
}

/// Resolves on Ctrl-C (or SIGTERM): the server stops taking connections and finishes the
/// requests in flight.
async fn shutdown() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
