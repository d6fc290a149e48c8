//! Parse stage: schema text to a syntax tree with source spans, using the pest grammar; the only stage that sees pest pairs.

use pest::iterators::Pair;
use pest::Parser as _;

use crate::diag::{Diagnostic, Severity, SourceMap};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/tl.pest"]
struct TlParser;

/// A byte range in the schema text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Start offset.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

/// Whether a definition is a constructor (`---types---`) or a function (`---functions---`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// A constructor of a type.
    Types,
    /// A function (RPC).
    Functions,
}

/// A type as written: `!X`, `%Message`, `Vector<long>`, `#`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstType {
    /// `!` (a generic argument taken as a whole query).
    pub bang: bool,
    /// `%` (bare).
    pub percent: bool,
    /// The name, with namespace (`storage.FileType`), or `#`.
    pub name: String,
    /// Type parameters in `<...>`.
    pub params: Vec<AstType>,
    /// Where it stands.
    pub span: Span,
}

/// The type part of an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AstArgType {
    /// A plain type.
    Type(AstType),
    /// `n*[ args ]` or `[ args ]` (only the builtin `vector` and `int128`-like lines use it).
    Repeat {
        /// The multiplicity, if written.
        count: Option<String>,
        /// The repeated arguments.
        args: Vec<AstArg>,
    },
    /// `?` (the body of a builtin such as `int ? = Int`).
    Unknown,
}

/// A conditional marker `flags.N?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstCondition {
    /// The `#` field it reads (`flags`, `flags2`).
    pub flags: String,
    /// The bit number as written.
    pub bit: String,
    /// Where it stands.
    pub span: Span,
}

/// An argument (field) of a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstArg {
    /// The field name; `None` for anonymous arguments such as `#` or `[ t ]`.
    pub name: Option<String>,
    /// `flags.N?`, if any.
    pub condition: Option<AstCondition>,
    /// The type.
    pub ty: AstArgType,
    /// Where the whole argument stands.
    pub span: Span,
}

/// A `{X:Type}` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstGeneric {
    /// Its name.
    pub name: String,
    /// Its kind (`Type`).
    pub ty: AstType,
    /// Where it stands.
    pub span: Span,
}

/// The result part: `Vector t`, `messages.Messages`, `X`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstResult {
    /// The type name.
    pub name: String,
    /// `<...>` parameters.
    pub params: Vec<AstType>,
    /// Parameters by juxtaposition (`Vector t`).
    pub args: Vec<String>,
    /// Where it stands.
    pub span: Span,
}

/// One definition line (constructor or function), as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstDefinition {
    /// The section it appears in.
    pub section: Section,
    /// Full name, with namespace.
    pub name: String,
    /// Where the name stands.
    pub name_span: Span,
    /// The explicit `#id`, if written.
    pub id: Option<u32>,
    /// `{X:Type}` parameters.
    pub generics: Vec<AstGeneric>,
    /// Fields.
    pub args: Vec<AstArg>,
    /// Result type.
    pub result: AstResult,
    /// The comment lines right above it (text after `//`), for documentation.
    pub comments: Vec<String>,
    /// The whole definition.
    pub span: Span,
}

/// A parsed schema file: its definitions and the layer from a `// LAYER N` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstSchema {
    /// Definitions in file order.
    pub definitions: Vec<AstDefinition>,
    /// `// LAYER N`, if present.
    pub layer: Option<i32>,
    /// Doc comments of boxed types (TDLib's `//@class Name @description ...`).
    pub class_docs: Vec<(String, String)>,
}

/// Parses a whole schema. Syntax errors do not stop the walk: each bad definition is reported
/// and skipped, so that every error of a file is found in one run.
pub fn parse(map: &SourceMap<'_>, text: &str) -> (AstSchema, Vec<Diagnostic>) {
    let mut schema = AstSchema {
        definitions: Vec::new(),
        layer: None,
        class_docs: Vec::new(),
    };
    let mut diagnostics = Vec::new();
    let mut section = Section::Types;
    let mut comments: Vec<String> = Vec::new();
    let mut last_end_line = 0;
    let mut pos = 0;
    let bytes = text.as_bytes();
    while pos < text.len() {
        // Whitespace; a blank line detaches the comments above it from what follows.
        let mut newlines = 0;
        while pos < text.len() && bytes[pos].is_ascii_whitespace() {
            if bytes[pos] == b'\n' {
                newlines += 1;
            }
            pos += 1;
        }
        if newlines >= 2 {
            comments.clear();
        }
        if pos >= text.len() {
            break;
        }
        let rest = &text[pos..];
        let line_end = rest.find('\n').map_or(text.len(), |i| pos + i);
        if rest.starts_with("//") {
            let comment = text[pos + 2..line_end].trim_end_matches('\r');
            if let Some(layer) = layer_of(comment) {
                schema.layer = Some(layer);
            } else if map.line_of(pos) == last_end_line {
                // A trailing comment belongs to the line before, not to the next definition.
            } else if let Some(class) = comment.strip_prefix("@class ") {
                let (name, doc) = class.split_once("@description").unwrap_or((class, ""));
                schema
                    .class_docs
                    .push((name.trim().to_string(), doc.trim().to_string()));
            } else {
                comments.push(comment.to_string());
            }
            pos = line_end;
            continue;
        }
        if rest.starts_with("---") {
            let line = text[pos..line_end].trim();
            match TlParser::parse(Rule::section, line).map(|_| line.replace(' ', "")) {
                Ok(l) if l == "---types---" => section = Section::Types,
                Ok(l) if l == "---functions---" => section = Section::Functions,
                _ => diagnostics.push(map.diagnostic(
                    Severity::Error,
                    pos,
                    line.len(),
                    format!(
                        "unknown section `{line}`: expected `---types---` or `---functions---`"
                    ),
                )),
            }
            comments.clear();
            pos = line_end;
            continue;
        }
        match TlParser::parse(Rule::definition, rest) {
            Ok(mut pairs) => {
                let pair = pairs.next().expect("the definition rule yields one pair");
                let len = pair.as_span().end();
                let def = definition(pair, pos, section, std::mem::take(&mut comments));
                schema.definitions.push(def);
                pos += len;
                last_end_line = map.line_of(pos.saturating_sub(1));
            }
            Err(err) => {
                let at = match err.location {
                    pest::error::InputLocation::Pos(p) => p,
                    pest::error::InputLocation::Span((s, _)) => s,
                };
                let line_rest = rest[at..].lines().next().unwrap_or("");
                if expects_tail(&err) && !line_rest.contains(';') {
                    // The result parsed but no `;` closes the line.
                    let end = at + line_rest.trim_end().len();
                    diagnostics.push(map.diagnostic(
                        Severity::Error,
                        pos + end,
                        1,
                        "syntax error: expected `;` at the end of the definition, found end of line",
                    ));
                    comments.clear();
                    pos += rest[at..].find('\n').map_or(rest.len(), |i| at + i).max(1);
                    while !text.is_char_boundary(pos) {
                        pos += 1;
                    }
                    continue;
                }
                let found = rest[at..]
                    .split(|c: char| c.is_whitespace())
                    .next()
                    .unwrap_or("");
                let found = if found.is_empty() {
                    "end of line".to_string()
                } else {
                    format!("`{found}`")
                };
                diagnostics.push(map.diagnostic(
                    Severity::Error,
                    pos + at,
                    1,
                    format!("syntax error: expected {}, found {found}", expected(&err)),
                ));
                comments.clear();
                // Skip past the bad definition: to the end of the line with the error, or the
                // first `;` on it.
                let error_line_end = rest[at..].find('\n').map_or(rest.len(), |i| at + i);
                let skip = rest[at..error_line_end]
                    .find(';')
                    .map_or(error_line_end, |i| at + i + 1);
                pos += skip.max(1);
                while !text.is_char_boundary(pos) {
                    pos += 1;
                }
            }
        }
    }
    (schema, diagnostics)
}

fn layer_of(comment: &str) -> Option<i32> {
    comment.trim().strip_prefix("LAYER ")?.trim().parse().ok()
}

fn expects_tail(err: &pest::error::Error<Rule>) -> bool {
    matches!(&err.variant, pest::error::ErrorVariant::ParsingError { positives, .. } if positives == &[Rule::tail])
}

fn expected(err: &pest::error::Error<Rule>) -> String {
    let pest::error::ErrorVariant::ParsingError { positives, .. } = &err.variant else {
        return "a definition".into();
    };
    let mut names: Vec<&str> = positives.iter().map(|r| rule_name(*r)).collect();
    names.sort_unstable();
    names.dedup();
    match names.as_slice() {
        [] => "a definition".into(),
        [one] => (*one).into(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::ident | Rule::full_name | Rule::head => "a name",
        Rule::hex_id => "a hexadecimal id",
        Rule::nat => "a bit number",
        Rule::arg | Rule::named_arg | Rule::anon_arg => "a field",
        Rule::generic => "`{X:Type}`",
        Rule::condition => "`flags.N?`",
        Rule::type_expr | Rule::type_name | Rule::bang | Rule::percent => "a type",
        Rule::result | Rule::tail => "a result type",
        Rule::repeat => "`[`",
        _ => "`=` or `;`",
    }
}

fn span(pair: &Pair<'_, Rule>, base: usize) -> Span {
    let s = pair.as_span();
    Span {
        offset: base + s.start(),
        len: s.end() - s.start(),
    }
}

fn definition(
    pair: Pair<'_, Rule>,
    base: usize,
    section: Section,
    comments: Vec<String>,
) -> AstDefinition {
    let whole = span(&pair, base);
    let mut name = String::new();
    let mut name_span = Span::default();
    let mut id = None;
    let mut generics = Vec::new();
    let mut args = Vec::new();
    let mut result = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::head => {
                for h in p.into_inner() {
                    match h.as_rule() {
                        Rule::full_name => {
                            name_span = span(&h, base);
                            name = h.as_str().to_string();
                        }
                        // At most 8 hex digits: always fits u32.
                        Rule::hex_id => id = u32::from_str_radix(h.as_str(), 16).ok(),
                        _ => {}
                    }
                }
            }
            Rule::generic => {
                let s = span(&p, base);
                let mut inner = p.into_inner();
                let name = inner
                    .next()
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default();
                let ty = inner
                    .next()
                    .map(|t| type_expr(t, base))
                    .unwrap_or_else(|| AstType {
                        bang: false,
                        percent: false,
                        name: "Type".into(),
                        params: vec![],
                        span: s,
                    });
                generics.push(AstGeneric { name, ty, span: s });
            }
            Rule::arg => args.push(arg(p, base)),
            Rule::tail => {
                if let Some(r) = p.into_inner().next() {
                    result = Some(result_of(r, base));
                }
            }
            _ => {}
        }
    }
    AstDefinition {
        section,
        name,
        name_span,
        id,
        generics,
        args,
        result: result.unwrap_or(AstResult {
            name: String::new(),
            params: vec![],
            args: vec![],
            span: whole,
        }),
        comments,
        span: whole,
    }
}

fn arg(pair: Pair<'_, Rule>, base: usize) -> AstArg {
    let s = span(&pair, base);
    let inner = pair.into_inner().next().expect("arg has one alternative");
    let named = inner.as_rule() == Rule::named_arg;
    let mut name = None;
    let mut condition = None;
    let mut ty = AstArgType::Unknown;
    for p in inner.into_inner() {
        match p.as_rule() {
            Rule::ident if named => name = Some(p.as_str().to_string()),
            Rule::condition => {
                let cs = span(&p, base);
                let mut parts = p.into_inner();
                let flags = parts
                    .next()
                    .map(|f| f.as_str().to_string())
                    .unwrap_or_default();
                let bit = parts
                    .next()
                    .map(|b| b.as_str().to_string())
                    .unwrap_or_default();
                condition = Some(AstCondition {
                    flags,
                    bit,
                    span: cs,
                });
            }
            Rule::type_expr => ty = AstArgType::Type(type_expr(p, base)),
            Rule::repeat => ty = repeat(p, base),
            Rule::unknown_type => ty = AstArgType::Unknown,
            _ => {}
        }
    }
    AstArg {
        name,
        condition,
        ty,
        span: s,
    }
}

fn repeat(pair: Pair<'_, Rule>, base: usize) -> AstArgType {
    let mut count = None;
    let mut args = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::nat | Rule::ident => count = Some(p.as_str().to_string()),
            Rule::arg => args.push(arg(p, base)),
            _ => {}
        }
    }
    AstArgType::Repeat { count, args }
}

fn type_expr(pair: Pair<'_, Rule>, base: usize) -> AstType {
    let s = span(&pair, base);
    let mut ty = AstType {
        bang: false,
        percent: false,
        name: String::new(),
        params: Vec::new(),
        span: s,
    };
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::bang => ty.bang = true,
            Rule::percent => ty.percent = true,
            Rule::type_name => ty.name = p.as_str().to_string(),
            Rule::type_expr => ty.params.push(type_expr(p, base)),
            _ => {}
        }
    }
    ty
}

fn result_of(pair: Pair<'_, Rule>, base: usize) -> AstResult {
    let s = span(&pair, base);
    let mut result = AstResult {
        name: String::new(),
        params: Vec::new(),
        args: Vec::new(),
        span: s,
    };
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::type_name if result.name.is_empty() => result.name = p.as_str().to_string(),
            Rule::type_name => result.args.push(p.as_str().to_string()),
            Rule::type_expr => result.params.push(type_expr(p, base)),
            _ => {}
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> (AstSchema, Vec<Diagnostic>) {
        let map = SourceMap::new("t.tl", text);
        parse(&map, text)
    }

    #[test]
    fn parses_flags_generics_and_bare_vectors() {
        let (s, d) = parse_str(
            "// LAYER 7\nvector#1cb5c415 {t:Type} # [ t ] = Vector t;\n\
             ---functions---\n//@description Wraps a query\n\
             invokeWithLayer#da9b0d0d {X:Type} layer:int query:!X = X;\n\
             msg_container#73f1f8dc messages:vector<%message> = MessageContainer;\n\
             a.b#1 flags:# x:flags.3?Vector<int> y:flags2.31?true = a.B; // trailing\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(s.layer, Some(7));
        assert_eq!(s.definitions.len(), 4);
        let inv = &s.definitions[1];
        assert_eq!(inv.section, Section::Functions);
        assert_eq!(inv.comments, vec!["@description Wraps a query"]);
        assert_eq!(inv.generics[0].name, "X");
        let AstArgType::Type(q) = &inv.args[1].ty else {
            panic!()
        };
        assert!(q.bang);
        let AstArgType::Type(m) = &s.definitions[2].args[0].ty else {
            panic!()
        };
        assert_eq!((m.name.as_str(), m.params[0].percent), ("vector", true));
        let c = &s.definitions[3];
        assert_eq!(c.id, Some(1));
        assert_eq!(c.args[2].condition.as_ref().unwrap().flags, "flags2");
    }

    #[test]
    fn reports_every_bad_line_and_goes_on() {
        let (s, d) = parse_str("a x:int = A\nb#zz = B;\nc = C;\nd x: = D;\n");
        assert_eq!(d.len(), 3, "{d:#?}");
        assert_eq!(s.definitions.len(), 1);
        assert_eq!(d[1].line, 2);
        assert_eq!(d[2].line, 4);
    }
}
