//! `pairdist tune`: every candidate printed, the choice saved to the cache, bad input refused
//! in one line.

use pairdist::gpu::{CacheKey, GpuContext, Tuning, TuningCache};

/// The GPU context of the adapter `Backend::Gpu` picks; a machine without one fails.
fn context() -> GpuContext {
    GpuContext::new(None).expect("no GPU adapter: install a Vulkan driver (apt-get install mesa-vulkan-drivers)")
}

#[test]
fn pairdist_tune_prints_every_candidate_and_saves_the_choice() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("pairdist")
            .unwrap()
            .env("PAIRDIST_CACHE_DIR", dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = cmd(&["tune", "--n", "96", "--d", "12", "--repeats", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let ctx = context();
    for t in Tuning::candidates(ctx.limits()) {
        assert!(text.contains(&t.to_string()), "{t} missing from:\n{text}");
    }
    assert_eq!(text.matches("chosen").count(), 2, "{text}"); // the table's mark and the last lines
    let saved = TuningCache::in_dir(dir.path()).load(&CacheKey::for_adapter(ctx.adapter())).unwrap();
    assert!(saved.is_some_and(|t| text.contains(&format!("chosen: {t}"))), "{text}");
    // Bad input: one line on stderr, a failure status, nothing timed.
    for bad in [&["tune", "--n", "0"][..], &["tune", "--d", "0", "--no-save"], &["tune", "--n", "100000000"]] {
        let out = cmd(bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.lines().count() == 1 && out.stdout.is_empty(), "{bad:?}: {err}");
    }
}
