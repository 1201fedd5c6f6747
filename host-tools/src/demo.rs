//! The built-in demo (placeholder until the core API is final).
