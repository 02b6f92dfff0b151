//! Prompt library (placeholder).
