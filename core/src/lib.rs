//! Tally's decisions that need no I/O, shared by the browser and the server.
//!
//! Nothing here reads a clock, the environment, a file or the network: callers pass `today`.
