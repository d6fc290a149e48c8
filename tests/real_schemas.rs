//! The reference schemas in ../shared/schemas: each generates, and every explicit id follows the CRC32 rule.

mod common;

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn every_shared_schema_generates_without_error() {
    let schemas = common::shared_schemas();
    for path in &schemas {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.to_string_lossy();
        let layer = name.ends_with("telegram/api.tl").then_some(228);
        match tlgen::generate_source(&name, &text, layer) {
            Ok(g) => assert!(g.files.len() >= 4, "{name}: too few files"),
            Err(e) => panic!("{name} does not generate:\n{e}"),
        }
    }
    if !schemas.is_empty() {
        assert!(
            schemas.len() >= 18,
            "expected the 18 reference schemas, found {}",
            schemas.len()
        );
    }
}

/// Every line with an explicit `#id` whose id is not the CRC32 of its normalized line must be
/// one of the listed legacy exceptions (`tlgen::ids::LEGACY_IDS`); those are not warned about.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn explicit_ids_follow_the_crc32_rule() {
    let mut checked = 0;
    for path in common::shared_schemas() {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.to_string_lossy();
        let (schema, diags) = tlgen::check(&name, &text);
        let schema = schema.unwrap_or_else(|| panic!("{name} has errors"));
        let mismatches: Vec<String> = diags
            .iter()
            .filter(|d| d.message.contains("differs from the computed"))
            .map(|d| d.to_string())
            .collect();
        assert!(mismatches.is_empty(), "{name}:\n{}", mismatches.join("\n"));
        checked += schema.definitions().filter(|d| d.explicit_id).count();
    }
    if checked > 0 {
        // 18 files, 25,275 explicit ids (counted with tlgen::check over ../shared/schemas).
        assert!(checked > 25_000, "only {checked} explicit ids checked");
    }
}

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn the_mtproto_schema_with_a_missing_result_type_only_warns() {
    let Some(path) = common::shared("schemas/mtproto/mt.tl") else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let (schema, diags) = tlgen::check("mt.tl", &text);
    assert!(schema.is_some());
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(diags[0].message.contains("HttpWait"));
}
