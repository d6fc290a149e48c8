//! `Clone`, `PartialEq`, `Debug` and `Serializable` of generated enums, through a visitor of
//! their current variant.

use std::fmt;

use super::Serializable;

/// A generated enum (a boxed type), seen one variant at a time: its `Clone`, `PartialEq`,
/// `Debug` and [`Serializable`] impls ([`impl_enum_traits!`](crate::impl_enum_traits)) are generic
/// code here over this one method, instead of four matches per enum in the generated crate.
pub trait Variants: Sized + 'static {
    /// Calls `v` with the current variant: its name and its constructor (a unit variant's
    /// constructor is the unit struct of that name).
    fn visit<V: Visit<Self>>(&self, v: V) -> V::Output;
}

/// What is done with the variant [`Variants::visit`] finds.
pub trait Visit<E> {
    /// The result.
    type Output;
    /// A variant that holds its constructor, `name(x)`.
    fn variant<T: Variant<E>>(self, name: &'static str, x: &T) -> Self::Output;
    /// A variant without a value, `name`, and its constructor.
    #[inline]
    fn unit<T: Variant<E>>(self, name: &'static str, x: &T) -> Self::Output
    where
        Self: Sized,
    {
        self.variant(name, x)
    }
}

/// What the visitors need of a variant's constructor `T` of enum `E`: every generated
/// constructor has it.
pub trait Variant<E>: Clone + PartialEq + fmt::Debug + Serializable + Into<E> + 'static {}

impl<E, T: Clone + PartialEq + fmt::Debug + Serializable + Into<E> + 'static> Variant<E> for T {}

struct CloneVariant;

impl<E> Visit<E> for CloneVariant {
    type Output = E;
    #[inline]
    fn variant<T: Variant<E>>(self, _: &'static str, x: &T) -> E {
        x.clone().into()
    }
}

struct WriteVariant<'a>(&'a mut Vec<u8>);

impl<E> Visit<E> for WriteVariant<'_> {
    type Output = ();
    #[inline(always)]
    fn variant<T: Variant<E>>(self, _: &'static str, x: &T) {
        x.serialize(self.0);
    }
}

struct DebugVariant<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl<E> Visit<E> for DebugVariant<'_, '_> {
    type Output = fmt::Result;
    #[inline]
    fn variant<T: Variant<E>>(self, name: &'static str, x: &T) -> fmt::Result {
        self.0.debug_tuple(name).field(x).finish()
    }
    #[inline]
    fn unit<T: Variant<E>>(self, name: &'static str, _: &T) -> fmt::Result {
        self.0.write_str(name)
    }
}

/// Compares the variant found with the other value's.
struct EqVariant<'a, E>(&'a E);

impl<E: Variants> Visit<E> for EqVariant<'_, E> {
    type Output = bool;
    #[inline]
    fn variant<T: Variant<E>>(self, _: &'static str, x: &T) -> bool {
        self.0.visit(SameVariant(x))
    }
}

/// Whether the variant found holds a `T` equal to this one: the variants of an enum hold
/// distinct constructor types, so the type tells the variant.
struct SameVariant<'a, T>(&'a T);

impl<E, T: PartialEq + 'static> Visit<E> for SameVariant<'_, T> {
    type Output = bool;
    #[inline]
    fn variant<U: Variant<E>>(self, _: &'static str, y: &U) -> bool {
        (y as &dyn std::any::Any)
            .downcast_ref::<T>()
            .is_some_and(|y| y == self.0)
    }
}

/// `Clone::clone` of a generated enum: the variant's constructor cloned and wrapped again.
#[inline]
pub fn enum_clone<E: Variants>(value: &E) -> E {
    value.visit(CloneVariant)
}

/// `PartialEq::eq` of two generated enums: the same variant with equal constructors.
#[inline]
pub fn enum_eq<E: Variants>(a: &E, b: &E) -> bool {
    a.visit(EqVariant(b))
}

/// `Debug::fmt` of a generated enum, as `#[derive(Debug)]` prints it (`User(PeerUser { .. })`,
/// `Empty`).
#[inline]
pub fn enum_debug<E: Variants>(value: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    value.visit(DebugVariant(f))
}

/// [`Serializable::serialize`] of a generated enum: the variant's constructor, boxed. Always
/// inlined, with its visitor, so that writing an enum costs what a `match` of its own did
/// (with `#[inline]` alone, the compiler may leave the visitor a call).
#[inline(always)]
pub fn enum_serialize<E: Variants>(value: &E, out: &mut Vec<u8>) {
    value.visit(WriteVariant(out));
}

/// Implements `Clone`, `PartialEq`, `Debug` and [`Serializable`] for generated enums (each
/// implementing [`Variants`]) through [`enum_clone`], [`enum_eq`], [`enum_debug`] and
/// [`enum_serialize`]: the behaviour of the derives, with the per-variant code in one method.
#[macro_export]
macro_rules! impl_enum_traits {
    ($($t:ident),* $(,)?) => {$(
        impl ::core::clone::Clone for $t {
            #[inline]
            fn clone(&self) -> Self {
                $crate::tl::wire::enum_clone(self)
            }
        }
        impl ::core::cmp::PartialEq for $t {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                $crate::tl::wire::enum_eq(self, other)
            }
        }
        impl ::core::fmt::Debug for $t {
            #[inline]
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                $crate::tl::wire::enum_debug(self, f)
            }
        }
        impl $crate::tl::wire::Serializable for $t {
            #[inline]
            fn serialize(&self, out: &mut ::std::vec::Vec<u8>) {
                $crate::tl::wire::enum_serialize(self, out)
            }
        }
    )*};
}
