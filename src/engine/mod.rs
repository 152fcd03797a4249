//! The `engine` module (see ARCHITECTURE.md).
