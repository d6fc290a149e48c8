//! Factorization of the handshake's `pq` into its two primes with Pollard–Brent rho over 64-bit Montgomery arithmetic.

use super::CryptoError;

/// Iterations of one rho walk before trying the next polynomial constant. A 64-bit `pq` has a
/// factor below 2^32, which a walk finds after about 2^16 steps; this leaves a wide margin.
const MAX_STEPS_PER_WALK: u64 = 1 << 24;
/// Polynomial constants tried before giving up (a failure of all of them is not expected).
const MAX_WALKS: u64 = 32;
/// Steps whose differences are multiplied together before one gcd.
const BATCH: u64 = 128;

/// Splits `pq`, the product of two distinct odd primes, into `(p, q)` with `p < q`.
///
/// # Errors
///
/// [`CryptoError::NotSemiprime`] when `pq` is below 15, even, prime, a square, or has more or
/// other than two prime factors.
pub fn factorize_pq(pq: u64) -> Result<(u64, u64), CryptoError> {
    let reject = |reason| Err(CryptoError::NotSemiprime { pq, reason });
    if pq < 15 {
        return reject("too small");
    }
    if pq.is_multiple_of(2) {
        return reject("even");
    }
    if is_prime(pq) {
        return reject("prime");
    }
    let Some(d) = find_divisor(pq) else {
        return reject("no factor found");
    };
    let (p, q) = (d.min(pq / d), d.max(pq / d));
    if p == q {
        return reject("a square");
    }
    if !is_prime(p) || !is_prime(q) {
        return reject("more than two prime factors");
    }
    Ok((p, q))
}

/// A nontrivial divisor of the odd composite `n`, by trial division of tiny primes and then
/// Pollard–Brent rho with `f(x) = x^2 + c`.
fn find_divisor(n: u64) -> Option<u64> {
    for small in [3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47] {
        if n.is_multiple_of(small) {
            return Some(small);
        }
    }
    let mont = Montgomery::new(n);
    (1..=MAX_WALKS).find_map(|c| brent(&mont, c))
}

/// One Pollard–Brent walk (Brent 1980): double the cycle length `r`, multiply `BATCH`
/// differences before each gcd, and on overshoot backtrack one step at a time.
fn brent(mont: &Montgomery, c: u64) -> Option<u64> {
    let n = mont.n;
    let c = c % n;
    let step = |x: u64| mont.add(mont.mul(x, x), c);
    let mut y = 2 % n;
    let mut product = mont.one;
    let mut r: u64 = 1;
    let mut steps: u64 = 0;
    loop {
        let x = y;
        for _ in 0..r {
            y = step(y);
        }
        let mut k = 0;
        while k < r {
            let saved_y = y;
            let batch = BATCH.min(r - k);
            for _ in 0..batch {
                y = step(y);
                product = mont.mul(product, x.abs_diff(y));
            }
            k += batch;
            let g = gcd(product, n);
            if g != 1 {
                return finish(mont, c, x, saved_y, g);
            }
        }
        steps += 2 * r;
        if steps > MAX_STEPS_PER_WALK {
            return None;
        }
        r *= 2;
    }
}

/// After a batch gcd hit `g`: a proper factor, or (when the batch swallowed both factors) a
/// step-by-step replay of the batch from `saved_y`.
fn finish(mont: &Montgomery, c: u64, x: u64, saved_y: u64, g: u64) -> Option<u64> {
    let n = mont.n;
    if g != n {
        return Some(g);
    }
    let mut y = saved_y;
    for _ in 0..BATCH {
        y = mont.add(mont.mul(y, y), c);
        let g = gcd(x.abs_diff(y), n);
        if g != 1 {
            return (g != n).then_some(g);
        }
    }
    None
}

/// Deterministic Miller–Rabin for any `u64`: the first twelve primes as bases are enough below
/// 3.3 * 10^24 (Sorenson and Webster 2015).
pub(crate) fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for a in BASES {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

fn mul_mod(a: u64, b: u64, n: u64) -> u64 {
    let r = u128::from(a) * u128::from(b) % u128::from(n);
    // r < n <= u64::MAX, so the cast keeps every bit.
    r as u64
}

fn pow_mod(mut base: u64, mut exp: u64, n: u64) -> u64 {
    let mut acc = 1 % n;
    base %= n;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul_mod(acc, base, n);
        }
        base = mul_mod(base, base, n);
        exp >>= 1;
    }
    acc
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Montgomery multiplication modulo an odd `n`, with `R = 2^64`: `mul(a, b) = a * b / R mod n`.
/// Rho only needs a fixed pseudo-random map and gcds with `n`, and since `R` is a unit mod `n`,
/// the values never have to leave Montgomery form.
struct Montgomery {
    n: u64,
    /// `-n^-1 mod 2^64`.
    neg_inv: u64,
    /// `R mod n`, the Montgomery form of 1.
    one: u64,
}

impl Montgomery {
    fn new(n: u64) -> Self {
        // Newton's iteration doubles the correct low bits of an inverse of odd n each step:
        // n * n ≡ 1 mod 8 gives 3 bits, five more steps give 96 >= 64.
        let mut inv = n;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n.wrapping_mul(inv)));
        }
        let one = ((u128::from(u64::MAX) + 1) % u128::from(n)) as u64; // < n, fits
        Self {
            n,
            neg_inv: inv.wrapping_neg(),
            one,
        }
    }

    /// `a * b * R^-1 mod n` for `a, b < n`.
    fn mul(&self, a: u64, b: u64) -> u64 {
        let t = u128::from(a) * u128::from(b);
        let m = (t as u64).wrapping_mul(self.neg_inv); // low 64 bits on purpose
        let (sum, carried) = t.overflowing_add(u128::from(m) * u128::from(self.n));
        // sum is divisible by 2^64; the quotient is below 2n, plus 2^64 when `carried`.
        let high = (sum >> 64) as u64; // the top half of a u128 fits a u64
        if carried || high >= self.n {
            high.wrapping_sub(self.n)
        } else {
            high
        }
    }

    /// `a + b mod n` for `a, b < n`.
    fn add(&self, a: u64, b: u64) -> u64 {
        let (sum, carried) = a.overflowing_add(b);
        if carried || sum >= self.n {
            sum.wrapping_sub(self.n)
        } else {
            sum
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_official_sample() {
        // core.telegram.org/mtproto/samples-auth_key (2025 revision): see shared/vectors/samples-auth_key.txt.
        assert_eq!(
            factorize_pq(1372318559046200203),
            Ok((1141464581, 1202243663))
        );
        // The same page's older revision published pq = 0x17ED48941A08F981.
        assert_eq!(
            factorize_pq(0x17ED48941A08F981),
            Ok((1229739323, 1402015859))
        );
    }

    #[test]
    fn splits_small_and_unbalanced_products() {
        assert_eq!(factorize_pq(15), Ok((3, 5)));
        assert_eq!(factorize_pq(3 * 4294967291), Ok((3, 4294967291)));
        assert_eq!(factorize_pq(101 * 103), Ok((101, 103)));
        // Two primes near 2^32: the largest pq a u64 holds of this shape.
        assert_eq!(
            factorize_pq(4294967279 * 4294967291),
            Ok((4294967279, 4294967291))
        );
    }

    #[test]
    fn rejects_what_is_not_two_distinct_odd_primes() {
        let reason = |pq| match factorize_pq(pq) {
            Err(CryptoError::NotSemiprime { reason, .. }) => reason,
            other => panic!("{pq}: {other:?}"),
        };
        assert_eq!(reason(0), "too small");
        assert_eq!(reason(1), "too small");
        assert_eq!(reason(9), "too small");
        assert_eq!(reason(2 * 1000003), "even");
        assert_eq!(reason(1000003), "prime");
        assert_eq!(reason(u64::MAX - 58), "prime"); // 2^64 - 59, the largest 64-bit prime
        assert_eq!(reason(1000003 * 1000003), "a square");
        assert_eq!(reason(3 * 5 * 7), "more than two prime factors");
        assert_eq!(
            reason(1000003 * 1000033 * 1009),
            "more than two prime factors"
        );
    }

    #[test]
    fn montgomery_matches_plain_arithmetic() {
        for n in [3u64, 1000003, 0x17ED48941A08F981, u64::MAX - 58, u64::MAX] {
            let mont = Montgomery::new(n);
            assert_eq!(
                n.wrapping_mul(mont.neg_inv),
                u64::MAX,
                "n * -n^-1 = -1 for {n}"
            );
            let r = u128::from(u64::MAX) + 1;
            for (a, b) in [(0, 0), (1, 1), (n - 1, n - 1), (n / 2, n / 3 + 1)] {
                let expect = u128::from(a) * u128::from(b) % u128::from(n);
                // mul(a, b) * R ≡ a * b (mod n)
                let got = u128::from(mont.mul(a, b)) * (r % u128::from(n)) % u128::from(n);
                assert_eq!(got, expect, "{a} * {b} mod {n}");
            }
        }
    }
}
