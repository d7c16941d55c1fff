//! # zklanes service
//!
//! `zklanes serve`: the batch pipeline service.
//!
//! Sequencer batch events arrive over HTTP ([`http`]) or as files in a
//! watched folder ([`watch`]); [`ingest`] validates them and appends them
//! to the durable log ([`event_log`], sled, flushed before the
//! acknowledgement). One driver thread ([`driver`]) executes batches in
//! number order, persists their traces, proves them on the prover pool and
//! writes each proof directory whole (`zklanes_pipeline::data_dir`); every
//! stage is persisted, so a restart resumes where it stopped. [`metrics`]
//! serves Prometheus text; [`failpoint`]s let crash tests abort at named
//! points. With `--l1 embedded`, the driver checks each batch's deposits
//! against L1 ([`l1_view`], [`deposit_check`]) before executing it, L1
//! being the project's own chain in revm ([`embedded_l1`]).
//! [`serve::run`] ties them together; [`config`] and [`state`] are what
//! they share, [`error`] why they stop.

pub mod auth;
pub mod config;
pub mod deadline;
pub mod deposit_check;
pub mod driver;
pub mod embedded_l1;
pub mod error;
pub mod event_log;
pub mod failpoint;
pub mod http;
pub mod ingest;
pub mod json_rpc_l1;
pub mod l1_view;
pub mod listener;
pub mod metrics;
pub mod queue_view;
pub mod sequencer;
pub mod serve;
pub mod state;
pub mod watch;
