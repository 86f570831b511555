//! Developer tasks
