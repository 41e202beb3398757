//! The views of the migration health dashboard — HTML pages and the self-contained dashboard
//! file of `mhd stats dashboard` — and, later, the live server that serves them.
//!
//! - [`views`] renders pages from the figures of `mhd-core` with askama templates;
//! - [`charts`] draws the SVG charts those pages embed.
#![forbid(unsafe_code)]

pub mod charts;
pub mod views;
