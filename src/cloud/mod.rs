//! The `cloud` module (see ARCHITECTURE.md).
