//! Rendering for the migration health dashboard: the view model of `mhd-core` in, HTML, SVG
//! and PDF out. The live server and the CLI's file commands (`mhd stats dashboard`,
//! `mhd report`) render through the same code; nothing here serves HTTP or reads the store.
//!
//! - [`views`] renders pages and sections with askama templates (`crates/web/templates/`);
//! - [`charts`] draws every SVG chart those pages and reports embed;
//! - [`report`] renders the report of a range of days as HTML or PDF;
//! - [`assets`] holds the pages' scripts and their content-hashed name;
//! - [`paths`] holds every path of the site the pages link to; [`url`] encodes query values.
#![forbid(unsafe_code)]

pub mod assets;
pub mod charts;
pub mod paths;
pub mod report;
pub mod url;
pub mod views;
