//! Cross-crate integration tests live in `tests/tests/`; this library only holds shared helpers.
#![forbid(unsafe_code)]
