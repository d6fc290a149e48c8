//! IR stage: a resolved, validated schema. Values of these types exist only after every name, type, flag, generic and id was checked.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use crate::diag::{Diagnostic, Severity, SourceMap};
use crate::ids;
use crate::parse::{self, AstArg, AstArgType, AstDefinition, AstSchema, AstType, Span};

/// A TL name split into namespace and name (`messages` + `sendMessage`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Name {
    /// The namespace, if any.
    pub namespace: Option<String>,
    /// The name within it.
    pub name: String,
}

impl Name {
    /// Splits `ns.name` at the last dot (`e2e.chain.block` is `block` in `e2e.chain`).
    pub fn parse(full: &str) -> Self {
        match full.rsplit_once('.') {
            Some((ns, name)) => Self {
                namespace: Some(ns.to_string()),
                name: name.to_string(),
            },
            None => Self {
                namespace: None,
                name: full.to_string(),
            },
        }
    }

    /// `ns.name` as written.
    pub fn full(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.full())
    }
}

/// Whether a definition is a constructor or a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// A constructor of a type (`---types---`).
    Types,
    /// A function, an RPC (`---functions---`).
    Functions,
}

impl From<parse::Section> for Section {
    fn from(s: parse::Section) -> Self {
        match s {
            parse::Section::Types => Self::Types,
            parse::Section::Functions => Self::Functions,
        }
    }
}

/// A resolved type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ty {
    /// `int` (and TDLib's `int32`).
    Int,
    /// `long` (and TDLib's `int53`, `int64`).
    Long,
    /// `double`.
    Double,
    /// `#`: an unsigned 32-bit nat.
    Nat,
    /// `string`.
    String,
    /// `bytes`.
    Bytes,
    /// `int128`.
    Int128,
    /// `int256`.
    Int256,
    /// `int512`.
    Int512,
    /// `Bool`.
    Bool,
    /// `true` (no data; only meaningful behind a flag).
    True,
    /// `Object`: any boxed value, kept as bytes.
    Object,
    /// `Vector<T>` (boxed) or `vector<T>` (bare).
    Vector {
        /// Whether the `vector` id is written.
        boxed: bool,
        /// The item type.
        item: Box<Ty>,
    },
    /// A boxed type (`InputPeer`), one of its constructors on the wire.
    Boxed {
        /// The type's name.
        name: Name,
    },
    /// A constructor used bare (`%message`, or `future_salt` as a type).
    Bare {
        /// The constructor's name.
        constructor: Name,
    },
    /// A type parameter (`X`, or `!X`).
    Generic {
        /// Its name.
        name: String,
    },
}

/// What a field is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// A `#` flags word, computed from the optional fields that refer to it.
    Flags,
    /// Always present.
    Required {
        /// Its type.
        ty: Ty,
    },
    /// `flags.N?T`: present when the bit is set.
    Optional {
        /// The flags field it reads.
        flags: String,
        /// The bit.
        bit: u32,
        /// Its type.
        ty: Ty,
    },
    /// `flags.N?true`: the bit itself, no data.
    FlagTrue {
        /// The flags field it reads.
        flags: String,
        /// The bit.
        bit: u32,
    },
}

/// The type as written in TL (`Vector<long>`, `%Message`, `bytes`).
impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self {
            Ty::Int => "int",
            Ty::Long => "long",
            Ty::Double => "double",
            Ty::Nat => "#",
            Ty::String => "string",
            Ty::Bytes => "bytes",
            Ty::Int128 => "int128",
            Ty::Int256 => "int256",
            Ty::Int512 => "int512",
            Ty::Bool => "Bool",
            Ty::True => "true",
            Ty::Object => "Object",
            Ty::Vector { boxed, item } => {
                let vector = if *boxed { "Vector" } else { "vector" };
                return write!(f, "{vector}<{item}>");
            }
            Ty::Boxed { name } => return write!(f, "{name}"),
            // A constructor's name that reads as a type's is marked bare with `%`.
            Ty::Bare { constructor }
                if constructor
                    .name
                    .starts_with(|c: char| c.is_ascii_uppercase()) =>
            {
                return write!(f, "%{constructor}")
            }
            Ty::Bare { constructor } => return write!(f, "{constructor}"),
            Ty::Generic { name } => name,
        };
        f.write_str(word)
    }
}

/// The field's type as written in TL, with its condition (`flags.3?Vector<long>`, `#`).
impl std::fmt::Display for FieldKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Flags => f.write_str("#"),
            Self::Required { ty } => write!(f, "{ty}"),
            Self::Optional { flags, bit, ty } => write!(f, "{flags}.{bit}?{ty}"),
            Self::FlagTrue { flags, bit } => write!(f, "{flags}.{bit}?true"),
        }
    }
}

impl FieldKind {
    /// The type of the value the field holds: none for a flags word or a `?true` bit.
    pub fn value_ty(&self) -> Option<&Ty> {
        match self {
            Self::Required { ty } | Self::Optional { ty, .. } => Some(ty),
            Self::Flags | Self::FlagTrue { .. } => None,
        }
    }
}

/// A field of a definition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Field {
    /// Its name as written.
    pub name: String,
    /// Flags word, required, optional or flag.
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Its documentation (TDLib `//@name text`).
    pub doc: Option<String>,
}

/// A constructor or function.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Definition {
    /// Constructor or function.
    pub section: Section,
    /// Its name.
    pub name: Name,
    /// Its id: explicit, or computed when absent.
    pub id: u32,
    /// Whether the id was written in the schema.
    pub explicit_id: bool,
    /// Type parameters (`{X:Type}`).
    pub generics: Vec<String>,
    /// Fields in wire order.
    pub fields: Vec<Field>,
    /// The type it constructs, or the function's result.
    pub result: Ty,
    /// The description from the doc comments above it.
    pub doc: Option<String>,
    /// The definition as written, on one line.
    pub tl: String,
    /// 1-based line in the schema.
    pub line: usize,
}

/// A boxed type and its constructors.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TypeDef {
    /// Its name.
    pub name: Name,
    /// Its constructors, sorted by name.
    pub constructors: Vec<Name>,
    /// Its description (TDLib `//@class`).
    pub doc: Option<String>,
}

/// A checked schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Schema {
    /// The layer (`// LAYER N`, or given).
    pub layer: Option<i32>,
    /// Constructors, sorted by name.
    pub constructors: Vec<Definition>,
    /// Functions, sorted by name.
    pub functions: Vec<Definition>,
    /// Boxed types, by name.
    pub types: BTreeMap<Name, TypeDef>,
}

impl Schema {
    /// The constructor named `name`.
    pub fn constructor(&self, name: &Name) -> Option<&Definition> {
        self.constructors
            .binary_search_by(|d| d.name.cmp(name))
            .ok()
            .map(|i| &self.constructors[i])
    }

    /// All definitions, constructors first.
    pub fn definitions(&self) -> impl Iterator<Item = &Definition> {
        self.constructors.iter().chain(&self.functions)
    }
}

/// Builtin definitions: declared by some schemas, known whether declared or not, and not
/// generated as types.
const BUILTIN_CONSTRUCTORS: &[&str] = &[
    "int",
    "long",
    "double",
    "string",
    "bytes",
    "int32",
    "int53",
    "int64",
    "int128",
    "int256",
    "int512",
    "vector",
    "boolFalse",
    "boolTrue",
    "true",
];
const BUILTIN_TYPES: &[&str] = &[
    "Int", "Long", "Double", "String", "Bytes", "Int32", "Int53", "Int64", "Int128", "Int256",
    "Int512", "Vector", "Bool", "True", "Type", "Object",
];

/// Builds the IR from a parsed schema. Returns the schema only when no error was found; the
/// diagnostics list every error and warning of the file either way.
pub fn build(
    map: &SourceMap<'_>,
    text: &str,
    ast: &AstSchema,
) -> (Option<Schema>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let err = |diags: &mut Vec<Diagnostic>, span: Span, msg: String| {
        diags.push(map.diagnostic(Severity::Error, span.offset, span.len, msg));
    };

    // Collect the declared (non-builtin) definitions and the types their constructors build.
    let defs: Vec<&AstDefinition> = ast
        .definitions
        .iter()
        .filter(|d| !(d.section == parse::Section::Types && is_builtin(d)))
        .collect();
    let mut type_ctors: BTreeMap<Name, Vec<Name>> = BTreeMap::new();
    let mut ctor_names: BTreeMap<String, Span> = BTreeMap::new();
    let mut fn_names: BTreeMap<String, Span> = BTreeMap::new();
    let mut ids_seen: BTreeMap<u32, (&str, Span)> = BTreeMap::new();
    for d in &defs {
        let names = match d.section {
            parse::Section::Types => &mut ctor_names,
            parse::Section::Functions => &mut fn_names,
        };
        if let Some(first) = names.get(&d.name) {
            let line = map.line_of(first.offset);
            err(
                &mut diags,
                d.name_span,
                format!(
                    "duplicate name `{}`: already defined on line {line}",
                    d.name
                ),
            );
        } else {
            names.insert(d.name.clone(), d.name_span);
        }
        if d.section == parse::Section::Types {
            if d.result.name.is_empty() || !d.result.args.is_empty() || !d.result.params.is_empty()
            {
                err(
                    &mut diags,
                    d.result.span,
                    format!(
                        "a constructor must build a plain type name, found `{}`",
                        text_of(text, d.result.span)
                    ),
                );
                continue;
            }
            type_ctors
                .entry(Name::parse(&d.result.name))
                .or_default()
                .push(Name::parse(&d.name));
        }
    }

    let mut constructors = Vec::new();
    let mut functions = Vec::new();
    let suggestions = Cell::new(MAX_SUGGESTIONS);
    for d in &defs {
        let computed = ids::computed_id(d);
        let id = d.id.unwrap_or(computed);
        if let Some(explicit) = d.id {
            if !ids::follows_rule(d, explicit, computed) && !ids::is_legacy(&d.name) {
                diags.push(map.diagnostic(
                    Severity::Warning,
                    d.name_span.offset,
                    d.name_span.len,
                    format!(
                        "explicit id {explicit:#010x} of `{}` differs from the computed {computed:#010x}; the explicit id is used",
                        d.name
                    ),
                ));
            }
        }
        match ids_seen.get(&id) {
            Some((other, span)) if !ids::is_legacy(&d.name) && !ids::is_legacy(other) => {
                let line = map.line_of(span.offset);
                err(
                    &mut diags,
                    d.name_span,
                    format!(
                        "duplicate id {id:#010x}: `{}` has it too, on line {line}",
                        other
                    ),
                );
            }
            Some(_) => {}
            None => {
                ids_seen.insert(id, (&d.name, d.name_span));
            }
        }
        let resolver = Resolver {
            generics: d.generics.iter().map(|g| g.name.as_str()).collect(),
            type_ctors: &type_ctors,
            ctor_names: &ctor_names,
            suggestions: &suggestions,
        };
        for g in &d.generics {
            if g.ty.name != "Type" {
                err(
                    &mut diags,
                    g.ty.span,
                    format!(
                        "expected `Type` as the kind of `{}`, found `{}`",
                        g.name, g.ty.name
                    ),
                );
            }
        }
        let (doc, field_docs) = docs(&d.comments);
        let mut fields: Vec<Field> = Vec::new();
        let mut ok = true;
        for arg in &d.args {
            match field(arg, &fields, &resolver, text) {
                Ok(kind) => {
                    let name = arg.name.clone().unwrap_or_default();
                    let doc = field_docs.get(&name).cloned();
                    if fields.iter().any(|f| f.name == name) {
                        err(&mut diags, arg.span, format!("duplicate field `{name}`"));
                        ok = false;
                    }
                    fields.push(Field { name, kind, doc });
                }
                Err((span, msg)) => {
                    err(&mut diags, span, msg);
                    ok = false;
                }
            }
        }
        let result = match d.section {
            parse::Section::Types => Ok(Ty::Boxed {
                name: Name::parse(&d.result.name),
            }),
            parse::Section::Functions => match resolver.result(&d.result, text) {
                Err(_)
                    if resolver.is_unbuilt_type(&d.result) && !takes_query(d, &d.result.name) =>
                {
                    diags.push(map.diagnostic(
                        Severity::Warning,
                        d.result.span.offset,
                        d.result.span.len,
                        format!(
                            "no constructor builds `{}`; `{}` returns its answer as raw bytes (`Object`)",
                            d.result.name, d.name
                        ),
                    ));
                    Ok(Ty::Object)
                }
                other => other,
            },
        };
        let result = match result {
            Ok(r) => r,
            Err((span, msg)) => {
                err(&mut diags, span, msg);
                continue;
            }
        };
        if !ok {
            continue;
        }
        let def = Definition {
            section: d.section.into(),
            name: Name::parse(&d.name),
            id,
            explicit_id: d.id.is_some(),
            generics: d.generics.iter().map(|g| g.name.clone()).collect(),
            fields,
            result,
            doc,
            tl: one_line(text_of(text, d.span)),
            line: map.line_of(d.span.offset),
        };
        match d.section {
            parse::Section::Types => constructors.push(def),
            parse::Section::Functions => functions.push(def),
        }
    }

    diags.sort_by_key(|d| (d.line, d.column));
    if diags.iter().any(|d| d.severity == Severity::Error) {
        return (None, diags);
    }
    constructors.sort_by(|a, b| a.name.cmp(&b.name));
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    let class_docs: BTreeMap<&str, &str> = ast
        .class_docs
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_str()))
        .collect();
    let types = type_ctors
        .into_iter()
        .map(|(name, mut ctors)| {
            ctors.sort();
            let doc = class_docs
                .get(name.full().as_str())
                .filter(|d| !d.is_empty())
                .map(|d| d.to_string());
            (
                name.clone(),
                TypeDef {
                    name,
                    constructors: ctors,
                    doc,
                },
            )
        })
        .collect();
    let schema = Schema {
        layer: ast.layer,
        constructors,
        functions,
        types,
    };
    for name in crate::shapes::infinite_constructors(&schema) {
        if let Some(&span) = ctor_names.get(&name.full()) {
            err(
                &mut diags,
                span,
                format!(
                    "`{name}` holds itself through required bare fields alone, so no value of it \
                     is finite: make a field on the cycle optional (`flags.0?%T`), a vector, or \
                     boxed (the type's name)"
                ),
            );
        }
    }
    (Some(schema), diags)
}

/// Whether `d` has a `!name` field (then an undeclared `name` is reported there, not as a type).
fn takes_query(d: &AstDefinition, name: &str) -> bool {
    d.args
        .iter()
        .any(|a| matches!(&a.ty, AstArgType::Type(t) if t.bang && t.name == name))
}

fn is_builtin(d: &AstDefinition) -> bool {
    BUILTIN_CONSTRUCTORS.contains(&d.name.as_str())
        && BUILTIN_TYPES.contains(&d.result.name.as_str())
}

fn text_of(text: &str, span: Span) -> &str {
    &text[span.offset..span.offset + span.len]
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits TDLib-style doc comments (`@description ...`, `@field ...`, `-` continuations) into
/// the description and per-field docs; plain comments become the description.
fn docs(comments: &[String]) -> (Option<String>, BTreeMap<String, String>) {
    let mut description = Vec::new();
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in comments {
        let line = line.trim();
        if let Some(cont) = line.strip_prefix('-') {
            match &last {
                Some(f) => {
                    if let Some(doc) = fields.get_mut(f) {
                        doc.push(' ');
                        doc.push_str(cont.trim());
                    }
                }
                None => description.push(cont.trim().to_string()),
            }
            continue;
        }
        if line.starts_with('@') {
            for tag in line.split('@').skip(1) {
                let (key, value) = tag.split_once(' ').unwrap_or((tag, ""));
                let value = value.trim().to_string();
                if key == "description" {
                    description.push(value);
                    last = None;
                } else {
                    let key = key.strip_prefix("param_").unwrap_or(key).to_string();
                    fields.insert(key.clone(), value);
                    last = Some(key);
                }
            }
        } else if !line.is_empty() {
            description.push(line.to_string());
        }
    }
    let description = (!description.is_empty()).then(|| description.join(" "));
    (description, fields)
}

/// Built-in type names that an unknown type may be a misspelling of.
const PRIMITIVE_TYPES: [&str; 9] = [
    "int", "long", "double", "string", "bytes", "int128", "int256", "Bool", "true",
];

/// `; did you mean `X`?`, or nothing.
fn did_you_mean(name: Option<&str>) -> String {
    name.map_or_else(String::new, |n| format!("; did you mean `{n}`?"))
}

struct Resolver<'a> {
    generics: BTreeSet<&'a str>,
    type_ctors: &'a BTreeMap<Name, Vec<Name>>,
    ctor_names: &'a BTreeMap<String, Span>,
    /// How many more unknown names get a "did you mean" (shared by the whole schema).
    suggestions: &'a Cell<usize>,
}

/// How many unknown names of one schema get a "did you mean": each suggestion compares the
/// name with every known one, so a schema of thousands of unknown names would otherwise take
/// time quadratic in its size.
const MAX_SUGGESTIONS: usize = 32;

type Failure = (Span, String);

impl Resolver<'_> {
    /// Whether one more unknown name may get a suggestion (and counts it).
    fn take_suggestion(&self) -> bool {
        let left = self.suggestions.get();
        self.suggestions.set(left.saturating_sub(1));
        left > 0
    }

    fn ty(&self, t: &AstType) -> Result<Ty, Failure> {
        let bad_params = || Err((t.span, format!("type `{}` takes no parameters", t.name)));
        if t.bang && !self.generics.contains(t.name.as_str()) {
            return Err((
                t.span,
                format!(
                    "`!{}` needs a type parameter `{{{}:Type}}` declared on this definition",
                    t.name, t.name
                ),
            ));
        }
        let prim = match t.name.as_str() {
            "int" | "Int" | "int32" | "Int32" => Some(Ty::Int),
            "long" | "Long" | "int53" | "Int53" | "int64" | "Int64" => Some(Ty::Long),
            "double" | "Double" => Some(Ty::Double),
            "#" => Some(Ty::Nat),
            "string" | "String" => Some(Ty::String),
            "bytes" | "Bytes" => Some(Ty::Bytes),
            "int128" | "Int128" => Some(Ty::Int128),
            "int256" | "Int256" => Some(Ty::Int256),
            "int512" | "Int512" => Some(Ty::Int512),
            "Bool" => Some(Ty::Bool),
            "true" | "True" => Some(Ty::True),
            "Object" => Some(Ty::Object),
            _ => None,
        };
        if let Some(p) = prim {
            return if t.params.is_empty() {
                Ok(p)
            } else {
                bad_params()
            };
        }
        if t.name == "Vector" || t.name == "vector" {
            let [item] = t.params.as_slice() else {
                return Err((
                    t.span,
                    format!(
                        "`{}` takes one type parameter, as in `Vector<long>`",
                        t.name
                    ),
                ));
            };
            return Ok(Ty::Vector {
                boxed: t.name == "Vector" && !t.percent,
                item: Box::new(self.ty(item)?),
            });
        }
        if !t.params.is_empty() {
            return bad_params();
        }
        if self.generics.contains(t.name.as_str()) {
            return Ok(Ty::Generic {
                name: t.name.clone(),
            });
        }
        let name = Name::parse(&t.name);
        let bare_by_case = name.name.starts_with(|c: char| c.is_ascii_lowercase());
        if bare_by_case {
            if self.ctor_names.contains_key(&t.name) {
                return Ok(Ty::Bare { constructor: name });
            }
            let near = self
                .take_suggestion()
                .then(|| crate::diag::nearest(&t.name, self.ctor_names.keys().map(String::as_str)))
                .flatten();
            return Err((
                t.span,
                format!(
                    "unknown type `{}`: no constructor has this name{}",
                    t.name,
                    did_you_mean(near)
                ),
            ));
        }
        match self.type_ctors.get(&name) {
            Some(ctors) if t.percent => match ctors.as_slice() {
                [only] => Ok(Ty::Bare {
                    constructor: only.clone(),
                }),
                _ => Err((
                    t.span,
                    format!(
                        "`%{}` needs a type with exactly one constructor, it has {}",
                        t.name,
                        ctors.len()
                    ),
                )),
            },
            Some(_) => Ok(Ty::Boxed { name }),
            None => {
                let near = self.take_suggestion().then(|| {
                    let types: Vec<String> =
                        self.type_ctors.keys().map(ToString::to_string).collect();
                    let known = types.iter().map(String::as_str).chain(PRIMITIVE_TYPES);
                    crate::diag::nearest(&t.name, known).map(str::to_string)
                });
                Err((
                    t.span,
                    format!(
                        "unknown type `{}`: no constructor builds it{}",
                        t.name,
                        did_you_mean(near.flatten().as_deref())
                    ),
                ))
            }
        }
    }

    /// A plain boxed type name that nothing constructs (mt.tl's `HttpWait`).
    fn is_unbuilt_type(&self, r: &crate::parse::AstResult) -> bool {
        let name = Name::parse(&r.name);
        r.args.is_empty()
            && r.params.is_empty()
            && name.name.starts_with(|c: char| c.is_ascii_uppercase())
            && !self.type_ctors.contains_key(&name)
            && !self.generics.contains(r.name.as_str())
    }

    fn result(&self, r: &crate::parse::AstResult, text: &str) -> Result<Ty, Failure> {
        if !r.args.is_empty() {
            return Err((
                r.span,
                format!(
                    "unsupported result `{}`: write `Vector<T>`",
                    text_of(text, r.span)
                ),
            ));
        }
        self.ty(&AstType {
            bang: false,
            percent: false,
            name: r.name.clone(),
            params: r.params.clone(),
            span: r.span,
        })
    }
}

fn field(
    arg: &AstArg,
    earlier: &[Field],
    resolver: &Resolver<'_>,
    text: &str,
) -> Result<FieldKind, Failure> {
    let Some(name) = &arg.name else {
        return Err((
            arg.span,
            format!(
                "unsupported anonymous field `{}`: only builtin definitions may use one",
                text_of(text, arg.span)
            ),
        ));
    };
    let ty = match &arg.ty {
        AstArgType::Type(t) => t,
        AstArgType::Repeat { .. } => {
            return Err((
                arg.span,
                format!("unsupported repetition in field `{name}`: use `Vector<T>`"),
            ))
        }
        AstArgType::Unknown => {
            return Err((arg.span, format!("unsupported type `?` in field `{name}`")))
        }
    };
    let resolved = resolver.ty(ty)?;
    let Some(cond) = &arg.condition else {
        return Ok(match resolved {
            Ty::Nat => FieldKind::Flags,
            ty => FieldKind::Required { ty },
        });
    };
    let bit: u32 = match cond.bit.parse() {
        Ok(b) if b < 32 => b,
        _ => {
            return Err((
                cond.span,
                format!("flag bit {} is out of range: expected 0 to 31", cond.bit),
            ))
        }
    };
    match earlier.iter().find(|f| f.name == cond.flags) {
        Some(Field {
            kind: FieldKind::Flags,
            ..
        }) => {}
        Some(_) => {
            return Err((
                cond.span,
                format!("`{}` is not a `#` flags field", cond.flags),
            ))
        }
        None => {
            return Err((
                cond.span,
                format!("no `{}:#` field before `{name}`", cond.flags),
            ))
        }
    }
    Ok(match resolved {
        Ty::True => FieldKind::FlagTrue {
            flags: cond.flags.clone(),
            bit,
        },
        ty => FieldKind::Optional {
            flags: cond.flags.clone(),
            bit,
            ty,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_str(text: &str) -> (Option<Schema>, Vec<Diagnostic>) {
        let map = SourceMap::new("t.tl", text);
        let (ast, mut d) = crate::parse::parse(&map, text);
        let (s, d2) = build(&map, text, &ast);
        d.extend(d2);
        (s, d)
    }

    #[test]
    fn resolves_a_small_schema() {
        let (s, d) = build_str(
            "int ? = Int;\nfoo flags:# a:flags.0?true b:flags.1?Vector<Bar> c:%Bar = Foo;\n\
             bar x:long = Bar;\n---functions---\nget {X:Type} q:!X = Vector<Foo>;\n",
        );
        assert!(d.is_empty(), "{d:#?}");
        let s = s.unwrap();
        assert_eq!(s.constructors.len(), 2);
        let foo = &s.constructors[1];
        assert_eq!(
            foo.fields[1].kind,
            FieldKind::FlagTrue {
                flags: "flags".into(),
                bit: 0
            }
        );
        assert_eq!(
            foo.fields[3].kind,
            FieldKind::Required {
                ty: Ty::Bare {
                    constructor: Name::parse("bar")
                }
            }
        );
        assert_eq!(s.functions[0].generics, vec!["X"]);
    }

    #[test]
    fn only_the_first_unknown_names_get_a_suggestion() {
        // Every name is one letter off a known one; each suggestion compares a name with every
        // known name, so a schema of many unknown names gets a bounded number of them.
        let text: String = (0..200)
            .map(|i| format!("c{i} x:TypeNameNumbe{i} = TypeNameNumber{i};\n"))
            .collect();
        let (schema, diags) = crate::check("f.tl", &text);
        assert!(schema.is_none());
        assert_eq!(diags.len(), 200);
        let suggested = diags
            .iter()
            .filter(|d| d.message.contains("did you mean"))
            .count();
        assert_eq!(suggested, MAX_SUGGESTIONS);
    }

    #[test]
    fn reports_every_error_with_its_place() {
        let (s, d) = build_str(
            "a#1 x:Nope = A;\nb#1 = B;\nc#3 f:int y:f.0?int z:g.1?int w:flags.40?int = C;\nd#4 q:!X = D;\na#5 = A;\n",
        );
        assert!(s.is_none());
        let msgs: Vec<String> = d
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
            .collect();
        assert_eq!(
            msgs,
            vec![
                "1:7 unknown type `Nope`: no constructor builds it",
                "2:1 duplicate id 0x00000001: `a` has it too, on line 1",
                "3:13 `f` is not a `#` flags field",
                "3:23 no `g:#` field before `z`",
                "3:33 flag bit 40 is out of range: expected 0 to 31",
                "4:7 `!X` needs a type parameter `{X:Type}` declared on this definition",
                "5:1 duplicate name `a`: already defined on line 1",
            ]
        );
    }
}
