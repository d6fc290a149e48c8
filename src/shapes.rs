//! Facts about a schema's types that decide the shape of the generated code, in any target
//! language: which enum variants hold their constructor behind a pointer, which fields need
//! one to have a finite size, and which values have a default. The renderer and `tlgen diff`
//! share them, so that the diff judges the code exactly as it is generated.

use std::collections::BTreeSet;

use crate::ir::{Definition, FieldKind, Name, Schema, Section, Ty};

/// The facts for one schema. Every step is linear in the schema's size and keeps its own
/// stacks, so that no schema, however its types nest, can make it slow or overflow the
/// thread's stack.
pub struct Shapes<'a> {
    schema: &'a Schema,
    /// For each constructor (by its index in `schema.constructors`) that lies on a cycle of
    /// bare fields (required or optional), the cycle's number; `None` elsewhere.
    cycle: Vec<Option<usize>>,
    /// Constructors whose structs can implement `Default`.
    defaultable: BTreeSet<Name>,
    /// Constructors that hold themselves through required bare fields alone.
    infinite: Vec<usize>,
}

impl<'a> Shapes<'a> {
    /// Computes the facts for `schema`.
    pub fn new(schema: &'a Schema) -> Self {
        let mut cycle = vec![None; schema.constructors.len()];
        for (component, nodes) in tarjan(&bare_edges(schema, false)).into_iter().enumerate() {
            for v in nodes {
                if let Some(slot) = cycle.get_mut(v) {
                    *slot = Some(component);
                }
            }
        }
        let mut shapes = Self {
            schema,
            cycle,
            defaultable: BTreeSet::new(),
            infinite: infinite(schema),
        };
        shapes.defaultable = shapes.defaultable_structs();
        shapes
    }

    fn index(&self, c: &Name) -> Option<usize> {
        ctor_index(self.schema, c)
    }

    /// Whether the enum variant of constructor `c` holds it in a `Box`: unless the constructor
    /// is small, that is without fields (a unit variant) or with at most two required fields
    /// that are all numbers of at most eight bytes (`int`, `long`, `double`, `Bool`, `#`) and no
    /// flags word (`peerUser user_id:long`, `messageEntityBold offset:int length:int`).
    ///
    /// The rule reads no size estimate: a variant changes between boxed and inline only when its
    /// own constructor crosses that line (gains its first field or loses its last, gains a third
    /// field, a flags word or a field that is not a number), never for a change elsewhere. Small
    /// constructors stay inline because a decode would otherwise allocate for every peer and
    /// entity; everything else is boxed, so that no enum is wider than three words. Small constructors
    /// hold no other type, so they are never on a cycle. BENCHMARKS.md compares this rule with
    /// boxing by size, boxing every variant with fields and boxing cycles only.
    pub fn variant_boxed(&self, c: &Name) -> bool {
        (self.schema.constructor(c)).is_some_and(|d| !d.fields.is_empty() && !is_small(d))
    }

    /// Whether field `field` of `d` holds its value behind a pointer: a bare constructor (`%T`,
    /// or a constructor's name as a type; required or optional) on a cycle of bare fields with
    /// `d`. Every other cycle passes through an enum variant, which is boxed already.
    pub fn field_boxed(&self, d: &Definition, field: usize) -> bool {
        let Some(here) = self.index(&d.name).and_then(|v| self.cycle[v]) else {
            return false;
        };
        let held = d.fields.get(field).and_then(|f| match &f.kind {
            FieldKind::Required {
                ty: Ty::Bare { constructor },
            }
            | FieldKind::Optional {
                ty: Ty::Bare { constructor },
                ..
            } => Some(constructor),
            _ => None,
        });
        held.and_then(|c| self.index(c))
            .is_some_and(|v| self.cycle[v] == Some(here))
    }

    /// Whether `c` holds itself through required bare fields alone (`node next:%Node = Node;`):
    /// no value of it is finite, on the wire or in memory.
    pub fn is_infinite(&self, c: &Name) -> bool {
        self.index(c)
            .is_some_and(|v| self.infinite.binary_search(&v).is_ok())
    }

    /// The constructors whose structs can implement `Default`: those whose stored fields all have
    /// a default (the least fixed point: a struct that holds itself bare, through any chain,
    /// has none). Walked children first, with a stack of its own.
    fn defaultable_structs(&self) -> BTreeSet<Name> {
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            New,
            Open,
            Done(bool),
        }
        let ctors = &self.schema.constructors;
        let index = |n: &Name| ctor_index(self.schema, n);
        // A bare field is the only one whose default depends on another struct's.
        let bare = |d: &'a Definition| {
            d.fields.iter().filter_map(move |f| match &f.kind {
                FieldKind::Required {
                    ty: Ty::Bare { constructor },
                } => Some(index(constructor)),
                _ => None,
            })
        };
        let mut state = vec![State::New; ctors.len()];
        for root in 0..ctors.len() {
            let mut stack = vec![root];
            while let Some(&v) = stack.last() {
                if let State::Done(_) = state[v] {
                    stack.pop();
                    continue;
                }
                let first_visit = state[v] == State::New;
                state[v] = State::Open;
                let pending: Vec<usize> = bare(&ctors[v])
                    .flatten()
                    .filter(|&w| state[w] == State::New)
                    .collect();
                if first_visit && !pending.is_empty() {
                    stack.extend(pending);
                    continue;
                }
                // Every bare field's struct is decided, or open: in a cycle with this one.
                let own = ctors[v].fields.iter().all(|f| match &f.kind {
                    FieldKind::Required {
                        ty: Ty::Bare { constructor },
                    } => index(constructor).is_some_and(|w| state[w] == State::Done(true)),
                    _ => self.field_default(f),
                });
                state[v] = State::Done(own);
                stack.pop();
            }
        }
        (0..ctors.len())
            .filter(|&v| state[v] == State::Done(true))
            .map(|v| ctors[v].name.clone())
            .collect()
    }

    fn field_default(&self, f: &crate::ir::Field) -> bool {
        match &f.kind {
            FieldKind::Required { ty } => self.ty_default(ty),
            _ => true,
        }
    }

    fn ty_default(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Int512 => false,
            Ty::Boxed { name } => self.default_variant(name).is_some(),
            Ty::Bare { constructor } => self.defaultable.contains(constructor),
            _ => true,
        }
    }

    /// Whether the struct generated for `d` implements `Default`: every stored field has a
    /// default (`None`, `false`, zero, empty, an enum's default variant).
    pub fn has_default(&self, d: &Definition) -> bool {
        match d.section {
            Section::Types => self.defaultable.contains(&d.name),
            Section::Functions => d.fields.iter().all(|f| self.field_default(f)),
        }
    }

    /// The default variant of boxed type `name`: a constructor without fields whose name ends
    /// in `Empty` (`inputPeerEmpty`, `messageMediaEmpty`), the first by name if there are
    /// several. Other types have no default: `updatesTooLong` has no fields either, but nobody
    /// means to send it.
    pub fn default_variant(&self, name: &Name) -> Option<&'a Name> {
        let schema = self.schema;
        schema.types.get(name)?.constructors.iter().find(|c| {
            c.name.ends_with("Empty") && schema.constructor(c).is_some_and(|d| d.fields.is_empty())
        })
    }
}

/// Whether constructor `d` is small enough to be held inline by its enum: at most two required
/// fields, all numbers of at most eight bytes, and no flags word.
fn is_small(d: &Definition) -> bool {
    d.fields.len() <= 2
        && d.fields.iter().all(|f| {
            matches!(
                &f.kind,
                FieldKind::Required {
                    ty: Ty::Int | Ty::Long | Ty::Double | Ty::Nat | Ty::Bool
                }
            )
        })
}

/// The constructors that hold themselves through required bare fields alone
/// (`node next:%Node = Node;`): no value of them is finite, so a schema with one is in error.
pub fn infinite_constructors(schema: &Schema) -> Vec<&Name> {
    infinite(schema)
        .into_iter()
        .filter_map(|v| schema.constructors.get(v).map(|d| &d.name))
        .collect()
}

/// The constructors (by index, sorted) that hold themselves through required bare fields.
fn infinite(schema: &Schema) -> Vec<usize> {
    let mut found: Vec<usize> = tarjan(&bare_edges(schema, true))
        .into_iter()
        .flatten()
        .collect();
    found.sort_unstable();
    found
}

/// The graph of bare fields: an edge from each constructor to the constructor of each of its
/// bare fields (required ones only, or optional ones too).
fn bare_edges(schema: &Schema, required_only: bool) -> Vec<Vec<usize>> {
    (schema.constructors.iter())
        .map(|d| {
            d.fields
                .iter()
                .filter_map(|f| match &f.kind {
                    FieldKind::Required {
                        ty: Ty::Bare { constructor },
                    } => ctor_index(schema, constructor),
                    FieldKind::Optional {
                        ty: Ty::Bare { constructor },
                        ..
                    } if !required_only => ctor_index(schema, constructor),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

fn ctor_index(schema: &Schema, c: &Name) -> Option<usize> {
    (schema.constructors)
        .binary_search_by(|d| d.name.cmp(c))
        .ok()
}

/// The strongly connected components of the graph `holds` (node `v` has edges to
/// `holds[v]`) that contain a cycle: more than one node, or a node with an edge to itself.
/// Tarjan's algorithm, with a call stack of its own.
fn tarjan(holds: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = holds.len();
    let mut index: Vec<Option<usize>> = vec![None; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut found = Vec::new();
    for root in 0..n {
        if index[root].is_some() {
            continue;
        }
        let mut calls = vec![(root, 0)];
        index[root] = Some(next);
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut edge)) = calls.last_mut() {
            if let Some(&w) = holds[v].get(*edge) {
                *edge += 1;
                match index.get(w).copied() {
                    Some(None) => {
                        index[w] = Some(next);
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        calls.push((w, 0));
                    }
                    Some(Some(iw)) if on_stack[w] => low[v] = low[v].min(iw),
                    _ => {}
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if Some(low[v]) == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 || holds[v].contains(&v) {
                    found.push(component);
                }
            }
        }
    }
    found
}

/// Whether a type is written with every id (no bare constructor, no bare vector inside).
pub(crate) fn all_boxed(ty: &Ty) -> bool {
    match ty {
        Ty::Bare { .. } => false,
        Ty::Vector { boxed, item } => *boxed && all_boxed(item),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(text: &str) -> Schema {
        let (schema, diags) = crate::check("f.tl", text);
        schema.unwrap_or_else(|| panic!("{diags:?}"))
    }

    /// The IR of `text` whatever the checker says of it.
    fn unchecked(text: &str) -> Schema {
        let map = crate::diag::SourceMap::new("f.tl", text);
        let (ast, _) = crate::parse::parse(&map, text);
        crate::ir::build(&map, text, &ast)
            .0
            .expect("the IR is built")
    }

    #[test]
    fn variants_are_boxed_unless_their_constructor_is_small() {
        let s = schema(
            "\
            plain#1 text:string = Text;
            maybe#5 flags:# a:flags.0?long = Maybe;
            bold#8 text:Rich = Rich;
            empty#9 = Rich;
            user#2 id:long = Peer;
            range#3 offset:int length:int = Peer;
            three#4 a:int b:int c:int = Peer;
            flagged#6 flags:# = Peer;
            named#7 id:long name:string = Peer;
            ",
        );
        let shapes = Shapes::new(&s);
        let boxed = |name: &str| shapes.variant_boxed(&Name::parse(name));
        for name in ["plain", "maybe", "bold", "three", "flagged", "named"] {
            assert!(boxed(name), "{name}");
        }
        for name in ["empty", "user", "range"] {
            assert!(!boxed(name), "{name}");
        }
    }

    #[test]
    fn bare_fields_on_a_cycle_are_boxed_and_infinite_ones_reported() {
        let text = "\
            node#1 flags:# name:string next:flags.0?%Node children:vector<node> = Node;
            a#2 b:%B = A;
            b#3 flags:# a:flags.0?%A = B;
            loop#4 again:%Loop = Loop;
            leaf#5 n:%Node = Leaf;
            ";
        let s = unchecked(text);
        let shapes = Shapes::new(&s);
        let def = |n: &str| s.constructor(&Name::parse(n)).unwrap();
        assert!(shapes.field_boxed(def("node"), 2));
        assert!(
            !shapes.field_boxed(def("node"), 3),
            "a vector breaks the cycle"
        );
        assert!(shapes.field_boxed(def("a"), 0) && shapes.field_boxed(def("b"), 1));
        assert!(!shapes.field_boxed(def("leaf"), 0), "not on a cycle");
        assert!(shapes.is_infinite(&Name::parse("loop")));
        assert!(
            !shapes.is_infinite(&Name::parse("a")) && !shapes.is_infinite(&Name::parse("node"))
        );
        // The checker reports it, at its name.
        let (checked, diags) = crate::check("f.tl", text);
        assert!(checked.is_none());
        let errors: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == crate::diag::Severity::Error)
            .collect();
        assert_eq!(errors.len(), 1, "{diags:?}");
        assert!(
            errors[0].message.contains("`loop` holds itself"),
            "{}",
            errors[0].message
        );
    }

    /// A schema whose constructors hold each other bare in a chain 100,000 long is walked
    /// without deep recursion (on a thread with a 256 KiB stack).
    #[test]
    fn a_long_chain_of_bare_fields_is_walked_without_recursion() {
        let depth = 100_000;
        let mut text = String::new();
        for i in 0..depth {
            text.push_str(&format!("c{i} x:%T{} = T{i};\n", i + 1));
        }
        text.push_str(&format!("c{depth} flags:# back:flags.0?%T0 = T{depth};\n"));
        let s = schema(&text);
        let boxed = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let shapes = Shapes::new(&s);
                let def = |i: usize| s.constructor(&Name::parse(&format!("c{i}"))).unwrap();
                let boxed = (0..depth)
                    .filter(|&i| shapes.field_boxed(def(i), 0))
                    .count();
                (
                    boxed,
                    shapes.field_boxed(def(depth), 1),
                    shapes.is_infinite(&Name::parse("c0")),
                )
            })
            .unwrap()
            .join()
            .unwrap();
        // The optional `back` closes one cycle through every constructor: each bare field on
        // it is boxed, and the chain has finite values.
        assert_eq!(boxed, (depth, true, false));
    }

    #[test]
    fn only_an_empty_constructor_is_a_default() {
        let s = schema(
            "\
            inputPeerEmpty#1 = InputPeer;
            inputPeerSelf#2 = InputPeer;
            updatesTooLong#3 = Updates;
            call#4 peer:InputPeer = Bool;
            send#5 updates:Updates = Bool;
            ",
        );
        let shapes = Shapes::new(&s);
        assert_eq!(
            shapes.default_variant(&Name::parse("InputPeer")),
            Some(&Name::parse("inputPeerEmpty"))
        );
        assert_eq!(shapes.default_variant(&Name::parse("Updates")), None);
        assert!(shapes.has_default(s.constructor(&Name::parse("call")).unwrap()));
        assert!(!shapes.has_default(s.constructor(&Name::parse("send")).unwrap()));
    }
}
