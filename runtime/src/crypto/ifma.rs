//! AVX-512 IFMA Montgomery arithmetic in radix 2^52 for the constant-time powers of 1024- and 2048-bit moduli, chosen at run time.
//!
//! A number is `L` limbs of 52 bits in the 64-bit lanes of `K` zmm registers (2048 bits: 40
//! limbs in 5 registers; 1024 bits: 21 limbs in 3), so that `vpmadd52luq` / `vpmadd52huq`
//! multiply eight limbs by one and add the low or high 52 bits of each product to eight
//! accumulators. With `R = 2^(52L)` (`R > 4n`), the "almost Montgomery" product
//! `a·b/R mod n` takes and returns values below `2n` and never subtracts `n`: one masked
//! subtraction at the very end (in [`super::mont`]) gives the fully reduced power.
//!
//! The limbs are strided: limb `p = K·l + r` sits in lane `l` of register `r`. Moving a number
//! down one limb is then a renaming of the registers plus one lane shift of a single register,
//! instead of a shift across all `K` (lane shifts cost about as much as a product on Zen 4).
//!
//! A product runs over the `L` limbs `b_i` of `b` (operand scanning): the accumulator gets
//! `a·b_i + m_i·n` (low halves at the limb, high halves one limb up), where
//! `m_i = acc_0 · (−n⁻¹) mod 2^52` clears its lowest limb, then moves down one limb. The lanes
//! are not normalized inside the loop (each stays below `4L · 2^52 < 2^60`). The lowest limb,
//! which `m_i` needs, is kept exact in general-purpose registers: limbs 1 and 2 of the
//! accumulator are read from the vectors one and two steps ahead, and the few scalar
//! products they still lack (`a_0 b_i`, `a_1 b_i`, `n_0 m`, `n_1 m`, `n_2 m`) are added
//! there, so that the chain from one `m_i` to the next is one product, one addition, one
//! product and never waits for the vector units. At the end, two carry passes (the second
//! one resolving the ripple of 0/1 carries with one small addition over lane masks) bring
//! every limb below 2^52 again.
//!
//! A power runs entirely inside one `#[target_feature]` function: conversion from 64-bit limbs,
//! the 32-entry table of [`super::mont::Modulus::pow`]'s fixed 5-bit windows (or the two
//! 64-entry tables of the comb), the squarings and products, every table entry read by a full
//! scan that combines entries with all-ones / all-zeros masks, and the conversion back. The
//! schedule of operations and memory addresses depends only on the exponent's length.
//!
//! # Why `unsafe`
//!
//! Calling a `#[target_feature]` function from code compiled without those features is
//! `unsafe`; this module has the only such calls of the crate, in the methods of
//! [`IfmaModulus`], which exists only after `is_x86_feature_detected!` confirmed AVX-512F and
//! AVX-512 IFMA. Everything else (the intrinsics included) is safe Rust. The reason is speed:
//! the 52-bit multiply-adds make the 2048-bit powers of the auth-key exchange several times
//! faster than the portable code; BENCHMARKS.md (Crypto) has the measurements, which
//! `cargo bench -p tlgen-runtime --features mtproto --bench handshake` repeats (the portable
//! code alone with `--cfg tlgen_portable_arithmetic`).

use std::arch::x86_64::{
    __m512i, _mm256_extract_epi64, _mm512_add_epi64, _mm512_alignr_epi64, _mm512_and_si512,
    _mm512_castsi512_si128, _mm512_cmpeq_epi64_mask, _mm512_cmpgt_epu64_mask,
    _mm512_extracti64x4_epi64, _mm512_madd52hi_epu64, _mm512_madd52lo_epu64, _mm512_mask_add_epi64,
    _mm512_mask_set1_epi64, _mm512_or_si512, _mm512_set1_epi64, _mm512_setr_epi64,
    _mm512_setzero_si512, _mm512_srai_epi64, _mm512_srli_epi64, _mm512_sub_epi64, _mm512_xor_si512,
    _mm_cvtsi128_si64,
};
use std::hint::black_box;

use num_bigint::BigUint;
use num_traits::One;

use super::mont::{window, windows, COMB_TEETH, WINDOW};

/// Bits per limb.
const LIMB_BITS: usize = 52;
/// The low 52 bits.
const MASK: u64 = (1 << LIMB_BITS) - 1;
/// Registers of the widest number (2048 bits).
const MAX_VECTORS: usize = 5;

/// Limbs of a number as they sit in its registers: eight per register, low limb first.
type Lanes = [[u64; 8]; MAX_VECTORS];

/// Whether this CPU (and OS) can run the IFMA path. Building with
/// `RUSTFLAGS='--cfg tlgen_portable_arithmetic'` answers no, to measure the portable path on
/// the same machine.
pub(crate) fn detected() -> bool {
    !cfg!(tlgen_portable_arithmetic)
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512ifma")
}

/// The moduli widths with an IFMA path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Width {
    /// 1024 bits (RSA-CRT halves): 21 limbs in 3 registers.
    Bits1024,
    /// 2048 bits (DH, RSA): 40 limbs in 5 registers.
    Bits2048,
}

impl Width {
    /// Limbs of 52 bits: `52L >= 64N + 2`, so that `R = 2^(52L) > 4n`, and a multiple of
    /// the registers.
    fn limbs(self) -> usize {
        match self {
            Width::Bits1024 => 21,
            Width::Bits2048 => 40,
        }
    }

    /// Registers per number.
    fn vectors(self) -> usize {
        match self {
            Width::Bits1024 => 3,
            Width::Bits2048 => 5,
        }
    }
}

/// A modulus with its radix-2^52 Montgomery constants, for the IFMA path. A value of this type
/// exists only when [`detected`] said yes: its methods rely on that to call the
/// `#[target_feature]` functions.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct IfmaModulus {
    width: Width,
    /// `n` in radix 2^52 (as every number here: strided, see the module documentation).
    n: Lanes,
    /// `−n⁻¹ mod 2^52`.
    k0: u64,
    /// `R mod n`: one in Montgomery form.
    one: Lanes,
    /// `R² mod n`: multiplying by it converts into Montgomery form.
    r2: Lanes,
}

impl IfmaModulus {
    /// The constants for an odd `n` of at most `64 * limbs` bits, or `None` when the CPU lacks
    /// AVX-512 IFMA or `limbs` is neither 16 nor 32 (other sizes keep the portable path).
    pub(crate) fn new(n: &BigUint, limbs: usize) -> Option<Self> {
        let width = match limbs {
            16 => Width::Bits1024,
            32 => Width::Bits2048,
            _ => return None,
        };
        if !detected() || !n.bit(0) || n.bits() > 64 * limbs as u64 {
            return None;
        }
        let r = BigUint::one() << (LIMB_BITS * width.limbs());
        let stride = width.vectors();
        let n_lanes = lanes_of_big(n, stride)?;
        // Newton's iteration doubles the correct low bits of an inverse of the odd n₀ (n₀ is
        // its own inverse modulo 8): 3 → 6 → 12 → 24 → 48 → 96 bits.
        let n0 = n_lanes[0][0];
        let mut inverse = n0;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inverse)));
        }
        Some(Self {
            width,
            n: n_lanes,
            k0: inverse.wrapping_neg() & MASK,
            one: lanes_of_big(&(&r % n), stride)?,
            r2: lanes_of_big(&(&r * &r % n), stride)?,
        })
    }

    /// `base^exp mod n`, almost reduced (at most `n`), into `out` (64-bit limbs, little-endian),
    /// in constant time for a secret `exp` (big-endian, every bit processed) and any
    /// `base < 2^(64 · out.len())`, the same schedule as [`super::mont::Modulus::pow`].
    #[allow(unsafe_code)]
    pub(crate) fn pow(&self, base: &[u64], exp: &[u8], out: &mut [u64]) {
        // `self` exists, so `new` saw AVX-512F and AVX-512 IFMA on this CPU, all that the
        // `#[target_feature]` functions need.
        match self.width {
            // SAFETY: the features were detected before `self` was built (see `pow`).
            Width::Bits1024 => unsafe { pow::<3, 21>(self, base, exp, out) },
            // SAFETY: the features were detected before `self` was built (see `pow`).
            Width::Bits2048 => unsafe { pow::<5, 40>(self, base, exp, out) },
        }
    }

    /// The two comb tables of [`super::mont::FixedBase`] for `base < 2^(64 · limbs)` and rows
    /// of `columns` bits (`half` of them per table), entries in radix-2^52 Montgomery form.
    #[allow(unsafe_code)]
    pub(crate) fn comb_tables(&self, base: &[u64], columns: usize, half: usize) -> CombTables {
        match self.width {
            // SAFETY: the features were detected before `self` was built (see `pow`).
            Width::Bits1024 => unsafe { comb_tables::<3, 21>(self, base, columns, half) },
            // SAFETY: the features were detected before `self` was built (see `pow`).
            Width::Bits2048 => unsafe { comb_tables::<5, 40>(self, base, columns, half) },
        }
    }

    /// The comb power from `tables` (built by [`IfmaModulus::comb_tables`] for this modulus):
    /// one squaring and two products per item of `steps` (the lower and upper table indices),
    /// almost reduced (at most `n`) into `out`.
    #[allow(unsafe_code)]
    pub(crate) fn comb_pow(
        &self,
        tables: &CombTables,
        steps: impl Iterator<Item = (usize, usize)>,
        out: &mut [u64],
    ) {
        match self.width {
            // SAFETY: the features were detected before `self` was built (see `pow`).
            Width::Bits1024 => unsafe { comb_pow::<3, 21>(self, tables, steps, out) },
            // SAFETY: the features were detected before `self` was built (see `pow`).
            Width::Bits2048 => unsafe { comb_pow::<5, 40>(self, tables, steps, out) },
        }
    }

    /// `a·b/R mod n` (almost reduced) for `a, b < 2n` in radix 2^52, for the tests.
    #[cfg(test)]
    #[allow(unsafe_code)]
    fn product(&self, a: &Lanes, b: &Lanes) -> Lanes {
        match self.width {
            // SAFETY: the features were detected before `self` was built (see `pow`).
            Width::Bits1024 => unsafe { product::<3, 21>(self, a, b) },
            // SAFETY: the features were detected before `self` was built (see `pow`).
            Width::Bits2048 => unsafe { product::<5, 40>(self, a, b) },
        }
    }
}

/// The two comb tables (`2 · 2^COMB_TEETH` entries), each entry `MAX_VECTORS` registers of
/// limbs (the top ones zero for 1024 bits).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CombTables(Vec<Lanes>);

/// The constants of one modulus in registers, for [`amm`].
struct Kernel<const K: usize, const L: usize> {
    n: [__m512i; K],
    /// Limbs 0, 1 and 2 of `n`; `_up`: the limb times 2^12, so that the high 64-bit half of a
    /// product with it is the high 52-bit half of the product with the limb.
    n0_up: u64,
    n1: u64,
    n1_up: u64,
    n2: u64,
    k0: u64,
}

/// A number in registers: `K` vectors of eight limbs.
type Num<const K: usize> = [__m512i; K];

#[target_feature(enable = "avx512f,avx512ifma")]
fn kernel<const K: usize, const L: usize>(m: &IfmaModulus) -> Kernel<K, L> {
    Kernel {
        n: load(&m.n),
        n0_up: m.n[0][0] << 12,
        n1: m.n[1][0],
        n1_up: m.n[1][0] << 12,
        n2: m.n[2][0],
        k0: m.k0,
    }
}

/// [`IfmaModulus::pow`] on `K` registers of `L` limbs.
#[target_feature(enable = "avx512f,avx512ifma")]
fn pow<const K: usize, const L: usize>(m: &IfmaModulus, base: &[u64], exp: &[u8], out: &mut [u64]) {
    let c = kernel::<K, L>(m);
    let one = load::<K>(&m.one);
    let mut table = [one; 1 << WINDOW];
    // base < 2^(64N) < R and R² mod n < n: the product is below 2n.
    table[1] = amm(&c, &load(&lanes_of(base, K)), &load(&m.r2));
    for i in 2..table.len() {
        table[i] = if i % 2 == 0 {
            amm(&c, &table[i / 2], &table[i / 2])
        } else {
            amm(&c, &table[i - 1], &table[1])
        };
    }
    let mut acc = one;
    for (step, (position, width)) in windows(exp.len(), WINDOW).enumerate() {
        let entry = select(&table, window(exp, position, width));
        if step == 0 {
            acc = entry;
            continue;
        }
        for _ in 0..width {
            acc = amm(&c, &acc, &acc);
        }
        acc = amm(&c, &acc, &entry);
    }
    from_mont(&c, &acc, out);
}

/// [`IfmaModulus::comb_tables`] on `K` registers of `L` limbs: the same rows and entries as
/// the portable [`super::mont::FixedBase::new`].
#[target_feature(enable = "avx512f,avx512ifma")]
fn comb_tables<const K: usize, const L: usize>(
    m: &IfmaModulus,
    base: &[u64],
    columns: usize,
    half: usize,
) -> CombTables {
    let c = kernel::<K, L>(m);
    let one = load::<K>(&m.one);
    let mut rows = [one; COMB_TEETH];
    let mut upper_rows = [one; COMB_TEETH];
    let mut power = amm(&c, &load(&lanes_of(base, K)), &load(&m.r2));
    for i in 0..COMB_TEETH {
        rows[i] = power;
        for _ in 0..half {
            power = amm(&c, &power, &power);
        }
        upper_rows[i] = power;
        for _ in half..columns {
            power = amm(&c, &power, &power);
        }
    }
    let size = 1 << COMB_TEETH;
    let mut entries = vec![one; 2 * size];
    for (table, rows) in [(0, &rows), (1, &upper_rows)] {
        for v in 1..size {
            let top = (usize::BITS - 1 - v.leading_zeros()) as usize; // below COMB_TEETH
            let rest = v ^ (1 << top);
            entries[table * size + v] = if rest == 0 {
                rows[top]
            } else {
                amm(&c, &entries[table * size + rest], &rows[top])
            };
        }
    }
    let mut lanes = Vec::with_capacity(entries.len());
    for entry in &entries {
        lanes.push(store(entry));
    }
    CombTables(lanes)
}

/// [`IfmaModulus::comb_pow`] on `K` registers of `L` limbs.
#[target_feature(enable = "avx512f,avx512ifma")]
fn comb_pow<const K: usize, const L: usize>(
    m: &IfmaModulus,
    tables: &CombTables,
    steps: impl Iterator<Item = (usize, usize)>,
    out: &mut [u64],
) {
    let c = kernel::<K, L>(m);
    let (lower, upper) = tables.0.split_at(tables.0.len() / 2);
    let mut acc = load::<K>(&m.one);
    for (low, high) in steps {
        acc = amm(&c, &acc, &acc);
        acc = amm(&c, &acc, &select_stored(lower, low));
        acc = amm(&c, &acc, &select_stored(upper, high));
    }
    from_mont(&c, &acc, out);
}

/// [`IfmaModulus::product`] on `K` registers of `L` limbs.
#[cfg(test)]
#[target_feature(enable = "avx512f,avx512ifma")]
fn product<const K: usize, const L: usize>(m: &IfmaModulus, a: &Lanes, b: &Lanes) -> Lanes {
    store(&amm(&kernel::<K, L>(m), &load(a), &load(b)))
}

/// `acc / R mod n` (out of Montgomery form), at most `n` for `acc < 2n`, into 64-bit limbs.
#[target_feature(enable = "avx512f,avx512ifma")]
fn from_mont<const K: usize, const L: usize>(c: &Kernel<K, L>, acc: &Num<K>, out: &mut [u64]) {
    let mut unit = [[0u64; 8]; MAX_VECTORS];
    unit[0][0] = 1;
    // (acc + m·n) / R < (2n + R·n) / R < n + 1.
    let plain = amm(c, acc, &load(&unit));
    write_limbs64(&store(&plain), K, out);
}

/// The almost Montgomery product `a·b/R mod n` for `a, b < 2n` with limbs below 2^52: the
/// result is below `2n` (`(4n² + R·n) / R < 2n` as `4n < R`), limbs below 2^52.
#[target_feature(enable = "avx512f,avx512ifma")]
fn amm<const K: usize, const L: usize>(c: &Kernel<K, L>, a: &Num<K>, b: &Num<K>) -> Num<K> {
    const { assert!(K >= 3 && K <= MAX_VECTORS && L.is_multiple_of(K) && L <= 8 * K) };
    let zero = _mm512_setzero_si512();
    let (a0_up, a1) = (lane0(a[0]) << 12, lane0(a[1]));
    let mut digits = [[0u64; 8]; K];
    for (d, v) in digits.iter_mut().zip(b) {
        *d = store_vector(*v);
    }
    // Two accumulators that move down together, so that each register's chain per limb of b
    // is two `vpmadd52` instead of four: `x` sums the products a·b_i, `z` the multiples m_i·n.
    // After `s` limbs of a group of K, limb K·l + r of an accumulator is in lane l of
    // register (r + s) mod K. The value is t0 + Σ_{p ≥ 1} (x_p + z_p)·2^(52p), where the
    // exact lowest limb t0 (limb 0 of x + z lacks the carries that t0 gets) is kept in
    // general-purpose registers as `base` plus the products of the previous m with n₀ and
    // n₁, so that from one m to the next there is one product, one addition, one product.
    // `base` takes limb 1 of x and z when the previous limb of b began; limb 1 of z is
    // itself limb 2 read one limb of b earlier plus the products of the m between with n₁
    // and n₂, so that no m waits for the vector units. Lanes stay below 2^60 (two halves of
    // 52 bits per limb of b in each accumulator), so none of the sums overflows.
    let mut x = [zero; K];
    let mut z = [zero; K];
    let (mut base, mut m_previous, mut z2) = (0u64, 0u64, 0u64);
    // One limb of b, the `s`-th of its group; `s` is a literal so that every register index
    // is a constant (a loop over `s` would keep the accumulators in memory).
    macro_rules! limb_of_b {
        ($s:literal, $group:ident) => {
            if $s < K {
                let bi = digits[$s][$group];
                let (ab0_low, ab0_high) = mul_wide(a0_up, bi); // a₀·b_i·2^12
                let (_, nm0_high) = mul_wide(c.n0_up, m_previous);
                // The lowest limb plus a₀·b_i mod 2^52, the newest product added last.
                let y = base + (ab0_low >> 12) + (c.n1.wrapping_mul(m_previous) & MASK) + nm0_high;
                let m = y.wrapping_mul(c.k0) & MASK;
                // y + (n₀·m mod 2^52) is a multiple of 2^52: the low parts sum to 0 or
                // exactly 2^52.
                let carry = (y >> LIMB_BITS) + (((y & MASK) + MASK) >> LIMB_BITS);
                let (_, nm1_high) = mul_wide(c.n1_up, m_previous);
                let z1 = z2 + (c.n2.wrapping_mul(m_previous) & MASK) + nm1_high;
                z2 = lane0(z[($s + 2) % K]);
                let x1 = lane0(x[($s + 1) % K]);
                base = x1 + z1 + (a1.wrapping_mul(bi) & MASK) + ab0_high + carry;
                m_previous = m;
                let bv = _mm512_set1_epi64(bi.cast_signed());
                let mv = _mm512_set1_epi64(m.cast_signed());
                // Low halves at the limb; down one limb (limb 0, whose carry `base` took,
                // leaves: its register becomes the top one, one lane down); high halves,
                // which belong one limb up.
                for r in 0..K {
                    let at = (r + $s) % K;
                    x[at] = _mm512_madd52lo_epu64(x[at], a[r], bv);
                    z[at] = _mm512_madd52lo_epu64(z[at], c.n[r], mv);
                }
                x[$s] = _mm512_alignr_epi64::<1>(zero, x[$s]);
                z[$s] = _mm512_alignr_epi64::<1>(zero, z[$s]);
                for r in 0..K {
                    let at = (r + $s + 1) % K;
                    x[at] = _mm512_madd52hi_epu64(x[at], a[r], bv);
                    z[at] = _mm512_madd52hi_epu64(z[at], c.n[r], mv);
                }
            }
        };
    }
    // `group` is a lane: the second index of `digits`, which an iterator would not give.
    #[allow(clippy::needless_range_loop)]
    for group in 0..L / K {
        limb_of_b!(0, group);
        limb_of_b!(1, group);
        limb_of_b!(2, group);
        limb_of_b!(3, group);
        limb_of_b!(4, group);
    }
    for k in 0..K {
        x[k] = _mm512_add_epi64(x[k], z[k]);
    }
    let (_, nm0_high) = mul_wide(c.n0_up, m_previous);
    let t0 = base + (c.n1.wrapping_mul(m_previous) & MASK) + nm0_high;
    x[0] = _mm512_mask_set1_epi64(x[0], 1, t0.cast_signed());
    normalize(x)
}

/// Limbs below 2^52 again, for limbs below 2^63 whose value fits `8K` limbs.
#[target_feature(enable = "avx512f,avx512ifma")]
fn normalize<const K: usize>(x: Num<K>) -> Num<K> {
    let zero = _mm512_setzero_si512();
    let mask = _mm512_set1_epi64(MASK.cast_signed());
    // First pass: every limb keeps its low 52 bits and gets the carry (below 2^11) of the one
    // below it: limb K·l + r gets it from register r − 1, register 0 from lane l − 1 of the
    // last register.
    let mut carries = [zero; K];
    for (c, v) in carries.iter_mut().zip(&x) {
        *c = _mm512_srli_epi64::<52>(*v);
    }
    let mut y = [zero; K];
    for r in 0..K {
        let incoming = if r == 0 {
            _mm512_alignr_epi64::<7>(carries[K - 1], zero)
        } else {
            carries[r - 1]
        };
        y[r] = _mm512_add_epi64(_mm512_and_si512(x[r], mask), incoming);
    }
    // Second pass: a limb above 2^52 − 1 generates a carry of one, a limb equal to it passes
    // one on. One bit per lane: the K limbs of a lane form a block whose carry out is
    // generated inside or passed through; `((generate << 1) + propagate) ^ propagate` over
    // the blocks marks those that receive a carry (the binary addition does the rippling),
    // then the carries run through the K registers.
    let mut generate = [0u8; K];
    let mut propagate = [0u8; K];
    let (mut block_generate, mut block_propagate) = (0u8, u8::MAX);
    for r in 0..K {
        generate[r] = _mm512_cmpgt_epu64_mask(y[r], mask);
        propagate[r] = _mm512_cmpeq_epi64_mask(y[r], mask);
        block_generate = generate[r] | (propagate[r] & block_generate);
        block_propagate &= propagate[r];
    }
    let (g, p) = (u16::from(block_generate), u16::from(block_propagate));
    let mut carry = (((g << 1) + p) ^ p) as u8; // lanes 0..8; lane 8 is dropped on purpose
    let one = _mm512_set1_epi64(1);
    for r in 0..K {
        y[r] = _mm512_and_si512(_mm512_mask_add_epi64(y[r], carry, y[r], one), mask);
        carry = generate[r] | (propagate[r] & carry);
    }
    y
}

/// `table[index]`, reading every entry and combining with all-ones / all-zeros masks, so that
/// neither the addresses nor the instructions depend on `index`.
#[target_feature(enable = "avx512f,avx512ifma")]
fn select<const K: usize>(table: &[Num<K>], index: usize) -> Num<K> {
    let wanted = _mm512_set1_epi64(black_box(index as u64).cast_signed()); // usize is 64 bits
    let mut out = [_mm512_setzero_si512(); K];
    for (i, entry) in table.iter().enumerate() {
        let keep = entry_mask(i, wanted);
        for k in 0..K {
            out[k] = _mm512_or_si512(out[k], _mm512_and_si512(entry[k], keep));
        }
    }
    out
}

/// [`select`] over entries kept in memory as limbs.
#[target_feature(enable = "avx512f,avx512ifma")]
fn select_stored<const K: usize>(table: &[Lanes], index: usize) -> Num<K> {
    let wanted = _mm512_set1_epi64(black_box(index as u64).cast_signed()); // usize is 64 bits
    let mut out = [_mm512_setzero_si512(); K];
    for (i, entry) in table.iter().enumerate() {
        let keep = entry_mask(i, wanted);
        let entry = load::<K>(entry);
        for k in 0..K {
            out[k] = _mm512_or_si512(out[k], _mm512_and_si512(entry[k], keep));
        }
    }
    out
}

/// All ones in every lane when `i` equals the lanes of `wanted` (both below 2^63), else zero,
/// by arithmetic (`(i ^ wanted) − 1` is negative exactly when they are equal) and hidden from
/// the optimizer, which could otherwise turn the masking into a masked load.
#[target_feature(enable = "avx512f,avx512ifma")]
fn entry_mask(i: usize, wanted: __m512i) -> __m512i {
    let difference = _mm512_xor_si512(_mm512_set1_epi64((i as u64).cast_signed()), wanted);
    let sign = _mm512_sub_epi64(difference, _mm512_set1_epi64(1));
    black_box(_mm512_srai_epi64::<63>(sign))
}

/// The low and high halves of `a·b`.
fn mul_wide(a: u64, b: u64) -> (u64, u64) {
    let product = u128::from(a) * u128::from(b);
    (product as u64, (product >> 64) as u64) // the two halves, on purpose
}

/// Lane 0 of `v`.
#[target_feature(enable = "avx512f,avx512ifma")]
fn lane0(v: __m512i) -> u64 {
    _mm_cvtsi128_si64(_mm512_castsi512_si128(v)).cast_unsigned()
}

/// The first `K` registers of `x`.
#[target_feature(enable = "avx512f,avx512ifma")]
fn load<const K: usize>(x: &Lanes) -> Num<K> {
    let mut out = [_mm512_setzero_si512(); K];
    for (o, l) in out.iter_mut().zip(x) {
        *o = _mm512_setr_epi64(
            l[0].cast_signed(),
            l[1].cast_signed(),
            l[2].cast_signed(),
            l[3].cast_signed(),
            l[4].cast_signed(),
            l[5].cast_signed(),
            l[6].cast_signed(),
            l[7].cast_signed(),
        );
    }
    out
}

/// The limbs of `x` (zero past its `K` registers).
#[target_feature(enable = "avx512f,avx512ifma")]
fn store<const K: usize>(x: &Num<K>) -> Lanes {
    let mut out = [[0u64; 8]; MAX_VECTORS];
    for (o, v) in out.iter_mut().zip(x) {
        *o = store_vector(*v);
    }
    out
}

/// The eight lanes of `v`.
#[target_feature(enable = "avx512f,avx512ifma")]
fn store_vector(v: __m512i) -> [u64; 8] {
    let low = _mm512_extracti64x4_epi64::<0>(v);
    let high = _mm512_extracti64x4_epi64::<1>(v);
    [
        _mm256_extract_epi64::<0>(low).cast_unsigned(),
        _mm256_extract_epi64::<1>(low).cast_unsigned(),
        _mm256_extract_epi64::<2>(low).cast_unsigned(),
        _mm256_extract_epi64::<3>(low).cast_unsigned(),
        _mm256_extract_epi64::<0>(high).cast_unsigned(),
        _mm256_extract_epi64::<1>(high).cast_unsigned(),
        _mm256_extract_epi64::<2>(high).cast_unsigned(),
        _mm256_extract_epi64::<3>(high).cast_unsigned(),
    ]
}

/// 64-bit limbs (little-endian) as 52-bit limbs, strided over `stride` registers (limb
/// `stride·l + r` in lane `l` of register `r`); bits past `stride · 8` limbs are dropped (no
/// caller has any).
fn lanes_of(x: &[u64], stride: usize) -> Lanes {
    let mut out = [[0u64; 8]; MAX_VECTORS];
    for j in 0..stride * 8 {
        let bit = LIMB_BITS * j;
        let low = x.get(bit / 64).copied().unwrap_or(0);
        let high = x.get(bit / 64 + 1).copied().unwrap_or(0);
        let pair = (u128::from(high) << 64) | u128::from(low);
        if let Some(limb) = out.get_mut(j % stride).and_then(|v| v.get_mut(j / stride)) {
            *limb = (pair >> (bit % 64)) as u64 & MASK; // 52 bits, on purpose
        }
    }
    out
}

/// `n` as strided 52-bit limbs, or `None` when it does not fit them.
fn lanes_of_big(n: &BigUint, stride: usize) -> Option<Lanes> {
    (n.bits() <= (LIMB_BITS * 8 * stride) as u64).then(|| lanes_of(&n.to_u64_digits(), stride))
}

/// Strided 52-bit limbs (over `stride` registers) as 64-bit limbs in `out`; bits past `out`
/// are dropped (they are zero for a value below `2^(64 · out.len())`).
fn write_limbs64(x: &Lanes, stride: usize, out: &mut [u64]) {
    out.fill(0);
    let (mut pending, mut bits, mut next) = (0u128, 0usize, 0usize);
    for j in 0..stride * 8 {
        let limb = x
            .get(j % stride)
            .and_then(|v| v.get(j / stride))
            .copied()
            .unwrap_or(0);
        pending |= u128::from(limb) << bits;
        bits += LIMB_BITS;
        if bits >= 64 {
            if let Some(slot) = out.get_mut(next) {
                *slot = pending as u64; // the low half, on purpose
            }
            pending >>= 64;
            bits -= 64;
            next += 1;
        }
    }
    if let Some(slot) = out.get_mut(next) {
        *slot = pending as u64; // the last bits, below 2^64
    }
}

#[cfg(test)]
mod tests {
    use num_traits::Zero;
    use proptest::prelude::*;

    use super::*;
    use crate::crypto::dh::KNOWN_DH_PRIME;
    use crate::crypto::mont::{limbs_of, FixedBase, Modulus};

    /// The IFMA constants for `n`, or `None` after saying so when this CPU lacks AVX-512 IFMA
    /// (the caller then checks the portable path).
    fn fast(n: &BigUint, limbs: usize) -> Option<IfmaModulus> {
        static SAID: std::sync::Once = std::sync::Once::new();
        let fast = IfmaModulus::new(n, limbs);
        if fast.is_none() {
            SAID.call_once(|| {
                eprintln!("no AVX-512 IFMA on this CPU: the IFMA tests check the portable path");
            });
        }
        fast
    }

    /// The value of strided limbs, every lane counted (none may be lost).
    fn big_of_lanes(x: &Lanes, stride: usize) -> BigUint {
        let mut value = BigUint::zero();
        for (r, register) in x.iter().enumerate() {
            for (l, limb) in register.iter().enumerate() {
                assert!(r < stride || *limb == 0, "no limb past the stride");
                value += BigUint::from(*limb) << (LIMB_BITS * (stride * l + r));
            }
        }
        value
    }

    fn big<const N: usize>(x: &[u64; N]) -> BigUint {
        x.iter()
            .rev()
            .fold(BigUint::zero(), |acc, limb| (acc << 64u32) + *limb)
    }

    /// An odd modulus of exactly `bits` bits from the bytes (top bit and bit 0 set).
    fn odd_modulus(bytes: &[u8], bits: u64) -> BigUint {
        let mut n = BigUint::from_bytes_be(bytes) % (BigUint::one() << bits);
        n.set_bit(bits - 1, true);
        n.set_bit(0, true);
        n
    }

    /// The moduli at the edges for `64 * limbs` bits: every limb all ones, the top bit barely
    /// set, and (for 2048 bits) the published prime.
    fn edge_moduli(limbs: usize) -> Vec<BigUint> {
        let bits = 64 * limbs as u64;
        let mut moduli = vec![
            (BigUint::one() << bits) - 1u32,
            (BigUint::one() << (bits - 1)) + 1u32,
            (BigUint::one() << (bits - 1)) + (BigUint::one() << (bits / 2)) + 1u32,
        ];
        if limbs == 32 {
            moduli.push(BigUint::from_bytes_be(&KNOWN_DH_PRIME));
        }
        moduli
    }

    /// One IFMA product `a·b/R mod n` for `a, b < 2n`: congruent, below 2n, limbs below 2^52.
    fn check_product(f: &IfmaModulus, n: &BigUint, a: &BigUint, b: &BigUint) {
        let r = BigUint::one() << (LIMB_BITS * f.width.limbs());
        let r_inv = r.modinv(n).unwrap();
        let stride = f.width.vectors();
        let lanes = |v: &BigUint| lanes_of_big(v, stride).unwrap();
        let got = f.product(&lanes(a), &lanes(b));
        assert!(
            got.iter().flatten().all(|limb| *limb <= MASK),
            "limbs normalized"
        );
        let value = big_of_lanes(&got, stride);
        assert!(value < n * 2u32, "{a} * {b}: below 2n");
        assert_eq!(value % n, a * b * r_inv % n, "{a} * {b}");
    }

    /// Without IFMA: the portable product of the same values (reduced below n), against
    /// num-bigint.
    fn check_portable_product(n: &BigUint, limbs: usize, a: &BigUint, b: &BigUint) {
        let (a, b) = (a % n, b % n);
        let r_inv = (BigUint::one() << (64 * limbs)).modinv(n).unwrap();
        let got = if limbs == 16 {
            let m = Modulus::<16>::new(n).unwrap();
            big(&m.mul(&limbs_of(&a).unwrap(), &limbs_of(&b).unwrap()))
        } else {
            let m = Modulus::<32>::new(n).unwrap();
            big(&m.mul(&limbs_of(&a).unwrap(), &limbs_of(&b).unwrap()))
        };
        assert_eq!(got, &a * &b * r_inv % n, "{a} * {b}");
    }

    /// `base^exp mod n` (any `base < 2^(64N)`) by [`IfmaModulus::pow`] (at most n) and by
    /// [`Modulus::pow`] (fully reduced), against num-bigint; the portable path without IFMA.
    fn check_pow<const N: usize>(n: &BigUint, base: &BigUint, exp: &[u8]) {
        let expect = base.modpow(&BigUint::from_bytes_be(exp), n);
        let limbs = limbs_of::<N>(base).unwrap();
        let m = Modulus::<N>::new(n).unwrap();
        assert_eq!(m.uses_ifma(), detected());
        if let Some(f) = fast(n, N) {
            let mut out = [0u64; N];
            f.pow(&limbs, exp, &mut out);
            let almost = big(&out);
            assert!(almost <= *n, "at most n");
            assert_eq!(almost % n, expect, "ifma pow");
        }
        assert_eq!(big(&m.pow(&limbs, exp)), expect, "pow");
        assert_eq!(
            big(&m.pow_small_base(3, exp)),
            BigUint::from(3u32).modpow(&BigUint::from_bytes_be(exp), n),
            "pow_small_base"
        );
    }

    #[test]
    fn products_at_the_edges() {
        for limbs in [16, 32] {
            for n in edge_moduli(limbs) {
                let f = fast(&n, limbs);
                let twice = &n * 2u32;
                let values = [
                    BigUint::zero(),
                    BigUint::one(),
                    &n - 2u32,
                    &n - 1u32,
                    n.clone(),
                    &n + 1u32,
                    &twice - 1u32,
                    &n >> 1u32,
                ];
                for a in &values {
                    for b in &values {
                        match &f {
                            Some(f) => check_product(f, &n, a, b),
                            None => check_portable_product(&n, limbs, a, b),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn powers_at_the_edges() {
        let all_ones = [0xffu8; 256];
        let zeros = [0u8; 256];
        let pattern: Vec<u8> = (0..=255u8).rev().collect();
        for n in edge_moduli(32) {
            let r = BigUint::one() << 2048u32;
            for base in [
                BigUint::zero(),
                BigUint::one(),
                BigUint::from(3u32),
                &n - 2u32,
                &n - 1u32,
                // Bases up to R − 1 are allowed, also above n.
                n.clone(),
                &r - 1u32,
            ] {
                for exp in [
                    &[][..],
                    &zeros[..],
                    &all_ones[..],
                    &pattern[..],
                    &[1][..],
                    &[2][..],
                ] {
                    check_pow::<32>(&n, &base, exp);
                }
            }
        }
        for n in edge_moduli(16) {
            let r = BigUint::one() << 1024u32;
            for base in [
                BigUint::zero(),
                BigUint::one(),
                &n - 1u32,
                &n - 2u32,
                &r - 1u32,
            ] {
                for exp in [&zeros[..128], &all_ones[..128], &pattern[..128], &[3][..]] {
                    check_pow::<16>(&n, &base, exp);
                }
            }
        }
    }

    #[test]
    fn comb_powers_at_the_edges() {
        let p = BigUint::from_bytes_be(&KNOWN_DH_PRIME);
        let m = Modulus::<32>::new(&p).unwrap();
        let mut three = [0u64; 32];
        three[0] = 3;
        let comb = FixedBase::new(&m, &three, 256);
        assert_eq!(comb.uses_ifma(), detected());
        for exp in [
            [0u8; 256],
            [0xff; 256],
            std::array::from_fn(|i| (i * 37) as u8),
        ] {
            let expect = BigUint::from(3u32).modpow(&BigUint::from_bytes_be(&exp), &p);
            assert_eq!(big(&comb.pow(&m, &exp).unwrap()), expect);
        }
        // A comb of the IFMA form needs a modulus with the IFMA constants.
        if comb.uses_ifma() {
            assert!(comb.pow(&m.portable(), &[0; 256]).is_none());
        }
        // The base n − 1 (whose powers are ±1) and 0, modulo the all-ones modulus.
        let n = (BigUint::one() << 2048u32) - 1u32;
        let m = Modulus::<32>::new(&n).unwrap();
        for base in [&n - 1u32, BigUint::zero()] {
            let comb = FixedBase::new(&m, &limbs_of(&base).unwrap(), 256);
            for exp in [[0u8; 256], [0xff; 256], [0x5a; 256]] {
                let expect = base.modpow(&BigUint::from_bytes_be(&exp), &n);
                assert_eq!(big(&comb.pow(&m, &exp).unwrap()), expect);
            }
        }
    }

    #[test]
    fn radix_conversions_round_trip() {
        let x: [u64; 32] = std::array::from_fn(|i| 0x0123_4567_89ab_cdefu64.rotate_left(i as u32));
        for stride in [3, 5] {
            let limbs = if stride == 3 { 16 } else { 32 };
            let lanes = lanes_of(&x[..limbs], stride);
            assert_eq!(
                big_of_lanes(&lanes, stride),
                big(&x) % (BigUint::one() << (64 * limbs))
            );
            let mut back = [7u64; 32];
            write_limbs64(&lanes, stride, &mut back[..limbs]);
            assert_eq!(back[..limbs], x[..limbs]);
        }
    }

    /// [`normalize`] on `K` registers, and the values before and after.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn normalized<const K: usize>(x: &Lanes) -> Lanes {
        store(&normalize::<K>(load(x)))
    }

    /// Normalizes `x` on `stride` registers (3 or 5) when the CPU can, checking that every
    /// limb ends below 2^52 and the value is kept.
    fn check_normalize(x: &Lanes, stride: usize) {
        if !detected() {
            eprintln!("no AVX-512 IFMA on this CPU: nothing to normalize");
            return;
        }
        #[allow(unsafe_code)]
        // SAFETY: `detected()` said that the CPU has AVX-512F and AVX-512 IFMA.
        let got = unsafe {
            if stride == 3 {
                normalized::<3>(x)
            } else {
                normalized::<5>(x)
            }
        };
        assert!(got.iter().flatten().all(|limb| *limb <= MASK), "{got:x?}");
        assert_eq!(big_of_lanes(&got, stride), big_of_lanes(x, stride));
    }

    #[test]
    fn carries_ripple_through_every_limb() {
        for stride in [3, 5] {
            // Limb p is in lane p / stride of register p % stride.
            let limbs = 8 * stride;
            let at = |x: &mut Lanes, p: usize, v: u64| x[p % stride][p / stride] = v;
            // One carry out of limb 0 through a run of all-ones limbs up to the second last.
            let mut x = [[0u64; 8]; MAX_VECTORS];
            at(&mut x, 0, MASK + 1 + 5);
            for p in 1..limbs - 1 {
                at(&mut x, p, MASK);
            }
            check_normalize(&x, stride);
            // The largest first-pass carries into all-ones limbs, then the ripple.
            let mut x = [[0u64; 8]; MAX_VECTORS];
            for p in 0..limbs - 3 {
                at(&mut x, p, if p % 7 == 0 { (1 << 60) - 1 } else { MASK });
            }
            check_normalize(&x, stride);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn normalization_keeps_the_value(
            picks in prop::collection::vec((0u8..5, any::<u64>()), 40),
            stride in prop::sample::select(vec![3usize, 5]),
        ) {
            // Limbs at the edges of the two passes (all ones, just above, just below), or any
            // below 2^60; the top two limbs zero so that the value fits.
            let mut x = [[0u64; 8]; MAX_VECTORS];
            for (p, (kind, random)) in picks.iter().enumerate().take(8 * stride - 2) {
                x[p % stride][p / stride] = match kind {
                    0 => MASK,
                    1 => MASK + 1,
                    2 => MASK - 1,
                    3 => 0,
                    _ => random >> 4,
                };
            }
            check_normalize(&x, stride);
        }

        #[test]
        fn products_match_num_bigint(
            n in prop::collection::vec(any::<u8>(), 256),
            a in prop::collection::vec(any::<u8>(), 257),
            b in prop::collection::vec(any::<u8>(), 257),
            bits in prop::sample::select(vec![2048u64, 2047, 2000, 1024, 1023, 900]),
        ) {
            let limbs = if bits > 1024 { 32 } else { 16 };
            let n = odd_modulus(&n, bits);
            // Any values below 2n, as the products take and give.
            let a = BigUint::from_bytes_be(&a) % (&n * 2u32);
            let b = BigUint::from_bytes_be(&b) % (&n * 2u32);
            match fast(&n, limbs) {
                Some(f) => check_product(&f, &n, &a, &b),
                None => check_portable_product(&n, limbs, &a, &b),
            }
        }

        #[test]
        fn powers_match_num_bigint_2048(
            n in prop::collection::vec(any::<u8>(), 256),
            base in prop::collection::vec(any::<u8>(), 256),
            exp in prop::collection::vec(any::<u8>(), 0..=256),
            bits in prop::sample::select(vec![2048u64, 2047, 1500, 1025, 130]),
        ) {
            check_pow::<32>(&odd_modulus(&n, bits), &BigUint::from_bytes_be(&base), &exp);
        }

        #[test]
        fn powers_match_num_bigint_1024(
            n in prop::collection::vec(any::<u8>(), 128),
            base in prop::collection::vec(any::<u8>(), 128),
            exp in prop::collection::vec(any::<u8>(), 0..=128),
            bits in prop::sample::select(vec![1024u64, 1023, 700, 512, 3]),
        ) {
            check_pow::<16>(&odd_modulus(&n, bits), &BigUint::from_bytes_be(&base), &exp);
        }

        #[test]
        fn comb_powers_match_num_bigint(
            n in prop::collection::vec(any::<u8>(), 256),
            base in prop::collection::vec(any::<u8>(), 256),
            exps in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..=256), 1..4),
            len in prop::sample::select(vec![256usize, 255, 128, 40, 1]),
            bits in prop::sample::select(vec![2048u64, 1024]),
        ) {
            let n = odd_modulus(&n, bits);
            let base = BigUint::from_bytes_be(&base) % &n;
            let expect = |exp: &[u8]| base.modpow(&BigUint::from_bytes_be(exp), &n);
            if bits == 2048 {
                let m = Modulus::<32>::new(&n).unwrap();
                let comb = FixedBase::new(&m, &limbs_of(&base).unwrap(), len);
                prop_assert_eq!(comb.uses_ifma(), detected());
                for mut exp in exps {
                    exp.resize(len, 0xa5);
                    prop_assert_eq!(big(&comb.pow(&m, &exp).unwrap()), expect(&exp));
                }
            } else {
                let m = Modulus::<16>::new(&n).unwrap();
                let comb = FixedBase::new(&m, &limbs_of(&base).unwrap(), len.min(128));
                for mut exp in exps {
                    exp.resize(len.min(128), 0xa5);
                    prop_assert_eq!(big(&comb.pow(&m, &exp).unwrap()), expect(&exp));
                }
            }
        }
    }
}
