//! The `verity` command. Thin: parses arguments and calls library code in `verity_cli`.

use clap::Parser;

fn main() {
    let cli = verity_cli::Cli::parse();
    std::process::exit(verity_cli::run(cli));
}
