mod chains;
mod commands;
mod errors;
mod files;
mod format;
mod properties;
mod refresh;
mod sync;
