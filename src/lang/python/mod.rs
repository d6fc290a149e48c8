//! Python naming and codec rules: identifiers (PEP 8, keywords and clashes escaped), type hints,
//! module paths, and the expressions that read and write one value, for the Python templates.

use std::collections::BTreeMap;

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::ir::{Name, Schema, Ty};

/// Python's keywords: never identifiers as they are.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Names a field, parameter or module may not take as they are, in a generated class or
/// module: `self` (the methods' first parameter), the builtins the type hints name (a field
/// called `bytes` would shadow the type in the class body), the modules every file imports,
/// and the class members every constructor has.
const RESERVED: &[&str] = &[
    "self",
    "int",
    "float",
    "str",
    "bytes",
    "bool",
    "list",
    "object",
    "base",
    "types",
    "functions",
    "to_bytes",
    "from_bytes",
    "read_result",
    "CONSTRUCTOR_ID",
    "TL_NAME",
];

/// The module the package imports its codec under, and its file.
pub const CODEC: &str = "_tl";

/// Makes `word` usable as a field, parameter or module name: a keyword or a reserved name gets
/// a `_` suffix (`from_`, `self_`, `bytes_`), a leading digit a `_` prefix.
pub fn escape(word: &str) -> String {
    if KEYWORDS.contains(&word) || RESERVED.contains(&word) {
        format!("{word}_")
    } else if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{word}")
    } else {
        word.to_string()
    }
}

/// A field or module name: snake case, escaped.
pub fn snake(word: &str) -> String {
    escape(&word.to_snake_case())
}

/// A class or alias name: upper camel case; a keyword (`None`) gets a `_` suffix.
pub fn camel(word: &str) -> String {
    let name = word.to_upper_camel_case();
    if KEYWORDS.contains(&name.as_str()) {
        format!("{name}_")
    } else if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("T{name}")
    } else {
        name
    }
}

/// The module path of a namespace (`e2e.chain` → `e2e`, `chain`).
pub fn module_path(namespace: &Option<String>) -> Vec<String> {
    namespace
        .as_deref()
        .map(|ns| ns.split('.').map(snake).collect())
        .unwrap_or_default()
}

/// The name of a type variable for TL type parameter `name` (private to its module).
pub fn type_var(name: &str) -> String {
    format!("_G_{}", name.to_upper_camel_case())
}

/// The module-level variable that holds the table of boxed type `name`.
pub fn table_var(name: &Name) -> String {
    format!("_B_{}", name.full().replace('.', "__"))
}

/// The names of a schema's items in Python: a constructor's class (`types`), a function's class
/// (`functions`) and a boxed type's alias (`base`), unique within their module (a clash gets the
/// id as a suffix).
pub struct Naming {
    /// Constructor classes.
    pub ctor: BTreeMap<Name, String>,
    /// Function classes.
    pub func: BTreeMap<Name, String>,
    /// Boxed type aliases.
    pub ty: BTreeMap<Name, String>,
}

impl Naming {
    /// Names every item of `schema`.
    pub fn new(schema: &Schema) -> Self {
        fn assign<'a>(items: impl Iterator<Item = (&'a Name, u32)>) -> BTreeMap<Name, String> {
            let items: Vec<_> = items.collect();
            let mut taken: BTreeMap<(Vec<String>, String), usize> = BTreeMap::new();
            for (name, _) in &items {
                *taken
                    .entry((module_path(&name.namespace), camel(&name.name)))
                    .or_default() += 1;
            }
            items
                .into_iter()
                .map(|(name, id)| {
                    let base = camel(&name.name);
                    let key = (module_path(&name.namespace), base.clone());
                    let n = if taken.get(&key).is_some_and(|&n| n > 1) {
                        format!("{base}{id:08x}")
                    } else {
                        base
                    };
                    (name.clone(), n)
                })
                .collect()
        }
        Self {
            ctor: assign(schema.constructors.iter().map(|d| (&d.name, d.id))),
            func: assign(schema.functions.iter().map(|d| (&d.name, d.id))),
            ty: assign((schema.types.keys()).map(|n| (n, crc32fast::hash(n.full().as_bytes())))),
        }
    }

    /// The name of the reader function of boxed type `name` in its `base` module
    /// (`read_input_peer`).
    pub fn reader(&self, name: &Name) -> String {
        let alias = self
            .ty
            .get(name)
            .cloned()
            .unwrap_or_else(|| camel(&name.name));
        format!("read_{}", alias.to_snake_case())
    }

    /// How an item is named from module `here` (root and namespace path, `["types",
    /// "messages"]`): by its name alone in its own module, else through its root
    /// (`base.messages.Messages`).
    fn item(&self, here: &[String], root: &str, name: &Name, item: &str) -> String {
        let mut path = vec![root.to_string()];
        path.extend(module_path(&name.namespace));
        if path == here {
            item.to_string()
        } else {
            path.push(item.to_string());
            path.join(".")
        }
    }

    fn ctor_name(&self, c: &Name) -> String {
        self.ctor.get(c).cloned().unwrap_or_else(|| camel(&c.name))
    }

    fn type_name(&self, t: &Name) -> String {
        self.ty.get(t).cloned().unwrap_or_else(|| camel(&t.name))
    }

    /// The class of constructor `c`, named from module `here`.
    pub fn ctor_ref(&self, here: &[String], c: &Name) -> String {
        self.item(here, "types", c, &self.ctor_name(c))
    }

    /// The type hint of a value of `t`, named from module `here`.
    pub fn hint(&self, here: &[String], t: &Ty) -> String {
        match t {
            Ty::Int | Ty::Long | Ty::Nat | Ty::Int128 | Ty::Int256 | Ty::Int512 => "int".into(),
            Ty::Double => "float".into(),
            Ty::String => "str".into(),
            Ty::Bytes | Ty::Object => "bytes".into(),
            Ty::Bool | Ty::True => "bool".into(),
            Ty::Vector { item, .. } => format!("list[{}]", self.hint(here, item)),
            Ty::Boxed { name } => self.item(here, "base", name, &self.type_name(name)),
            Ty::Bare { constructor } => self.ctor_ref(here, constructor),
            Ty::Generic { name } => format!("{CODEC}.TLRequest[{}]", type_var(name)),
        }
    }

    /// A callable `(reader, depth) -> value` that reads one value of `t` (for vectors and
    /// results).
    pub fn item_reader(&self, here: &[String], t: &Ty) -> String {
        match t {
            Ty::Vector { boxed, item } => format!(
                "lambda r, d: {CODEC}.read_vector(r, d, {}, {})",
                py_bool(*boxed),
                self.item_reader(here, item)
            ),
            Ty::Boxed { name } => format!("{}.read", table_var(name)),
            Ty::Bare { constructor } => format!("{}._read", self.ctor_ref(here, constructor)),
            Ty::Generic { .. } => format!("{CODEC}.FUNCTIONS.read"),
            prim => format!("{CODEC}.read_{}", primitive(prim)),
        }
    }

    /// An expression that reads one value of `t` from reader `r` at depth `d`; `heap` when the
    /// value is a bare constructor on a cycle of types (one level deeper).
    pub fn read_expr(&self, here: &[String], t: &Ty, heap: bool) -> String {
        match t {
            Ty::Vector { boxed, item } => format!(
                "{CODEC}.read_vector(r, d, {}, {})",
                py_bool(*boxed),
                self.item_reader(here, item)
            ),
            Ty::Bare { constructor } if heap => format!(
                "{}._read(r, {CODEC}.deeper(r, d))",
                self.ctor_ref(here, constructor)
            ),
            _ => format!("{}(r, d)", self.item_reader(here, t)),
        }
    }

    /// A callable `(out, value)` that writes one value of `t` (for vectors).
    pub fn item_writer(&self, t: &Ty) -> String {
        match t {
            Ty::Vector { boxed, item } => format!(
                "lambda out, v: {CODEC}.write_vector(out, v, {}, {})",
                py_bool(*boxed),
                self.item_writer(item)
            ),
            Ty::Boxed { .. } | Ty::Generic { .. } => format!("{CODEC}.write_boxed"),
            Ty::Bare { .. } => "lambda out, v: v._write_bare(out)".to_string(),
            prim => format!("{CODEC}.write_{}", primitive(prim)),
        }
    }

    /// A statement that writes `value` (an expression) of type `t` to `out`.
    pub fn write_stmt(&self, t: &Ty, value: &str) -> String {
        match t {
            Ty::Boxed { .. } | Ty::Generic { .. } => format!("{value}._write(out)"),
            Ty::Bare { .. } => format!("{value}._write_bare(out)"),
            Ty::Vector { boxed, item }
                if matches!(**item, Ty::Boxed { .. } | Ty::Generic { .. }) =>
            {
                format!("{CODEC}.write_objects(out, {value}, {})", py_bool(*boxed))
            }
            Ty::Vector { boxed, item } => format!(
                "{CODEC}.write_vector(out, {value}, {}, {})",
                py_bool(*boxed),
                self.item_writer(item)
            ),
            _ => format!("{}(out, {value})", self.item_writer(t)),
        }
    }
}

/// The `struct` format character and size of a value read or written as a fixed-size number
/// (`int`, `long`, `double`, `#`), if it is one.
pub fn fixed(t: &Ty) -> Option<(char, u32)> {
    match t {
        Ty::Int => Some(('i', 4)),
        Ty::Long => Some(('q', 8)),
        Ty::Double => Some(('d', 8)),
        Ty::Nat => Some(('I', 4)),
        _ => None,
    }
}

/// How many bytes a value of `t` takes on the wire when that is fixed, else 0.
pub fn wire_size(t: &Ty) -> u32 {
    match t {
        Ty::Int | Ty::Nat | Ty::Bool => 4,
        Ty::Long | Ty::Double => 8,
        Ty::Int128 => 16,
        Ty::Int256 => 32,
        Ty::Int512 => 64,
        _ => 0,
    }
}

/// The codec's name for a primitive type (`read_int`, `write_string`).
fn primitive(t: &Ty) -> &'static str {
    match t {
        Ty::Int => "int",
        Ty::Long => "long",
        Ty::Double => "double",
        Ty::Nat => "nat",
        Ty::String => "string",
        Ty::Bytes => "bytes",
        Ty::Int128 => "int128",
        Ty::Int256 => "int256",
        Ty::Int512 => "int512",
        Ty::Bool | Ty::True => "bool",
        _ => "object",
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Escapes text for a Python docstring: no backslash escapes, no closing quotes.
pub fn doc_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.replace("\"\"\"", "\"\\\"\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_builtins_and_members_are_escaped() {
        assert_eq!(snake("from"), "from_");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("bytes"), "bytes_");
        assert_eq!(snake("to_bytes"), "to_bytes_");
        assert_eq!(snake("type"), "type");
        assert_eq!(snake("hash"), "hash");
        assert_eq!(snake("bob_ephemeral_PK"), "bob_ephemeral_pk");
        assert_eq!(camel("none"), "None_");
        assert_eq!(camel("P_Q_inner_data"), "PQInnerData");
        assert_eq!(module_path(&Some("e2e.chain".into())), vec!["e2e", "chain"]);
        assert_eq!(module_path(&Some("types".into())), vec!["types_"]);
        assert_eq!(doc_text("a\\b \"\"\" c"), "a\\\\b \"\\\"\" c");
    }
}
