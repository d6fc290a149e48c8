fn main() {
    for f in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&f).unwrap();
        let t = std::time::Instant::now();
        let (s, d) = tlgen::check(&f, &text);
        println!("== {f}: ok={} diags={} {:?}", s.is_some(), d.len(), t.elapsed());
        if let Some(s) = &s { println!("   ctors={} fns={} types={} layer={:?}", s.constructors.len(), s.functions.len(), s.types.len(), s.layer); }
        for x in d.iter().take(12) { println!("{x}"); }
    }
}
