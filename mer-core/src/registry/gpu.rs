//! CubeCL's settings for CUDA runs, made before the first kernel.
//!
//! CubeCL autotunes each matrix product per shape key (benchmarking every candidate kernel the
//! first time a key is seen) and compiles every kernel to PTX at first use; by default both are
//! kept under the `target` folder of whatever Cargo project the process runs in, or nowhere
//! useful for an installed binary. mer keeps them in a folder of its own, so a second run, or
//! the second process of a sweep, starts tuned and compiled.

use std::path::{Path, PathBuf};
use std::sync::Once;

use burn::cubecl::config::autotune::AutotuneLevel;
use burn::cubecl::config::cache::CacheConfig;
use burn::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};

/// Settings files CubeCL reads itself from the working folder or one above it; with one of
/// them present, mer leaves CubeCL to it.
const CUBECL_FILES: &[&str] = &["cubecl.toml", "CubeCL.toml", "burn.toml", "Burn.toml"];

/// Sets CubeCL's runtime config once per process, before any CUDA tensor exists: the autotune
/// results under `dir/autotune` and the compiled kernels under `dir/kernels`, at autotune level
/// `CUBECL_AUTOTUNE_LEVEL` (`minimal`, `balanced`, `extensive`, `full`; default `balanced`).
/// Returns the config file CubeCL reads instead, if there is one.
pub fn configure_cubecl(dir: &Path) -> Option<PathBuf> {
    static ONCE: Once = Once::new();
    let file = settings_file();
    if file.is_none() {
        ONCE.call_once(|| {
            let mut config = CubeClRuntimeConfig::default();
            config.autotune.level = AutotuneLevel::Balanced;
            config.autotune.cache = CacheConfig::File(dir.join("autotune"));
            config.compilation.cache = Some(CacheConfig::File(dir.join("kernels")));
            // The environment (CUBECL_AUTOTUNE_LEVEL, CUBECL_DEBUG_LOG) wins over mer's choice.
            CubeClRuntimeConfig::set(config.override_from_env());
        });
    }
    file
}

/// The first of [`CUBECL_FILES`] in the working folder or above.
fn settings_file() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .flat_map(|dir| CUBECL_FILES.iter().map(move |name| dir.join(name)))
        .find(|path| path.is_file())
}
