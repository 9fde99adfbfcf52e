//! `svdimg serve` as a command: what it refuses before it listens, and a clean stop. The
//! HTTP API is tested through its router (src/serve/api/tests.rs) and the page in Chromium
//! (tests/serve/, pytest).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::{assert_error, svdimg};

#[test]
fn a_bad_image_on_the_command_line_stops_it_before_it_listens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.png"), "no pixels here").unwrap();
    let o = svdimg(dir.path(), &["serve", "notes.png", "--port", "0"]);
    assert_error(&o, 1, "'notes.png': not a recognised image format");
    let o = svdimg(dir.path(), &["serve", "missing.png", "--port", "0"]);
    assert_error(&o, 1, "'missing.png': ");
}

#[test]
fn a_busy_port_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let o = svdimg(dir.path(), &["serve", "--port", &port]);
    assert_error(&o, 1, &format!("cannot listen on 127.0.0.1:{port}: "));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--port 0"));
}

#[test]
fn it_serves_the_page_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_svdimg"))
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.split_whitespace().nth(2).unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("<title>svdimg explorer</title>"));
    assert!(reply
        .to_ascii_lowercase()
        .contains("content-security-policy"));
    // SIGTERM, as a service manager stops it: a clean exit.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(err, "svdimg serve: stopped\n");
}

#[test]
fn binding_beyond_loopback_warns() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_svdimg"))
        .args(["serve", "--port", "0", "--host", "0.0.0.0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        line.starts_with("warning: listening on 0.0.0.0, which other machines can reach"),
        "{line}"
    );
}
