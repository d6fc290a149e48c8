//! The world's state and its `Service`.

use crate::spec::{WorldError, WorldSpec};
use crate::{CallContext, Reply, Service};
use std::path::Path;
use std::sync::Mutex;

/// A small in-memory Telegram. `Send + Sync`; share it as `Arc<World>`.
pub struct World {
    spec: WorldSpec,
    state: Mutex<()>,
}

impl World {
    /// The built-in default world (see the crate docs).
    pub fn builtin() -> World {
        Self::from_spec(crate::builtin::spec()).expect("the built-in world is consistent")
    }

    /// A world from its description.
    pub fn from_spec(spec: WorldSpec) -> Result<World, WorldError> {
        Ok(World {
            spec,
            state: Mutex::new(()),
        })
    }

    /// Reads a world file (JSON, see [`WorldSpec`]).
    pub fn from_file(path: &Path) -> Result<World, WorldError> {
        let spec = WorldSpec::from_file(path)?;
        Self::from_spec(spec).map_err(|e| e.at(path))
    }

    /// The code `auth.signIn` accepts.
    pub fn login_code(&self) -> &str {
        &self.spec.login_code
    }
}

impl Service for World {
    fn call(&self, _ctx: &CallContext<'_>, _body: &[u8]) -> Reply {
        let _guard = self.state.lock();
        Reply::error(400, "METHOD_NOT_IMPLEMENTED")
    }
}
