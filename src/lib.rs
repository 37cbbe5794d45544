//! snapgov: governance for imported scanner feeds.
//!
//! Layers, each using only those above it: [`domain`] (pure rules),
//! [`ingest`] (parsers), [`store`] (SQLite), [`ops`] (workflows), then the
//! front ends [`cli`], [`console`] and [`api`].

pub mod api;
pub mod cli;
pub mod config;
pub mod console;
pub mod domain;
pub mod ingest;
pub mod ops;
pub mod store;
pub mod synthetic_feed;
