//! The `fittings` module (see ARCHITECTURE.md).
