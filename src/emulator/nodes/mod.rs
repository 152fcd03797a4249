//! Local nodes: emulated servers become real Linux namespace containers (see `backend::NodeBackend`).
