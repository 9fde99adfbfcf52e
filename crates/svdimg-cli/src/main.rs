//! `svdimg`: explore and compress images with the singular value decomposition.

mod approx;
mod batch;
mod cli;
mod compress;
mod explore;
mod figures;
mod info;
mod io;
mod rd;
mod serve;
mod tour;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::usage_error(e),
    };
    let result = match cli.command {
        Command::Info(args) => info::run(args),
        Command::Approx(args) => approx::run(args),
        Command::Tour(args) => tour::run(args),
        Command::Spectrum(args) => explore::spectrum(args),
        Command::Gallery(args) => explore::gallery(args),
        Command::Components(args) => explore::components(args),
        Command::Compress(args) => compress::compress(args),
        Command::Decompress(args) => compress::decompress(args),
        Command::Rd(args) => rd::run(args),
        Command::Batch(args) => batch::run(args),
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => io::report_error(&e),
    }
}
