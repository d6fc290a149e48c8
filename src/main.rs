//! The tlgen command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Generates typed Rust bindings from a Telegram TL schema.
///
/// tlgen --schema api.tl --out src/ parses the schema, checks it (unknown types, duplicate names
/// or ids, bad flags, undeclared generics: every error with file, line and column), and writes a
/// formatted module tree whose lib.rs works as a crate root depending on tlgen-runtime.
#[derive(Parser, Debug)]
#[command(
    name = "tlgen",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    generate: GenerateArgs,
}

#[derive(clap::Args, Debug)]
struct GenerateArgs {
    /// The TL schema file (api.tl, mtproto.tl, ...).
    #[arg(long, value_name = "FILE", required = true)]
    schema: Option<PathBuf>,
    /// Output directory; its lib.rs is the root of the generated module tree.
    #[arg(long, value_name = "DIR", required = true)]
    out: Option<PathBuf>,
    /// The layer, when the schema has no `// LAYER N` line (or to override it).
    #[arg(long, value_name = "N")]
    layer: Option<i32>,
    /// Rust path where the output is mounted when it is not the crate root (e.g.
    /// `crate::mtproto::schema`); the default is `crate`.
    #[arg(long, value_name = "PATH")]
    module_path: Option<String>,
    /// Rust path of the runtime crate in the generated code, for a crate that re-exports it
    /// (e.g. `my_client::tlgen_runtime`); the default is `::tlgen_runtime`.
    #[arg(long, value_name = "PATH")]
    runtime_path: Option<String>,
    /// Write nothing; list the files that would change and exit with 1 if any would.
    #[arg(long)]
    check: bool,
    /// Print the time spent in each stage.
    #[arg(long)]
    timings: bool,
    /// Print only errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate bindings (the default when no subcommand is given).
    Generate(GenerateArgs),
    /// Compare two schemas: added, removed and changed definitions, and what breaks.
    Diff(tlgen::diff::DiffArgs),
    /// Download an official schema, check it, and write it with a provenance header.
    Fetch(tlgen::fetch::FetchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Generate(args)) => generate(args),
        Some(Command::Diff(args)) => ExitCode::from(tlgen::diff::run(&args)),
        Some(Command::Fetch(args)) => ExitCode::from(tlgen::fetch::run(&args)),
        None => generate(cli.generate),
    }
}

fn generate(args: GenerateArgs) -> ExitCode {
    let (Some(schema), Some(out)) = (args.schema, args.out) else {
        eprintln!("error: --schema and --out are required");
        return ExitCode::from(2);
    };
    let config = tlgen::Config {
        schema,
        out,
        layer: args.layer,
        check: args.check,
        module_path: args.module_path,
        runtime_path: args.runtime_path,
    };
    let report = match tlgen::generate(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if !args.quiet {
        for w in &report.warnings {
            eprintln!("{w}\n");
        }
    }
    let changed: Vec<_> = report.changed().collect();
    if args.check {
        for c in &changed {
            match c {
                tlgen::FileChange::Written(p) => println!("would write {}", p.display()),
                tlgen::FileChange::Removed(p) => println!("would remove {}", p.display()),
                tlgen::FileChange::Unchanged(_) => {}
            }
        }
    } else if !args.quiet {
        let unchanged = report.changes.len() - changed.len();
        println!(
            "{} files written, {} removed, {unchanged} unchanged in {}",
            changed
                .iter()
                .filter(|c| matches!(c, tlgen::FileChange::Written(_)))
                .count(),
            changed
                .iter()
                .filter(|c| matches!(c, tlgen::FileChange::Removed(_)))
                .count(),
            config.out.display()
        );
    }
    if args.timings {
        let t = &report.timings;
        eprintln!(
            "read {:.1} ms, parse {:.1} ms, ir {:.1} ms, model {:.1} ms, templates + format {:.1} ms \
             on {} threads (templates {:.1} ms, format {:.1} ms of thread time), write {:.1} ms; \
             total {:.1} ms",
            t.read * 1e3,
            t.parse * 1e3,
            t.ir * 1e3,
            t.model * 1e3,
            t.render * 1e3,
            t.threads,
            t.templates * 1e3,
            t.format * 1e3,
            t.write * 1e3,
            (t.read + t.parse + t.ir + t.model + t.render + t.write) * 1e3
        );
    }
    if args.check && !changed.is_empty() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
