//! Schema download: fetches an official schema, checks that it parses, and writes it with a provenance header.

/// Arguments of `tlgen fetch`.
#[derive(clap::Args, Debug, Clone)]
pub struct FetchArgs {
    /// Where to write the schema.
    #[arg(long)]
    pub out: std::path::PathBuf,
}

/// Runs `tlgen fetch`; returns the process exit code.
pub fn run(_args: &FetchArgs) -> u8 {
    eprintln!("tlgen fetch is not implemented yet");
    2
}
