//! Schema diff: what changed between two layers, classified for users of the generated Rust.

/// Arguments of `tlgen diff`.
#[derive(clap::Args, Debug, Clone)]
pub struct DiffArgs {
    /// The older schema.
    pub old: std::path::PathBuf,
    /// The newer schema.
    pub new: std::path::PathBuf,
}

/// Runs `tlgen diff`; returns the process exit code.
pub fn run(_args: &DiffArgs) -> u8 {
    eprintln!("tlgen diff is not implemented yet");
    2
}
