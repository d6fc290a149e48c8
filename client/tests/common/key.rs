//! A test RSA key pair: two fixed 1024-bit primes, public exponent 65537. For tests only.

/// The first prime, big-endian hex.
pub const P: [&str; 4] = [
    "f7bbc7b975b0e4fb696e83b4f99b866729ab034a44d9116ea7276f6f26b7d36f",
    "010a13b420cbab5f010397a011cd717d1f1e12d601c22661ba4d19d132908f3a",
    "fe57679f64842d1a65e87d157f4399a49bfb00ccaebed80dd690232dfd8d82cf",
    "5f133e1b656158eaf3d240124cd63cb080c6d2c24810e4f1f827ff2b855e3753",
];

/// The second prime, big-endian hex.
pub const Q: [&str; 4] = [
    "e59d15a5620ff207f5f71c2dd09bb756b8f83a24487938809b7764af5f1df600",
    "a3160d21237e1e75c543b70f25a18c91eeb1b16995f7612109ff971a4035cf77",
    "3a73f98a24c59aa38c607c846fc6ef2a69e1d625fb61365f154114a6833b1120",
    "cb3d0b8ad139fe354ccf555ab6db456d3240f3a00e0b19f4b4a7d7c157ca3c65",
];
