//! Statement execution: one module per statement family, each turning a statement into a result set.

pub(crate) mod split;
