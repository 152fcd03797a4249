//! Load errors and warnings: each names the place in the plan (file:line:column) and says what to do.

use std::fmt;

use serde::Serialize;

use super::model::SourcePos;

/// Why a plan could not be loaded. Its `Display` is `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct LoadError {
    /// Where, when known.
    pub pos: Option<SourcePos>,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl LoadError {
    /// An error at a position.
    pub fn at(pos: SourcePos, message: impl Into<String>) -> LoadError {
        LoadError {
            pos: Some(pos),
            message: message.into(),
        }
    }

    /// An error about the plan as a whole (cannot read it, for example).
    pub fn plain(message: impl Into<String>) -> LoadError {
        LoadError {
            pos: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pos {
            Some(pos) => write!(f, "{pos}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Something worth telling that does not stop the load (an unknown key, an ignored setting ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// Where.
    pub pos: SourcePos,
    /// What.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: {}", self.pos, self.message)
    }
}
