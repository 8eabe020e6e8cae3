//! The command line's commands beside serving: `tally check` and the `--demo` seed. (`bill`,
//! `backup`, `restore` and `rotate-secret` call the services directly from `main`.)

pub mod check;
pub mod demo;
