//! The seller's side: what the company running Tally does through the operator console —
//! its customer accounts first. The last domain: it may use every other
//! (`platform ← identity ← directory ← billing ← seller`).

pub mod customers;
