//! Generation of the Telegram API (`../shared/schemas/telegram/api.tl`, layer 228) by stage:
//! parse + IR, the whole in-memory pipeline (parse, IR, view model, templates, syn +
//! prettyplease on all cores), and the same plus writing to a directory, and `tlgen diff` on two
//! full layers.

use criterion::{criterion_group, criterion_main, Criterion};

// The allocator of the `tlgen` binary (the `mimalloc` feature, on by default), so that these
// figures are the command line's. `--no-default-features --features cli,fetch` measures the
// library under the system allocator, as a build.rs runs it.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn shared(rel: &str) -> Option<String> {
    let path = std::path::Path::new(env!("TLGEN_SHARED_DIR")).join(rel);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!("skipping: {} is missing", path.display());
            None
        }
    }
}

fn generate(c: &mut Criterion) {
    let Some(api) = shared("schemas/telegram/api.tl") else {
        return;
    };
    let mut group = c.benchmark_group("generate_api_tl");
    group.sample_size(20);
    group.bench_function("parse_and_ir", |b| {
        b.iter(|| tlgen::check("api.tl", &api).0.unwrap())
    });
    group.bench_function("in_memory", |b| {
        b.iter(|| tlgen::generate_source("api.tl", &api, Some(228)).unwrap())
    });
    let out = tempfile::tempdir().unwrap();
    let schema = out.path().join("api.tl");
    std::fs::write(&schema, &api).unwrap();
    let config = tlgen::Config {
        schema,
        out: out.path().join("src"),
        layer: Some(228),
        check: false,
        module_path: None,
        runtime_path: None,
        lang: tlgen::lang::Lang::Rust,
    };
    group.bench_function("to_disk_unchanged", |b| {
        b.iter(|| tlgen::generate(&config).unwrap())
    });
    group.finish();

    let Some(old) = shared("schemas/layers/layer-227.tl") else {
        return;
    };
    c.bench_function("diff_227_228", |b| {
        b.iter(|| {
            let (a, _) = tlgen::check("layer-227.tl", &old);
            let (n, _) = tlgen::check("api.tl", &api);
            tlgen::diff::diff("layer-227.tl", &a.unwrap(), "api.tl", &n.unwrap()).to_text()
        })
    });
}

criterion_group!(benches, generate);
criterion_main!(benches);
