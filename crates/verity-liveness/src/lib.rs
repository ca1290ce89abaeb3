//! Verity's liveness engine.
//!
//! Built so far: the exact input preparation of the MiniFASNet anti-spoofing models
//! ([`crop`]). The networks themselves are built from the upstream weights by
//! `verity_models::minifasnet`; the engine around them (fusion, thresholds, signals, video)
//! comes next.

pub mod crop;
pub mod passive;
