//! The module tree: which generated file holds which items, and the view of each file.

use std::collections::BTreeMap;

use super::build::{id_hex, Builder};
use super::parallel::{join, parallel_map};
use super::view::{EnumView, FileView, RootView, StructView};
use super::{RenderError, RenderOptions};
use crate::ir::{Definition, Name, Schema, Section};
use crate::lang::rust::{self, Naming};
use crate::shapes::Shapes;

/// Module tree of one root (`types`, `enums`, `functions`): namespace path → items.
struct Tree<T> {
    nodes: BTreeMap<Vec<String>, Vec<T>>,
}

impl<T> Tree<T> {
    fn new() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(Vec::new(), Vec::new());
        Self { nodes }
    }

    fn add(&mut self, path: Vec<String>, item: T) {
        for i in 1..path.len() {
            self.nodes.entry(path[..i].to_vec()).or_default();
        }
        self.nodes.entry(path).or_default().push(item);
    }

    fn children(&self, path: &[String]) -> Vec<String> {
        self.nodes
            .keys()
            .filter(|k| k.len() == path.len() + 1 && k.starts_with(path))
            .map(|k| k[path.len()].clone())
            .collect()
    }
}

fn file_path(root: &str, path: &[String]) -> String {
    let plain: Vec<&str> = path.iter().map(|p| p.trim_start_matches("r#")).collect();
    if plain.is_empty() {
        format!("{root}/mod.rs")
    } else {
        format!("{root}/{}.rs", plain.join("/"))
    }
}

/// Builds the views of every file.
pub fn views(
    schema: &Schema,
    opts: &RenderOptions,
) -> Result<Vec<(String, FileView)>, RenderError> {
    let (naming, shapes) = std::thread::scope(|scope| {
        let shapes = scope.spawn(|| Shapes::new(schema));
        let naming = Naming::new(schema, &opts.module_path);
        (naming, join(shapes))
    });
    let b = Builder {
        schema,
        naming,
        shapes,
    };
    let uses = if b.naming.prefix.is_empty() {
        opts.module_path.clone()
    } else {
        String::new()
    };
    let mut files = Vec::new();
    let mut types: Tree<StructView> = Tree::new();
    let mut functions: Tree<StructView> = Tree::new();
    let mut enums: Tree<EnumView> = Tree::new();
    let definitions: Vec<&Definition> = schema.definitions().collect();
    let type_names: Vec<&Name> = schema.types.keys().collect();
    let (structs, enum_views) = std::thread::scope(|scope| {
        let enum_views = scope.spawn(|| {
            type_names
                .iter()
                .map(|name| b.enum_view(name))
                .collect::<Vec<_>>()
        });
        let structs = parallel_map(&definitions, |d| b.struct_view(d));
        (structs, join(enum_views))
    });
    for (d, view) in definitions.iter().zip(structs) {
        let tree = match d.section {
            Section::Types => &mut types,
            Section::Functions => &mut functions,
        };
        tree.add(rust::module_path(&d.name.namespace), view?);
    }
    for (name, view) in type_names.iter().zip(enum_views) {
        enums.add(rust::module_path(&name.namespace), view?);
    }
    let describe = |root: &str, path: &[String]| -> String {
        let what = match root {
            "types" => "Constructors: one struct per TL constructor",
            "enums" => "Boxed types: one enum per TL type, a variant per constructor",
            _ => "Functions: one struct per TL function, with its typed result",
        };
        if path.is_empty() {
            format!("{what}.")
        } else {
            format!("{what}, namespace `{}`.", path.join(".").replace("r#", ""))
        }
    };
    for (root, tree) in [("types", types), ("functions", functions)] {
        let children: BTreeMap<Vec<String>, Vec<String>> = tree
            .nodes
            .keys()
            .map(|k| (k.clone(), tree.children(k)))
            .collect();
        for (path, structs) in tree.nodes {
            files.push((
                "module.rs.tera".to_string(),
                FileView {
                    path: file_path(root, &path),
                    doc: describe(root, &path),
                    modules: children.get(&path).cloned().unwrap_or_default(),
                    uses: uses.clone(),
                    runtime: opts.runtime_path.clone(),
                    structs,
                    enums: Vec::new(),
                    root: None,
                },
            ));
        }
    }
    let children: BTreeMap<Vec<String>, Vec<String>> = enums
        .nodes
        .keys()
        .map(|k| (k.clone(), enums.children(k)))
        .collect();
    for (path, items) in enums.nodes {
        files.push((
            "module.rs.tera".to_string(),
            FileView {
                path: file_path("enums", &path),
                doc: describe("enums", &path),
                modules: children.get(&path).cloned().unwrap_or_default(),
                uses: uses.clone(),
                runtime: opts.runtime_path.clone(),
                structs: Vec::new(),
                enums: items,
                root: None,
            },
        ));
    }
    let mut names: Vec<(u32, String)> = schema
        .definitions()
        .map(|d| (d.id, d.name.full()))
        .collect();
    names.sort();
    files.push((
        "root.rs.tera".to_string(),
        FileView {
            // The crate root, or the `mod.rs` of a tree mounted as a module.
            path: if opts.module_path == "crate" {
                "lib.rs"
            } else {
                "mod.rs"
            }
            .into(),
            doc: String::new(),
            modules: vec!["enums".into(), "functions".into(), "types".into()],
            uses: String::new(),
            runtime: opts.runtime_path.clone(),
            structs: Vec::new(),
            enums: Vec::new(),
            root: Some(RootView {
                layer: opts.layer,
                schema_file: opts.schema_file.clone(),
                names: names.into_iter().map(|(id, n)| (id_hex(id), n)).collect(),
                runtime_api: rust::RUNTIME_API,
            }),
        },
    ));
    files.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// A namespace module named `types` or `enums` would clash with the imports of those roots:
    /// items are then named by their full paths, and nothing is imported.
    #[test]
    fn a_namespace_named_like_an_imported_root_keeps_full_paths() {
        let text =
            "types.point#1 x:int = types.Point;\nline#2 a:types.Point b:%types.point = Line;\n";
        let out = crate::generate_source("t.tl", text, Some(1)).unwrap();
        let types = out
            .files
            .iter()
            .find(|f| f.path == Path::new("types/mod.rs"))
            .unwrap();
        assert!(!types.contents.contains("use crate::{enums, types}"));
        assert!(types
            .contents
            .contains("pub a: crate::enums::types::Point,"));
        assert!(types
            .contents
            .contains("tlw::BareOf<crate::types::types::Point>"));
        let plain = crate::generate_source("t.tl", "point#1 x:int = Point;\n", Some(1)).unwrap();
        assert!(plain
            .files
            .iter()
            .all(|f| f.path == Path::new("lib.rs")
                || f.contents.contains("use crate::{enums, types};")));
    }
}
