//! Target languages: the naming rules of each language the generator writes.
//!
//! A language's rules say how TL names become identifiers, how TL types are spelled and where
//! items live. The renderer ([`crate::render`]) turns them into view models for the language's
//! templates; `tlgen diff` uses them to tell which schema changes break generated code.

pub mod rust;
