//! The tuning cache: one small JSON file holding the tiled kernel's tuning measured on each
//! adapter (by `pairdist tune` or `EngineOptions::autotune`), keyed by adapter name, driver,
//! graphics API and pairdist version, so that an adapter is timed once and not on every run.
//!
//! A cache that cannot be read or parsed is never fatal: the engine logs one warning and uses
//! the limit-derived default. Writes go to a temporary file in the same directory, renamed
//! over the old file, so a reader never sees half a file and two writers never interleave.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::context::AdapterSummary;
use super::shaders::Tuning;
use crate::error::{Error, Result};

/// The cache file's name inside the cache directory.
pub const CACHE_FILE: &str = "tuning.json";

/// The file's layout version; a file with another is ignored (with a warning) and replaced
/// on the next write.
const FORMAT: u32 = 1;

/// What a cached tuning is valid for: one adapter through one driver and graphics API, with
/// one version of pairdist (whose kernels the timings measured).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// The adapter's name ([`AdapterSummary::name`]).
    pub adapter: String,
    /// The driver's name and version ([`AdapterSummary::driver`]).
    pub driver: String,
    /// The graphics API ([`AdapterSummary::backend`]).
    pub backend: String,
    /// pairdist's version (`CARGO_PKG_VERSION`).
    pub version: String,
}

impl CacheKey {
    /// The key of `adapter` with this version of pairdist.
    pub fn for_adapter(adapter: &AdapterSummary) -> CacheKey {
        CacheKey {
            adapter: adapter.name.clone(),
            driver: adapter.driver.clone(),
            backend: adapter.backend.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// One adapter's tuning in the file, with what was measured, for people reading it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    key: CacheKey,
    wg_x: u32,
    wg_y: u32,
    tile_k: u32,
    /// Absent in files written before the tiled kernel had a prefetch (read as false).
    #[serde(default)]
    prefetch: bool,
    /// What the tuner timed, for example "512x512x128 sqeuclidean, median compute 9.1 ms (host clock)".
    #[serde(default)]
    measured: String,
}

/// The whole file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    entries: Vec<Entry>,
}

/// The cache directory the environment names (`env` reads a variable): empty values count
/// as unset, and a relative `XDG_CACHE_HOME` is ignored, as the XDG specification says.
fn location(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |name| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("PAIRDIST_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").filter(|p| p.is_absolute()).map(|p| p.join("pairdist")))
        .or_else(|| var("HOME").map(|p| p.join(".cache").join("pairdist")))
}

/// The tuning cache file in one directory.
///
/// ```
/// use pairdist::gpu::{CacheKey, Tuning, TuningCache};
/// let dir = tempfile::tempdir()?;
/// let cache = TuningCache::in_dir(dir.path());
/// let key = CacheKey { adapter: "A".into(), driver: "d 1".into(), backend: "Vulkan".into(), version: "0.1.0".into() };
/// assert_eq!(cache.load(&key)?, None);
/// let tuning = Tuning { wg_x: 8, wg_y: 8, tile_k: 16, prefetch: false };
/// cache.store(&key, tuning, "by hand")?;
/// assert_eq!(cache.load(&key)?, Some(tuning));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct TuningCache {
    file: PathBuf,
}

impl TuningCache {
    /// The cache in `dir` (the file [`CACHE_FILE`] there; nothing is created until a store).
    pub fn in_dir(dir: impl AsRef<Path>) -> TuningCache {
        TuningCache { file: dir.as_ref().join(CACHE_FILE) }
    }

    /// The cache in the standard place: `$PAIRDIST_CACHE_DIR`, else `$XDG_CACHE_HOME/pairdist`,
    /// else `$HOME/.cache/pairdist`; `None` when none of these is set (no cache is used then).
    pub fn default_location() -> Option<TuningCache> {
        location(|name| std::env::var_os(name)).map(TuningCache::in_dir)
    }

    /// `dir`'s cache when given, else [`TuningCache::default_location`].
    pub fn at(dir: Option<&Path>) -> Option<TuningCache> {
        match dir {
            Some(dir) => Some(TuningCache::in_dir(dir)),
            None => TuningCache::default_location(),
        }
    }

    /// The cache file's path.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The tuning stored for `key`, `None` when there is none (or no file yet). An unreadable
    /// file or one that is not a tuning cache is an error (the engine warns and goes on).
    /// The tuning is as stored: engines use it only if it is one of [`Tuning::candidates`].
    pub fn load(&self, key: &CacheKey) -> Result<Option<Tuning>> {
        let Some(file) = self.read()? else { return Ok(None) };
        Ok(file.entries.iter().find(|e| &e.key == key).map(|e| Tuning {
            wg_x: e.wg_x,
            wg_y: e.wg_y,
            tile_k: e.tile_k,
            prefetch: e.prefetch,
        }))
    }

    /// Stores `tuning` for `key`, replacing what the file held for that key and keeping the
    /// other entries (a corrupt file is replaced whole). `measured` says what was timed, for
    /// people reading the file. Creates the directory if needed; the file is replaced
    /// atomically (a temporary file in the same directory, renamed over it).
    pub fn store(&self, key: &CacheKey, tuning: Tuning, measured: &str) -> Result<()> {
        let mut file = match self.read() {
            Ok(Some(file)) => file,
            Ok(None) => CacheFile::default(),
            Err(e) => {
                log::warn!("replacing the tuning cache: {e}");
                CacheFile::default()
            }
        };
        file.format = FORMAT;
        file.entries.retain(|e| &e.key != key);
        let Tuning { wg_x, wg_y, tile_k, prefetch } = tuning;
        file.entries.push(Entry { key: key.clone(), wg_x, wg_y, tile_k, prefetch, measured: measured.to_string() });

        let dir = self.file.parent().unwrap_or(Path::new("."));
        let write = |e: std::io::Error| Error::write_io(&self.file, &e);
        std::fs::create_dir_all(dir).map_err(write)?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write)?;
        serde_json::to_writer_pretty(&mut temp, &file).map_err(|e| Error::write(&self.file, e))?;
        temp.write_all(b"\n").map_err(write)?;
        temp.as_file().sync_all().map_err(write)?;
        temp.persist(&self.file).map_err(|e| write(e.error))?;
        Ok(())
    }

    /// The parsed file, `None` when it does not exist.
    fn read(&self) -> Result<Option<CacheFile>> {
        let text = match std::fs::read_to_string(&self.file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::ReadFile { path: self.file.clone(), source }),
        };
        let bad = |reason: String| Error::bad_input(&self.file, reason);
        let file: CacheFile =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a pairdist tuning cache ({e})")))?;
        if file.format != FORMAT {
            return Err(bad(format!("tuning cache format {}, this pairdist reads {FORMAT}", file.format)));
        }
        Ok(Some(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(adapter: &str) -> CacheKey {
        CacheKey { adapter: adapter.into(), driver: "mesa 1".into(), backend: "Vulkan".into(), version: "0.1.0".into() }
    }

    #[test]
    fn the_location_follows_the_environment() {
        fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
            move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into())
        }
        let all = [("PAIRDIST_CACHE_DIR", "/p"), ("XDG_CACHE_HOME", "/x"), ("HOME", "/h")];
        assert_eq!(location(env(&all)), Some(PathBuf::from("/p")));
        assert_eq!(location(env(&[("PAIRDIST_CACHE_DIR", ""), ("XDG_CACHE_HOME", "/x")])), Some("/x/pairdist".into()));
        assert_eq!(location(env(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")])), Some("/h/.cache/pairdist".into()));
        assert_eq!(location(env(&[])), None);
    }

    #[test]
    fn entries_of_other_keys_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TuningCache::in_dir(dir.path().join("nested"));
        let a = Tuning { wg_x: 8, wg_y: 8, tile_k: 8, prefetch: false };
        let b = Tuning { wg_x: 16, wg_y: 8, tile_k: 16, prefetch: true };
        cache.store(&key("a"), a, "").unwrap();
        cache.store(&key("b"), b, "").unwrap();
        cache.store(&key("a"), b, "again").unwrap();
        assert_eq!(cache.load(&key("a")).unwrap(), Some(b));
        assert_eq!(cache.load(&key("b")).unwrap(), Some(b));
        assert_eq!(cache.read().unwrap().unwrap().entries.len(), 2);
        // Only the cache file is left in the directory: the temporary files were renamed.
        assert_eq!(std::fs::read_dir(dir.path().join("nested")).unwrap().count(), 1);
    }

    /// A file from before the kernel had a prefetch (entries without the field) still reads,
    /// as tunings without it.
    #[test]
    fn entries_without_prefetch_read_as_false() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TuningCache::in_dir(dir.path());
        let text = format!(
            r#"{{"format": {FORMAT}, "entries": [{{"adapter": "a", "driver": "mesa 1", "backend": "Vulkan",
                "version": "0.1.0", "wg_x": 16, "wg_y": 8, "tile_k": 16}}]}}"#
        );
        std::fs::write(cache.path(), text).unwrap();
        assert_eq!(cache.load(&key("a")).unwrap(), Some(Tuning { wg_x: 16, wg_y: 8, tile_k: 16, prefetch: false }));
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_an_error_and_is_replaced_on_store() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TuningCache::in_dir(dir.path());
        for text in ["{not json", "[]", r#"{"format": 99, "entries": []}"#, ""] {
            std::fs::write(cache.path(), text).unwrap();
            let err = cache.load(&key("a")).unwrap_err().to_string();
            assert!(err.contains(CACHE_FILE) && !err.contains('\n'), "{err}");
        }
        let t = Tuning { wg_x: 8, wg_y: 8, tile_k: 8, prefetch: false };
        cache.store(&key("a"), t, "").unwrap();
        assert_eq!(cache.load(&key("a")).unwrap(), Some(t));
    }
}
