//! The Python target: the view of each file of the package (names, hints and codec steps by
//! [`crate::lang::python`]'s rules, shapes by [`crate::shapes`]) and its rendering through
//! `templates/python/`. The templates emit formatted code, so there is no formatter stage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::text::{field_doc, wrap_width};
use super::{OutputFile, RenderError, RenderOptions, RenderTimings};
use crate::ir::{Definition, FieldKind, Name, Schema, Section, Ty};
use crate::lang::python::{self as py, doc_text, Naming};
use crate::shapes::Shapes;

/// The Python templates, built into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "macros.tera",
        include_str!("../../templates/python/macros.tera"),
    ),
    (
        "tl.py.tera",
        include_str!("../../templates/python/tl.py.tera"),
    ),
    (
        "module.py.tera",
        include_str!("../../templates/python/module.py.tera"),
    ),
    (
        "base.py.tera",
        include_str!("../../templates/python/base.py.tera"),
    ),
    (
        "root.py.tera",
        include_str!("../../templates/python/root.py.tera"),
    ),
];

/// How wide generated lines may get before a list is put one item a line.
const WIDTH: usize = 99;

/// One file of the package.
#[derive(Debug, Serialize)]
struct ModuleView {
    path: String,
    doc: String,
    /// The relative import prefix of the package root (`..`).
    dots: String,
    /// Submodules (namespace modules) imported by this one.
    modules: Vec<String>,
    /// The import of the submodules takes a line each.
    modules_wrap: bool,
    /// Roots imported when the module runs (`types`, `base`); the others only for type checking.
    runtime: Vec<String>,
    checking: Vec<String>,
    classes: Vec<ClassView>,
    aliases: Vec<AliasView>,
    packers: Vec<String>,
    unpackers: Vec<String>,
    tables: Vec<TableView>,
    generics: Vec<String>,
    uses_struct: bool,
}

#[derive(Debug, Serialize)]
struct TableView {
    /// The declaration does not fit on one line.
    wrap: bool,
    var: String,
    tl_name: String,
    hint: String,
}

#[derive(Debug, Serialize)]
struct AliasView {
    name: String,
    tl_name: String,
    reader: String,
    table: String,
    doc: Vec<String>,
    members: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ClassView {
    name: String,
    tl_name: String,
    id: String,
    /// The docstring's lines: the description, then the TL definition as a literal block.
    docstring: Vec<String>,
    base: String,
    /// Type parameters as written after the name (`[_G_X]`), or empty.
    gparams: String,
    function: bool,
    fields: Vec<FieldView>,
    /// `__slots__` on one line (`("a", "b")`), or `(` when they take several lines (`slots`).
    slots_inline: String,
    slots: Vec<String>,
    names: Vec<String>,
    sizes: Vec<String>,
    read: Vec<ReadStep>,
    uses_buf: bool,
    fixed_reads: bool,
    write: Vec<WriteStep>,
    has_bare: bool,
    write_bare: Vec<WriteStep>,
    register: String,
    returns: String,
    result_reader: String,
    /// The result's decode does not fit on one line.
    result_wrap: bool,
    /// The field holding the wrapped query, for a generic function (`invokeWithLayer`).
    query: String,
}

#[derive(Debug, Serialize)]
struct FieldView {
    name: String,
    hint: String,
    default: String,
    doc: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ReadStep {
    kind: &'static str,
    /// A value step's call split for a line of its own: `expr` is then the callee and `(`,
    /// `args` the arguments.
    split: bool,
    args: String,
    at: usize,
    targets: Vec<String>,
    wrap: bool,
    fmt: String,
    size: u32,
    cond: String,
    expr: String,
}

#[derive(Debug, Serialize)]
struct WriteStep {
    kind: &'static str,
    word: String,
    terms: Vec<String>,
    fmt: String,
    args: Vec<String>,
    wrap: bool,
    value: String,
    stmt: String,
}

#[derive(Debug, Serialize)]
struct RootView {
    schema_file: String,
    layer: Option<i32>,
    names: Vec<(String, String)>,
}

/// Where a file's items are named from (`["types", "messages"]`) and what it needs.
struct Module {
    here: Vec<String>,
    packers: BTreeSet<String>,
    unpackers: BTreeSet<String>,
    tables: BTreeSet<Name>,
    generics: BTreeSet<String>,
    runtime_types: bool,
}

impl Module {
    fn new(here: Vec<String>) -> Self {
        Self {
            here,
            packers: BTreeSet::new(),
            unpackers: BTreeSet::new(),
            tables: BTreeSet::new(),
            generics: BTreeSet::new(),
            runtime_types: false,
        }
    }

    /// Notes what reading or writing a value of `t` needs: tables of boxed types, classes of
    /// other modules.
    fn note(&mut self, t: &Ty) {
        match t {
            Ty::Vector { item, .. } => self.note(item),
            Ty::Boxed { name } => {
                self.tables.insert(name.clone());
            }
            Ty::Bare { constructor } => {
                let mut path = vec!["types".to_string()];
                path.extend(py::module_path(&constructor.namespace));
                if path != self.here {
                    self.runtime_types = true;
                }
            }
            Ty::Generic { name } => {
                self.generics.insert(py::type_var(name));
            }
            _ => {}
        }
    }
}

struct Builder<'a> {
    naming: Naming,
    shapes: Shapes<'a>,
    /// Constructors that some field or result uses bare: their classes get `_write_bare`.
    bare: BTreeSet<Name>,
}

fn collect_bare(t: &Ty, into: &mut BTreeSet<Name>) {
    match t {
        Ty::Bare { constructor } => {
            into.insert(constructor.clone());
        }
        Ty::Vector { item, .. } => collect_bare(item, into),
        _ => {}
    }
}

fn id_hex(id: u32) -> String {
    format!("{id:#010x}")
}

/// Prose on docstring lines that fit in [`WIDTH`] at the indentation of a class member.
fn wrap(text: &str) -> Vec<String> {
    wrap_width(text, WIDTH - 8)
}

/// A TL definition on docstring lines that fit in [`WIDTH`] inside a class's literal block
/// (12 columns in), the lines after the first indented.
fn wrap_tl(tl: &str) -> Vec<String> {
    let mut lines = wrap_width(tl, WIDTH - 16);
    for line in lines.iter_mut().skip(1) {
        line.insert_str(0, "    ");
    }
    lines
}

/// Items on lines of at most `width` characters, separated by `, ` and each line ending in a
/// comma.
fn wrap_items(items: &[String], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for item in items {
        if !line.is_empty() && line.len() + 1 + item.len() + 1 > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(item);
        line.push(',');
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

impl Builder<'_> {
    fn class_view(&self, d: &Definition, m: &mut Module) -> Result<ClassView, RenderError> {
        let function = d.section == Section::Functions;
        let tl_name = d.name.full();
        let unsupported = |message: String| RenderError::Unsupported {
            definition: tl_name.clone(),
            message,
        };
        let names = if function {
            &self.naming.func
        } else {
            &self.naming.ctor
        };
        let name = (names.get(&d.name).cloned())
            .ok_or_else(|| unsupported("it is not a definition of this schema".to_string()))?;
        if self.shapes.is_infinite(&d.name) {
            return Err(unsupported(
                "it holds itself through required bare fields alone, so no value of it is finite"
                    .to_string(),
            ));
        }
        // Field identifiers, unique within the class.
        let mut idents: Vec<String> = Vec::new();
        for f in &d.fields {
            let mut ident = py::snake(&f.name);
            while idents.contains(&ident) {
                ident.push('_');
            }
            idents.push(ident);
        }
        // Flags words by name: their number among the `#` fields.
        let words: BTreeMap<&str, usize> = (d.fields.iter())
            .filter(|f| matches!(f.kind, FieldKind::Flags))
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), i))
            .collect();
        let word_of = |flags: &str| {
            words.get(flags).map(|w| format!("w{w}")).ok_or_else(|| {
                unsupported(format!(
                    "a field names the flags word `{flags}`, which is not one of its `#` fields"
                ))
            })
        };
        let valued_bits: BTreeSet<(&str, u32)> = (d.fields.iter())
            .filter_map(|f| match &f.kind {
                FieldKind::Optional { flags, bit, .. } => Some((flags.as_str(), *bit)),
                _ => None,
            })
            .collect();
        let here = m.here.clone();
        let mut fields = Vec::new();
        let mut sizes = Vec::new();
        for (i, f) in d.fields.iter().enumerate() {
            if let FieldKind::Required { ty: Ty::True } = &f.kind {
                return Err(unsupported(format!(
                    "field `{}` of type `true` outside a flag",
                    f.name
                )));
            }
            if let Some(t) = f.kind.value_ty() {
                m.note(t);
            }
            let size = match &f.kind {
                FieldKind::Flags => 4,
                FieldKind::Required { ty } | FieldKind::Optional { ty, .. } => {
                    py::fixed(ty).map_or(0, |(_, s)| s)
                }
                FieldKind::FlagTrue { .. } => 0,
            };
            sizes.push(size.to_string());
            let stored = match &f.kind {
                FieldKind::Flags => None,
                FieldKind::FlagTrue { flags, bit } => (!valued_bits
                    .contains(&(flags.as_str(), *bit)))
                .then(|| ("bool".to_string(), "False".to_string())),
                FieldKind::Required { ty } => Some((self.naming.hint(&here, ty), String::new())),
                FieldKind::Optional { ty, .. } => Some((
                    format!("{} | None", self.naming.hint(&here, ty)),
                    "None".to_string(),
                )),
            };
            if let Some((hint, default)) = stored {
                let mut doc: Vec<String> = f.doc.iter().flat_map(|t| wrap(&doc_text(t))).collect();
                if !doc.is_empty() {
                    doc.push(String::new());
                }
                doc.extend(wrap_width(&doc_text(&field_doc(f)), WIDTH - 14));
                fields.push((
                    i,
                    FieldView {
                        name: idents[i].clone(),
                        hint,
                        default,
                        doc,
                    },
                ));
            }
        }
        let stored: BTreeSet<usize> = fields.iter().map(|(i, _)| *i).collect();

        // Reading: runs of fixed-size fields in one unpack, `?true` bits after the run that
        // reads their word, and `p` (a local) or `r.pos` as the position of record.
        let mut read: Vec<ReadStep> = Vec::new();
        let mut run: Vec<(usize, String, char, u32)> = Vec::new();
        let mut bits: Vec<ReadStep> = Vec::new();
        // Which holds the position: `p` (true) or `r.pos` (false); both at the start.
        let mut at_p: Option<bool> = None;
        let step = |kind: &'static str| ReadStep {
            kind,
            split: false,
            args: String::new(),
            at: 0,
            targets: Vec::new(),
            wrap: false,
            fmt: String::new(),
            size: 0,
            cond: String::new(),
            expr: String::new(),
        };
        let mut need = |read: &mut Vec<ReadStep>, p: bool| {
            if at_p == Some(!p) {
                read.push(step(if p { "sync_p" } else { "sync_r" }));
            }
            at_p = Some(p);
        };
        let flush = |read: &mut Vec<ReadStep>,
                     run: &mut Vec<(usize, String, char, u32)>,
                     bits: &mut Vec<ReadStep>,
                     m: &mut Module| {
            if !run.is_empty() {
                let fmt: String = run.iter().map(|r| r.2).collect();
                let targets: Vec<String> = run.iter().map(|r| r.1.clone()).collect();
                let wrap = targets.join(", ").len() + fmt.len() + 40 > WIDTH;
                m.unpackers.insert(fmt.clone());
                read.push(ReadStep {
                    at: run[0].0,
                    size: run.iter().map(|r| r.3).sum(),
                    targets,
                    wrap,
                    fmt,
                    ..step("run")
                });
                run.clear();
            }
            read.append(bits);
        };
        for (i, f) in d.fields.iter().enumerate() {
            let target = format!("o.{}", idents[i]);
            match &f.kind {
                FieldKind::Flags => {
                    if run.is_empty() {
                        need(&mut read, true);
                    }
                    run.push((i, word_of(&f.name)?, 'I', 4));
                }
                FieldKind::FlagTrue { flags, bit } => {
                    let word = word_of(flags)?;
                    if stored.contains(&i) {
                        let s = ReadStep {
                            targets: vec![target],
                            cond: format!("{word} & {}", 1u64 << bit),
                            ..step("bit")
                        };
                        if run.is_empty() {
                            read.push(s);
                        } else {
                            bits.push(s);
                        }
                    }
                }
                FieldKind::Required { ty } => {
                    if let Some((c, size)) = py::fixed(ty) {
                        if run.is_empty() {
                            need(&mut read, true);
                        }
                        run.push((i, target, c, size));
                    } else {
                        flush(&mut read, &mut run, &mut bits, m);
                        need(&mut read, false);
                        read.push(ReadStep {
                            at: i,
                            targets: vec![target],
                            expr: self
                                .naming
                                .read_expr(&here, ty, self.shapes.field_boxed(d, i)),
                            ..step("value")
                        });
                    }
                }
                FieldKind::Optional { flags, bit, ty } => {
                    flush(&mut read, &mut run, &mut bits, m);
                    let cond = format!("{} & {}", word_of(flags)?, 1u64 << bit);
                    if let Some((c, size)) = py::fixed(ty) {
                        need(&mut read, true);
                        m.unpackers.insert(c.to_string());
                        read.push(ReadStep {
                            at: i,
                            targets: vec![target],
                            fmt: c.to_string(),
                            size,
                            cond,
                            ..step("opt_fixed")
                        });
                    } else {
                        need(&mut read, false);
                        read.push(ReadStep {
                            at: i,
                            targets: vec![target],
                            cond,
                            expr: self
                                .naming
                                .read_expr(&here, ty, self.shapes.field_boxed(d, i)),
                            ..step("opt_value")
                        });
                    }
                }
            }
        }
        flush(&mut read, &mut run, &mut bits, m);
        if at_p == Some(true) {
            read.push(step("sync_r"));
        }
        // A call that would not fit goes on lines of its own.
        for s in &mut read {
            let indent = if s.kind == "opt_value" { 16 } else { 12 };
            let long = s.targets.first().map_or(0, String::len) + s.expr.len() + indent + 3 > WIDTH;
            if long && s.expr.ends_with(')') {
                if let Some(at) = s.expr.find('(') {
                    s.args = s.expr[at + 1..s.expr.len() - 1].to_string();
                    s.expr.truncate(at + 1);
                    s.split = true;
                }
            }
        }
        let uses_buf = read
            .iter()
            .any(|s| s.kind == "run" || s.kind == "opt_fixed");

        let write = self.write_steps(d, &idents, &stored, &words, Some(d.id), m)?;
        let has_bare = self.bare.contains(&d.name) && !function;
        let write_bare = if has_bare {
            self.write_steps(d, &idents, &stored, &words, None, m)?
        } else {
            Vec::new()
        };

        let generics: Vec<String> = d.generics.iter().map(|g| py::type_var(g)).collect();
        m.generics.extend(generics.iter().cloned());
        let (base, returns, result_reader, query, register) = if function {
            let (returns, reader, query) = match &d.result {
                Ty::Generic { name } => {
                    let query = d
                        .fields
                        .iter()
                        .position(|f| {
                            matches!(&f.kind, FieldKind::Required { ty: Ty::Generic { name: g } } if g == name)
                        })
                        .map(|i| idents[i].clone())
                        .ok_or_else(|| {
                            unsupported(format!(
                                "the result `{name}` is no field's type, so no query says how to read it"
                            ))
                        })?;
                    (py::type_var(name), String::new(), query)
                }
                other => {
                    m.note(other);
                    (
                        self.naming.hint(&here, other),
                        self.naming.item_reader(&here, other),
                        String::new(),
                    )
                }
            };
            (
                format!("{}.TLRequest[{returns}]", py::CODEC),
                returns,
                reader,
                query,
                format!("{}.FUNCTIONS", py::CODEC),
            )
        } else {
            let Ty::Boxed { name: ty } = &d.result else {
                return Err(unsupported("a constructor of no boxed type".to_string()));
            };
            m.tables.insert(ty.clone());
            let base = if generics.is_empty() {
                format!("{}.TLObject", py::CODEC)
            } else {
                format!(
                    "{}.TLObject, _typing.Generic[{}]",
                    py::CODEC,
                    generics.join(", ")
                )
            };
            (
                base,
                String::new(),
                String::new(),
                String::new(),
                py::table_var(ty),
            )
        };
        let mut docstring = Vec::new();
        if let Some(text) = &d.doc {
            docstring.extend(wrap(&doc_text(text)));
            docstring.push(String::new());
        }
        docstring.push("TL::".to_string());
        docstring.push(String::new());
        docstring.extend(
            wrap_tl(&doc_text(&d.tl))
                .into_iter()
                .map(|l| format!("    {l}")),
        );
        let slots: Vec<String> = fields
            .iter()
            .map(|(_, f)| format!("\"{}\"", f.name))
            .collect();
        let names: Vec<String> = d.fields.iter().map(|f| format!("\"{}\"", f.name)).collect();
        Ok(ClassView {
            name,
            id: id_hex(d.id),
            docstring,
            base,
            gparams: if generics.is_empty() {
                String::new()
            } else {
                format!("[{}]", generics.join(", "))
            },
            function,
            slots_inline: match slots.len() {
                0 => "()".to_string(),
                1 => format!("({},)", slots[0]),
                _ if slots.join(", ").len() + 20 <= WIDTH => format!("({})", slots.join(", ")),
                _ => "(".to_string(),
            },
            slots: wrap_items(&slots, WIDTH - 8),
            names: wrap_items(&names, WIDTH - 8),
            sizes: wrap_items(&sizes, WIDTH - 8),
            fields: fields.into_iter().map(|(_, f)| f).collect(),
            fixed_reads: uses_buf,
            uses_buf,
            read,
            write,
            has_bare,
            write_bare,
            register,
            returns,
            result_wrap: result_reader.len() + 34 > WIDTH,
            result_reader,
            query,
            tl_name,
        })
    }

    /// The steps that write a definition's fields, with its id first when `id` is given.
    fn write_steps(
        &self,
        d: &Definition,
        idents: &[String],
        stored: &BTreeSet<usize>,
        words: &BTreeMap<&str, usize>,
        id: Option<u32>,
        m: &mut Module,
    ) -> Result<Vec<WriteStep>, RenderError> {
        let step = |kind: &'static str| WriteStep {
            kind,
            word: String::new(),
            terms: Vec::new(),
            fmt: String::new(),
            args: Vec::new(),
            wrap: false,
            value: String::new(),
            stmt: String::new(),
        };
        let mut steps = Vec::new();
        // Optional values into locals first: the flags words and the writes both read them.
        let mut local: BTreeMap<usize, String> = BTreeMap::new();
        for (i, f) in d.fields.iter().enumerate() {
            if let FieldKind::Optional { .. } = &f.kind {
                let v = format!("v{}", local.len());
                steps.push(WriteStep {
                    word: v.clone(),
                    value: format!("self.{}", idents[i]),
                    ..step("bind")
                });
                local.insert(i, v);
            }
        }
        // Flags words, from the values that set their bits.
        for (name, w) in words {
            let mut terms = Vec::new();
            for (i, f) in d.fields.iter().enumerate() {
                let (flags, bit, present) = match &f.kind {
                    FieldKind::FlagTrue { flags, bit } if stored.contains(&i) => {
                        (flags, bit, format!("self.{}", idents[i]))
                    }
                    FieldKind::Optional { flags, bit, .. } => {
                        (flags, bit, format!("{} is not None", local[&i]))
                    }
                    _ => continue,
                };
                if flags == name {
                    terms.push(format!("({} if {present} else 0)", 1u64 << bit));
                }
            }
            steps.push(WriteStep {
                word: format!("w{w}"),
                terms,
                ..step("flags")
            });
        }
        let mut run: Vec<(char, String)> = Vec::new();
        if let Some(id) = id {
            run.push(('I', id_hex(id)));
        }
        let flush = |steps: &mut Vec<WriteStep>, run: &mut Vec<(char, String)>, m: &mut Module| {
            if run.is_empty() {
                return;
            }
            let fmt: String = run.iter().map(|r| r.0).collect();
            let args: Vec<String> = run.iter().map(|r| r.1.clone()).collect();
            let wrap = args.join(", ").len() + fmt.len() + 30 > WIDTH;
            m.packers.insert(fmt.clone());
            steps.push(WriteStep {
                fmt,
                args,
                wrap,
                ..step("run")
            });
            run.clear();
        };
        for (i, f) in d.fields.iter().enumerate() {
            let value = format!("self.{}", idents[i]);
            match &f.kind {
                FieldKind::Flags => run.push(('I', format!("w{}", words[f.name.as_str()]))),
                FieldKind::FlagTrue { .. } => {}
                FieldKind::Required { ty } => match (py::fixed(ty), ty) {
                    (Some((c, _)), _) => run.push((c, value)),
                    (None, Ty::Bool) => run.push((
                        'I',
                        format!("{0}.BOOL_TRUE if {value} else {0}.BOOL_FALSE", py::CODEC),
                    )),
                    _ => {
                        flush(&mut steps, &mut run, m);
                        steps.push(WriteStep {
                            stmt: self.naming.write_stmt(ty, &value),
                            ..step("stmt")
                        });
                    }
                },
                FieldKind::Optional { ty, .. } => {
                    flush(&mut steps, &mut run, m);
                    let v = local[&i].clone();
                    let stmt = match py::fixed(ty) {
                        Some((c, _)) => {
                            m.packers.insert(c.to_string());
                            format!("out += _pk_{c}({v})")
                        }
                        None => self.naming.write_stmt(ty, &v),
                    };
                    steps.push(WriteStep {
                        word: v,
                        stmt,
                        ..step("opt")
                    });
                }
            }
        }
        flush(&mut steps, &mut run, m);
        Ok(steps)
    }

    fn alias_view(&self, schema: &Schema, name: &Name, m: &mut Module) -> Option<AliasView> {
        let t = schema.types.get(name)?;
        let alias = self.naming.ty.get(name)?.clone();
        let members: Vec<String> = (t.constructors.iter())
            .filter(|c| schema.constructor(c).is_some())
            .map(|c| self.naming.ctor_ref(&m.here, c))
            .collect();
        m.tables.insert(name.clone());
        let mut doc = Vec::new();
        if let Some(text) = &t.doc {
            doc.extend(wrap(&doc_text(text)));
            doc.push(String::new());
        }
        doc.push(format!(
            "The boxed type ``{}``: one of its constructors.",
            doc_text(&name.full())
        ));
        Some(AliasView {
            reader: self.naming.reader(name),
            table: py::table_var(name),
            name: alias,
            tl_name: name.full(),
            doc,
            members,
        })
    }
}

/// The file of a module: `root/a/b.py`, or `root/a/b/__init__.py` when it has submodules.
fn file_path(here: &[String], package: bool) -> (String, String) {
    let path = if package || here.len() == 1 {
        format!("{}/__init__.py", here.join("/"))
    } else {
        format!("{}.py", here.join("/"))
    };
    let dirs = path.matches('/').count();
    (path, ".".repeat(dirs + 1))
}

/// Renders the Python package of `schema`.
pub(super) fn render(
    schema: &Schema,
    opts: &RenderOptions,
) -> Result<(Vec<OutputFile>, RenderTimings), RenderError> {
    let mut timings = RenderTimings::default();
    let t = Instant::now();
    let mut bare = BTreeSet::new();
    for d in schema.definitions() {
        for f in &d.fields {
            if let Some(t) = f.kind.value_ty() {
                collect_bare(t, &mut bare);
            }
        }
        collect_bare(&d.result, &mut bare);
    }
    let b = Builder {
        naming: Naming::new(schema),
        shapes: Shapes::new(schema),
        bare,
    };
    // Namespace path → items, per root; every prefix of a path is a module too.
    let mut trees: BTreeMap<&str, BTreeMap<Vec<String>, Vec<&Definition>>> = BTreeMap::new();
    let mut types: BTreeMap<Vec<String>, Vec<&Name>> = BTreeMap::new();
    for root in ["types", "functions"] {
        trees
            .entry(root)
            .or_default()
            .insert(Vec::new(), Vec::new());
    }
    types.insert(Vec::new(), Vec::new());
    for d in schema.definitions() {
        let root = match d.section {
            Section::Types => "types",
            Section::Functions => "functions",
        };
        let path = py::module_path(&d.name.namespace);
        let tree = trees.entry(root).or_default();
        for i in 1..path.len() {
            tree.entry(path[..i].to_vec()).or_default();
        }
        tree.entry(path).or_default().push(d);
    }
    for name in schema.types.keys() {
        let path = py::module_path(&name.namespace);
        for i in 1..path.len() {
            types.entry(path[..i].to_vec()).or_default();
        }
        types.entry(path).or_default().push(name);
    }
    let children = |keys: Vec<&Vec<String>>, path: &Vec<String>| -> Vec<String> {
        keys.iter()
            .filter(|k| k.len() == path.len() + 1 && k.starts_with(path))
            .map(|k| k[path.len()].clone())
            .collect()
    };
    let describe = |root: &str, path: &[String]| -> String {
        let what = match root {
            "types" => "Constructors: a class per TL constructor",
            "base" => "Boxed types: a union of constructors and a reader per TL type",
            _ => "Functions: a class per TL function, with its typed result",
        };
        if path.is_empty() {
            format!("{what}.")
        } else {
            format!("{what}, namespace ``{}``.", path.join("."))
        }
    };
    let finish = |m: Module,
                  path: &Vec<String>,
                  modules: Vec<String>,
                  classes: Vec<ClassView>,
                  aliases: Vec<AliasView>|
     -> ModuleView {
        let root = m.here[0].clone();
        let (file, dots) = file_path(&m.here, !modules.is_empty());
        let mut runtime: Vec<String> = Vec::new();
        match root.as_str() {
            "types" if m.runtime_types => runtime.push("types".into()),
            "types" => {}
            "base" => runtime.push("types".into()),
            _ => runtime.extend(["base".to_string(), "types".to_string()]),
        }
        // Only the hints of constructors name what is not imported when the module runs.
        let checking: Vec<String> = if root == "types" {
            ["base", "types"]
                .iter()
                .map(|s| s.to_string())
                .filter(|s| !runtime.contains(s))
                .collect()
        } else {
            Vec::new()
        };
        let tables = (m.tables.iter())
            .map(|n| {
                let (var, tl_name) = (py::table_var(n), n.full());
                let hint = b.naming.hint(&m.here, &Ty::Boxed { name: n.clone() });
                TableView {
                    wrap: var.len() + hint.len() + tl_name.len() + 30 > WIDTH,
                    var,
                    tl_name,
                    hint,
                }
            })
            .collect();
        ModuleView {
            path: file,
            doc: describe(&root, path),
            dots,
            modules_wrap: modules.join(", ").len() + 16 > WIDTH,
            modules,
            runtime,
            checking,
            classes,
            aliases,
            uses_struct: !m.packers.is_empty() || !m.unpackers.is_empty(),
            packers: m.packers.into_iter().collect(),
            unpackers: m.unpackers.into_iter().collect(),
            tables,
            generics: m.generics.into_iter().collect(),
        }
    };
    let mut views: Vec<(&str, ModuleView)> = Vec::new();
    for (root, tree) in &trees {
        let keys: Vec<&Vec<String>> = tree.keys().collect();
        for (path, defs) in tree {
            let mut here = vec![root.to_string()];
            here.extend(path.iter().cloned());
            let mut m = Module::new(here);
            let classes = defs
                .iter()
                .map(|d| b.class_view(d, &mut m))
                .collect::<Result<Vec<_>, _>>()?;
            let modules = children(keys.clone(), path);
            views.push((
                "module.py.tera",
                finish(m, path, modules, classes, Vec::new()),
            ));
        }
    }
    let keys: Vec<&Vec<String>> = types.keys().collect();
    for (path, names) in &types {
        let mut here = vec!["base".to_string()];
        here.extend(path.iter().cloned());
        let mut m = Module::new(here);
        let aliases = names
            .iter()
            .filter_map(|n| b.alias_view(schema, n, &mut m))
            .collect();
        let modules = children(keys.clone(), path);
        views.push((
            "base.py.tera",
            finish(m, path, modules, Vec::new(), aliases),
        ));
    }
    timings.model = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| RenderError::Template {
            template: "templates/python".into(),
            message: super::output::error_chain(&e),
        })?;
    let failed = |template: &str| {
        let template = template.to_string();
        move |e: tera::Error| RenderError::Template {
            template: template.clone(),
            message: super::output::error_chain(&e),
        }
    };
    let header = format!(
        "# @generated by tlgen {} from {} ({}). Do not edit.\n",
        env!("CARGO_PKG_VERSION"),
        opts.schema_file,
        match opts.layer {
            Some(l) => format!("layer {l}"),
            None => "no layer".to_string(),
        }
    );
    let mut files = Vec::new();
    for (template, view) in &views {
        let context = tera::Context::from_serialize(view).map_err(failed(template))?;
        let body = tera.render(template, &context).map_err(failed(template))?;
        files.push(OutputFile {
            path: PathBuf::from(&view.path),
            contents: format!("{header}{body}"),
        });
    }
    let body = tera
        .render("tl.py.tera", &tera::Context::new())
        .map_err(failed("tl.py.tera"))?;
    files.push(OutputFile {
        path: PathBuf::from(format!("{}.py", py::CODEC)),
        contents: format!("{header}{body}"),
    });
    let mut names: Vec<(u32, String)> = schema
        .definitions()
        .map(|d| (d.id, d.name.full()))
        .collect();
    names.sort();
    let root = RootView {
        schema_file: opts.schema_file.clone(),
        layer: opts.layer,
        names: names.into_iter().map(|(id, n)| (id_hex(id), n)).collect(),
    };
    let context = tera::Context::from_serialize(&root).map_err(failed("root.py.tera"))?;
    let body = tera
        .render("root.py.tera", &context)
        .map_err(failed("root.py.tera"))?;
    files.push(OutputFile {
        path: PathBuf::from("__init__.py"),
        contents: format!("{header}{body}"),
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    timings.render = t.elapsed().as_secs_f64();
    timings.templates = timings.render;
    timings.threads = 1;
    Ok((files, timings))
}
