//! The tlgen command line: parses arguments, calls the library, prints, and owns the exit codes.
//!
//! Exit status, for every subcommand:
//! - 0: done;
//! - 1: done, and it found what it looks for: errors in the schema (`generate`, `check`), files
//!   that `--check` would change, or a diff for which `--fail-on` holds;
//! - 2: it could not do its job: usage error, a file that cannot be read or written, a download
//!   that failed, or an input that `diff` or `fetch` needs and that has schema errors.
//!
//! Every error is printed once on stderr, as `error: <message>` (schema errors as diagnostics
//! with file, line, column and caret, each starting with `error:`).

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// See the `mimalloc` feature in Cargo.toml: formatting the output is mostly allocation.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tlgen::diag::{Diagnostic, Severity};

const EXIT_STATUS_HELP: &str = "Exit status: 0 done; 1 a finding (schema errors, files that \
--check would change, a diff for which --fail-on holds); 2 usage error, unreadable or unwritable \
file, failed download, or a diff/fetch input with schema errors. Errors go to stderr as \
`error: <message>`.";

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
    subcommand_negates_reqs = true,
    after_help = EXIT_STATUS_HELP
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
    /// The target language: a Rust module tree, or a Python package (standard library only;
    /// the package is the output directory).
    #[arg(long, value_name = "LANG", default_value = "rust", value_parser = ["rust", "python"])]
    lang: String,
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
    #[command(after_help = EXIT_STATUS_HELP)]
    Generate(GenerateArgs),
    /// Check a schema without generating anything.
    #[command(after_help = EXIT_STATUS_HELP)]
    Check(CheckArgs),
    /// Compare two schemas: added, removed and changed definitions, and what breaks.
    #[command(after_help = EXIT_STATUS_HELP)]
    Diff(DiffArgs),
    /// Download an official schema, check it, and write it with a provenance header.
    #[cfg(feature = "fetch")]
    #[command(after_help = EXIT_STATUS_HELP)]
    Fetch(FetchArgs),
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// The TL schema file.
    schema: PathBuf,
    /// Print only errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
struct DiffArgs {
    /// The older schema.
    old: PathBuf,
    /// The newer schema.
    new: PathBuf,
    /// Output format: readable text, Markdown (for a pull-request body) or JSON (for tools).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Exit with status 1 when any change is source-breaking (`breaking`), wire-incompatible
    /// (`wire`), when anything changed (`any`), or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = FailOn::Never)]
    fail_on: FailOn,
    /// The layer of the older schema (when it has no `// LAYER N` line, or to override it).
    #[arg(long, value_name = "N")]
    layer_old: Option<i32>,
    /// The layer of the newer schema.
    #[arg(long, value_name = "N")]
    layer_new: Option<i32>,
}

/// How `tlgen diff` prints the diff.
#[derive(ValueEnum, Debug, Clone, Copy)]
enum Format {
    /// Readable text.
    Text,
    /// Markdown, for a pull-request body.
    Markdown,
    /// JSON, for tools.
    Json,
}

/// When `tlgen diff` exits with status 1.
#[derive(ValueEnum, Debug, Clone, Copy)]
enum FailOn {
    /// Any source-breaking change.
    Breaking,
    /// Any wire-incompatible change.
    Wire,
    /// Any change at all.
    Any,
    /// Never.
    Never,
}

#[cfg(feature = "fetch")]
#[derive(clap::Args, Debug)]
struct FetchArgs {
    /// Where to write the schema.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// `tdesktop` (Telegram Desktop's api.tl), `tdlib` (TDLib's telegram_api.tl and the layer
    /// from its Version.h), or the http(s) URL of a schema.
    #[arg(long, value_name = "tdesktop|tdlib|URL", default_value = "tdesktop")]
    source: String,
    /// The git branch, tag or commit to fetch (default: `dev` for tdesktop, `master` for tdlib).
    #[arg(long = "ref", value_name = "GIT_REF")]
    git_ref: Option<String>,
    /// Also read this schema and say whether the fetched one has a newer layer.
    #[arg(long, value_name = "OLD.tl")]
    compare: Option<PathBuf>,
    /// Base URL replacing raw.githubusercontent.com for the tdesktop and tdlib sources, for
    /// mirrors and tests (default: the TLGEN_FETCH_BASE_URL environment variable, if set).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// The layer, when the schema does not say it (or to override it).
    #[arg(long, value_name = "N")]
    layer: Option<i32>,
    /// Seconds allowed for each download, connection included.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    timeout: u64,
}

/// Done.
const OK: u8 = 0;
/// Done, and found what the command looks for.
const FINDING: u8 = 1;
/// Could not do the job.
const FAILED: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(match cli.command {
        Some(Command::Generate(args)) => generate(args),
        Some(Command::Check(args)) => check(&args),
        Some(Command::Diff(args)) => diff(&args),
        #[cfg(feature = "fetch")]
        Some(Command::Fetch(args)) => fetch(args),
        None => generate(cli.generate),
    })
}

/// Prints `error: <message>` on stderr.
fn error(message: impl Display) {
    eprintln!("error: {message}");
}

/// Prints the diagnostics of a schema (warnings too unless `quiet`), each followed by a blank line.
fn print_diagnostics(diagnostics: &[Diagnostic], quiet: bool) {
    for d in diagnostics {
        if !quiet || d.severity == Severity::Error {
            eprintln!("{d}\n");
        }
    }
}

/// `1 error`, `2 errors`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// How many errors the diagnostics hold: `1 error`, `2 errors`.
fn count_errors(diagnostics: &[Diagnostic]) -> String {
    let n = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    count(n, "error")
}

/// Refuses an output directory that is a file, or that lies under one.
fn check_out_dir(out: &Path) -> Result<(), String> {
    let existing = out.ancestors().find(|p| p.exists());
    match existing {
        Some(p) if !p.is_dir() => Err(if p == out {
            format!("--out {} is a file, not a directory", out.display())
        } else {
            format!(
                "--out {}: {} is a file, not a directory",
                out.display(),
                p.display()
            )
        }),
        _ => Ok(()),
    }
}

fn generate(args: GenerateArgs) -> u8 {
    let (Some(schema), Some(out)) = (args.schema, args.out) else {
        error("--schema and --out are required");
        return FAILED;
    };
    if let Err(e) = check_out_dir(&out) {
        error(e);
        return FAILED;
    }
    if args.lang != "rust" && (args.module_path.is_some() || args.runtime_path.is_some()) {
        error("--module-path and --runtime-path are for Rust output (--lang rust)");
        return FAILED;
    }
    let config = tlgen::Config {
        schema,
        out,
        layer: args.layer,
        check: args.check,
        module_path: args.module_path,
        runtime_path: args.runtime_path,
        lang: match args.lang.parse() {
            Ok(lang) => lang,
            Err(e) => {
                error(e);
                return FAILED;
            }
        },
    };
    let report = match tlgen::generate(&config) {
        Ok(r) => r,
        Err(tlgen::Error::Schema(diagnostics)) => {
            print_diagnostics(&diagnostics, args.quiet);
            eprintln!(
                "{} in {}; nothing was written",
                count_errors(&diagnostics),
                config.schema.display()
            );
            return FINDING;
        }
        Err(e) => {
            error(e);
            return FAILED;
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
        if changed.is_empty() && !args.quiet {
            println!(
                "up to date: {} files in {}",
                report.changes.len(),
                config.out.display()
            );
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
        return FINDING;
    }
    OK
}

fn check(args: &CheckArgs) -> u8 {
    let text = match std::fs::read_to_string(&args.schema) {
        Ok(t) => t,
        Err(e) => {
            error(format_args!("cannot read {}: {e}", args.schema.display()));
            return FAILED;
        }
    };
    let (schema, diagnostics) = tlgen::check(&args.schema.to_string_lossy(), &text);
    print_diagnostics(&diagnostics, args.quiet);
    match schema {
        Some(s) => {
            if !args.quiet {
                let layer = s.layer.map_or_else(String::new, |l| format!(", layer {l}"));
                println!(
                    "ok: {}, {}, {}{layer} in {}",
                    count(s.constructors.len(), "constructor"),
                    count(s.functions.len(), "function"),
                    count(s.types.len(), "type"),
                    args.schema.display()
                );
            }
            OK
        }
        None => {
            eprintln!(
                "{} in {}",
                count_errors(&diagnostics),
                args.schema.display()
            );
            FINDING
        }
    }
}

/// Prints why a schema could not be loaded for a comparison.
fn print_load_error(e: &tlgen::diff::DiffError, what: &str) {
    match e {
        tlgen::diff::DiffError::Schema { path, diagnostics } => {
            print_diagnostics(diagnostics, true);
            eprintln!(
                "{} in {}; nothing was {what}",
                count_errors(diagnostics),
                path.display()
            );
        }
        other => error(other),
    }
}

fn diff(args: &DiffArgs) -> u8 {
    use tlgen::diff;
    let loaded = diff::load(&args.old, args.layer_old)
        .and_then(|o| Ok((o, diff::load(&args.new, args.layer_new)?)));
    let (old, new) = match loaded {
        Ok(pair) => pair,
        Err(e) => {
            print_load_error(&e, "compared");
            return FAILED;
        }
    };
    let d = diff::diff(
        &args.old.to_string_lossy(),
        &old,
        &args.new.to_string_lossy(),
        &new,
    );
    let format = match args.format {
        Format::Text => diff::Format::Text,
        Format::Markdown => diff::Format::Markdown,
        Format::Json => diff::Format::Json,
    };
    let fail_on = match args.fail_on {
        FailOn::Breaking => diff::FailOn::Breaking,
        FailOn::Wire => diff::FailOn::Wire,
        FailOn::Any => diff::FailOn::Any,
        FailOn::Never => diff::FailOn::Never,
    };
    // A closed pipe (`tlgen diff ... | head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), d.render(format).as_bytes());
    if d.fails(fail_on) {
        FINDING
    } else {
        OK
    }
}

#[cfg(feature = "fetch")]
fn fetch(args: FetchArgs) -> u8 {
    use tlgen::fetch::{FetchError, FetchOptions};
    let options = FetchOptions {
        out: args.out,
        source: args.source,
        git_ref: args.git_ref,
        compare: args.compare,
        base_url: args.base_url,
        layer: args.layer,
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    match tlgen::fetch::execute(&options) {
        Ok(report) => {
            for line in report.lines() {
                println!("{line}");
            }
            OK
        }
        Err(FetchError::Compare(tlgen::diff::DiffError::Schema { path, diagnostics })) => {
            print_diagnostics(&diagnostics, true);
            eprintln!(
                "{} in --compare {}; nothing was fetched",
                count_errors(&diagnostics),
                path.display()
            );
            FAILED
        }
        Err(FetchError::Schema { url, diagnostics }) => {
            let errors: Vec<Diagnostic> = diagnostics
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .collect();
            print_diagnostics(&errors[..errors.len().min(20)], true);
            if errors.len() > 20 {
                eprintln!("... and {} more\n", errors.len() - 20);
            }
            eprintln!(
                "the schema from {url} does not parse: {}; nothing was written",
                count_errors(&errors)
            );
            FAILED
        }
        Err(e) => {
            error(e);
            FAILED
        }
    }
}
