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
///
/// A large file is walked in two halves at once: the second from the start of a line after a
/// blank line (where no comment is pending), in the section the lines above it declare. The
/// second half is kept only if the walk of the first one stops exactly there, in that section;
/// otherwise the first walk goes on to the end. Either way the result is that of one walk.
pub fn parse(map: &SourceMap<'_>, text: &str) -> (AstSchema, Vec<Diagnostic>) {
    const SPLIT_ABOVE: usize = 64 * 1024;
    let split = if text.len() >= SPLIT_ABOVE {
        split_point(text, text.len() / 2)
    } else {
        None
    };
    let (schema, diagnostics, _) = parse_split(map, text, split);
    (schema, diagnostics)
}

/// [`parse`], with the second half starting at `split` (if any); says whether the second half
/// was kept.
fn parse_split(
    map: &SourceMap<'_>,
    text: &str,
    split: Option<usize>,
) -> (AstSchema, Vec<Diagnostic>, bool) {
    let Some(split) = split else {
        let mut walk = Walk::new(0, Section::Types);
        walk.run(map, text, None);
        return (walk.schema, walk.diagnostics, false);
    };
    let assumed = section_before(&text[..split]);
    let (mut first, second) = std::thread::scope(|scope| {
        let second = scope.spawn(|| {
            let mut walk = Walk::new(split, assumed);
            walk.run(map, text, None);
            walk
        });
        let mut first = Walk::new(0, Section::Types);
        let stopped = first.run(map, text, Some(split));
        let second = second
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if !(stopped && first.section == assumed && first.comments.is_empty()) {
            // The first walk went past the split point: it has walked the whole file.
            return (first, None);
        }
        (first, Some(second))
    });
    let kept = second.is_some();
    if let Some(second) = second {
        first.schema.definitions.extend(second.schema.definitions);
        first.schema.class_docs.extend(second.schema.class_docs);
        first.schema.layer = second.schema.layer.or(first.schema.layer);
        first.diagnostics.extend(second.diagnostics);
    }
    (first.schema, first.diagnostics, kept)
}

/// The first non-blank position at or after `from` that starts a line following a blank line.
fn split_point(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut newlines = 0;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match b {
            b'\n' => newlines += 1,
            b if b.is_ascii_whitespace() => {}
            _ if newlines >= 2 => return Some(i),
            _ => newlines = 0,
        }
    }
    None
}

/// The section that the `---types---` / `---functions---` lines of `text` leave in force.
fn section_before(text: &str) -> Section {
    let mut section = Section::Types;
    for line in text.lines() {
        match line.trim().replace(' ', "").as_str() {
            "---types---" => section = Section::Types,
            "---functions---" => section = Section::Functions,
            _ => {}
        }
    }
    section
}

/// The state of a walk over schema text, and what it found.
struct Walk {
    schema: AstSchema,
    diagnostics: Vec<Diagnostic>,
    section: Section,
    /// Comment lines waiting for the definition below them.
    comments: Vec<String>,
    /// The line where the last definition ended.
    last_end_line: usize,
    pos: usize,
}

impl Walk {
    fn new(pos: usize, section: Section) -> Self {
        Self {
            schema: AstSchema {
                definitions: Vec::new(),
                layer: None,
                class_docs: Vec::new(),
            },
            diagnostics: Vec::new(),
            section,
            comments: Vec::new(),
            last_end_line: 0,
            pos,
        }
    }

    /// Walks to the end of `text`, or until the walk is at `stop` after a blank line; says
    /// whether it stopped there.
    fn run(&mut self, map: &SourceMap<'_>, text: &str, stop: Option<usize>) -> bool {
        let bytes = text.as_bytes();
        while self.pos < text.len() {
            // Whitespace; a blank line detaches the comments above it from what follows.
            let mut newlines = 0;
            while self.pos < text.len() && bytes[self.pos].is_ascii_whitespace() {
                if bytes[self.pos] == b'\n' {
                    newlines += 1;
                }
                self.pos += 1;
            }
            if newlines >= 2 {
                self.comments.clear();
            }
            if self.pos >= text.len() {
                break;
            }
            if Some(self.pos) == stop && newlines >= 2 {
                return true;
            }
            let rest = &text[self.pos..];
            let line_end = rest.find('\n').map_or(text.len(), |i| self.pos + i);
            if rest.starts_with("//") {
                let comment = text[self.pos + 2..line_end].trim_end_matches('\r');
                if let Some(layer) = layer_of(comment) {
                    self.schema.layer = Some(layer);
                } else if map.line_of(self.pos) == self.last_end_line {
                    // A trailing comment belongs to the line before, not to the next definition.
                } else if let Some(class) = comment.strip_prefix("@class ") {
                    let (name, doc) = class.split_once("@description").unwrap_or((class, ""));
                    self.schema
                        .class_docs
                        .push((name.trim().to_string(), doc.trim().to_string()));
                } else {
                    self.comments.push(comment.to_string());
                }
                self.pos = line_end;
                continue;
            }
            if rest.starts_with("---") {
                let line = text[self.pos..line_end].trim();
                match TlParser::parse(Rule::section, line).map(|_| line.replace(' ', "")) {
                    Ok(l) if l == "---types---" => self.section = Section::Types,
                    Ok(l) if l == "---functions---" => self.section = Section::Functions,
                    _ => self.diagnostics.push(map.diagnostic(
                        Severity::Error,
                        self.pos,
                        line.len(),
                        format!(
                            "unknown section `{line}`: expected `---types---` or `---functions---`"
                        ),
                    )),
                }
                self.comments.clear();
                self.pos = line_end;
                continue;
            }
            let parsed = TlParser::parse(Rule::definition, rest);
            // How far the attempt reached; a definition that runs past its first line may be
            // one cut short that swallowed the next definition.
            let reach = match &parsed {
                Ok(pairs) => pairs.peek().map_or(0, |p| p.as_span().end()),
                Err(err) => match err.location {
                    pest::error::InputLocation::Pos(p) => p,
                    pest::error::InputLocation::Span((s, _)) => s,
                },
            };
            if rest[..reach].contains('\n') {
                if let Some(next) = next_definition_line(rest, reach) {
                    self.diagnostics
                        .push(incomplete(map, self.pos, &rest[..next]));
                    self.comments.clear();
                    self.pos += next;
                    continue;
                }
            }
            match parsed {
                Ok(mut pairs) => {
                    let pair = pairs.next().expect("the definition rule yields one pair");
                    let len = pair.as_span().end();
                    let def = definition(
                        pair,
                        self.pos,
                        self.section,
                        std::mem::take(&mut self.comments),
                    );
                    self.schema.definitions.push(def);
                    self.pos += len;
                    self.last_end_line = map.line_of(self.pos.saturating_sub(1));
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
                        self.diagnostics.push(map.diagnostic(
                            Severity::Error,
                            self.pos + end,
                            1,
                            "syntax error: expected `;` at the end of the definition, found end of line",
                        ));
                        self.comments.clear();
                        self.pos += rest[at..].find('\n').map_or(rest.len(), |i| at + i).max(1);
                        while !text.is_char_boundary(self.pos) {
                            self.pos += 1;
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
                    self.diagnostics.push(map.diagnostic(
                        Severity::Error,
                        self.pos + at,
                        1,
                        format!("syntax error: expected {}, found {found}", expected(&err)),
                    ));
                    self.comments.clear();
                    // Skip past the bad definition: to the end of the line with the error, or the
                    // first `;` on it.
                    let error_line_end = rest[at..].find('\n').map_or(rest.len(), |i| at + i);
                    let skip = rest[at..error_line_end]
                        .find(';')
                        .map_or(error_line_end, |i| at + i + 1);
                    self.pos += skip.max(1);
                    while !text.is_char_boundary(self.pos) {
                        self.pos += 1;
                    }
                }
            }
        }
        false
    }
}

/// The offset in `rest` of the first line after its first one, starting at or before `reach`,
/// that is a whole definition by itself, from its first column: the definition that a
/// definition cut short (no `= Type;`) runs into.
fn next_definition_line(rest: &str, reach: usize) -> Option<usize> {
    let mut start = rest.find('\n')? + 1;
    while start <= reach && start < rest.len() {
        let end = rest[start..].find('\n').map_or(rest.len(), |i| start + i);
        let line = rest[start..end].trim_end_matches('\r');
        if line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && TlParser::parse(Rule::definition, line).is_ok()
        {
            return Some(start);
        }
        start = end + 1;
    }
    None
}

/// The error for `text`, a definition at `offset` cut short before the next one: the caret
/// goes where the definition stops.
fn incomplete(map: &SourceMap<'_>, offset: usize, text: &str) -> Diagnostic {
    // The last line with code on it (comments between the two definitions do not count).
    let end = text
        .lines()
        .scan(0, |at, line| {
            let start = *at;
            *at += line.len() + 1;
            Some((start, line))
        })
        .filter(|(_, line)| {
            let code = line.trim();
            !code.is_empty() && !code.starts_with("//")
        })
        .last()
        .map_or(0, |(start, line)| start + line.trim_end().len());
    let name = text.split_whitespace().next().unwrap_or("");
    let missing = if text.contains('=') {
        "a result type and `;`"
    } else {
        "`= Type;`"
    };
    map.diagnostic(
        Severity::Error,
        offset + end,
        1,
        format!(
            "syntax error: incomplete definition `{name}`: expected {missing} before the next definition"
        ),
    )
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

    /// Walking in two halves gives what one walk gives, wherever the split falls: fixtures, bad
    /// fixtures, the real schemas, and text made to fool the split (a blank line inside a
    /// definition, section lines, `LAYER` lines and errors on both sides).
    #[test]
    fn a_split_walk_equals_one_walk() {
        let tricky = "// LAYER 1\nfoo#1 x:int = Foo;\n\n// doc\nbar#2\n\n  y:int = Bar;\n\n---functions---\n\n\
                      baz#3 = Foo;\nbad x: = Foo;\n\n// LAYER 2\n\n---types---\n\nqux#4 = Foo; // trailing\n\n\
                      // doc\nquux#5 = Foo;\n\n---nonsense---\n\nlast#6 = Foo\n\nend#7 = Foo;\n";
        let mut texts = vec![("tricky.tl".to_string(), tricky.to_string(), usize::MAX)];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["tests/fixtures", "tests/fixtures/bad"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "tl") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    texts.push((path.display().to_string(), text, usize::MAX));
                }
            }
        }
        let mut stack = vec![root.join("../shared/schemas")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "tl") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    // Real schemas: a few split points, spread over the file.
                    let step = text.len() / 5 + 1;
                    texts.push((path.display().to_string(), text, step));
                }
            }
        }
        let mut kept = 0;
        for (name, text, step) in &texts {
            let map = SourceMap::new(name, text);
            let whole = parse_split(&map, text, None);
            let mut from = 0;
            while let Some(split) = split_point(text, from) {
                let (schema, diags, used) = parse_split(&map, text, Some(split));
                assert_eq!(schema, whole.0, "{name} split at {split}");
                assert_eq!(diags, whole.1, "{name} split at {split}");
                kept += usize::from(used);
                from = if *step == usize::MAX {
                    split + 1
                } else {
                    split + *step
                };
            }
        }
        assert!(kept > 10, "the split walk was kept only {kept} times");
    }

    #[test]
    fn a_definition_cut_short_is_one_error_at_its_own_line() {
        for text in [
            "a = A;\nuser#1 flags:# id:long access\nb#2 x:int = B;\nc = C;\n",
            "a = A;\nuser#1 flags:# id:long acc\nb x:int = B;\nc = C;\n",
            "a = A;\nuser#1 flags:# id:long =\n// b's doc\nb#2 x:int = B;\nc = C;\n",
            "a = A;\nuser#1 flags:# id:long h:flags.0?\nb#2 x:int = B;\nc = C;\n",
        ] {
            let (s, d) = parse_str(text);
            assert_eq!(d.len(), 1, "{text}: {d:#?}");
            assert_eq!(d[0].line, 2, "{text}: {d:#?}");
            assert!(
                d[0].message.contains("incomplete definition `user#1`"),
                "{d:#?}"
            );
            assert_eq!(d[0].column, d[0].source_line.trim_end().chars().count() + 1);
            let names: Vec<&str> = s.definitions.iter().map(|d| d.name.as_str()).collect();
            assert_eq!(names, ["a", "b", "c"], "{text}");
        }
        // A definition over several lines is still one definition.
        let (s, d) = parse_str("user#1 flags:#\n    id:long\n    = User;\nb = B;\n");
        assert!(d.is_empty(), "{d:#?}");
        assert_eq!(s.definitions.len(), 2);
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
