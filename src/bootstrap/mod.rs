//! The `bootstrap` module (see ARCHITECTURE.md).
