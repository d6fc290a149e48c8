//! Tests of the `tlgen` command line as users meet it.
