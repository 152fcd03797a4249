//! The `secrets` module (see ARCHITECTURE.md).
