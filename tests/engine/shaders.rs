//! Shader portability without a GPU: every kernel, in f32 and f64, with every metric and every
//! set of override constants the engine can choose, is parsed and validated by naga,
//! specialised, and translated to SPIR-V (Vulkan), MSL (Metal), HLSL (DX12) and GLSL (GL),
//! so a shader that one backend would reject fails here, on Linux, with no adapter at all.
//! (Float64 modules go to the backends with f64: SPIR-V, HLSL and desktop GLSL.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use naga::back::{glsl, hlsl, msl, spv};
use naga::valid::{Capabilities, ModuleInfo, ValidationFlags, Validator};
use naga::{Module, ShaderStage};
use pairdist::gpu::{Epilogue, Kernel, Tuning};
use pairdist::{Dtype, Metric};

/// The capabilities the kernels may use in `dtype`. They need none beyond core WGSL (and f64
/// for float64, `wgpu::Features::SHADER_F64`), which is what keeps them portable; a kernel that
/// starts using, say, subgroups or 64-bit integers must add it here on purpose.
fn capabilities(dtype: Dtype) -> Capabilities {
    match dtype {
        Dtype::F32 => Capabilities::empty(),
        Dtype::F64 => Capabilities::FLOAT64,
    }
}

/// The capabilities the answers' epilogues may use on distances of `dtype`: float64 distances
/// sort by 64-bit integer keys (`wgpu::Features::SHADER_INT64`, which the engine checks before
/// it reduces f64 answers on a device).
fn epilogue_capabilities(dtype: Dtype) -> Capabilities {
    match dtype {
        Dtype::F32 => Capabilities::empty(),
        Dtype::F64 => Capabilities::FLOAT64 | Capabilities::SHADER_INT64,
    }
}

const DTYPES: [Dtype; 2] = [Dtype::F32, Dtype::F64];

/// Every shape of the tiled kernel the engine can pick: what `Tuning::for_limits` chooses for
/// a range of devices, the standard shapes, and the 4 × 4 and 2 × 2 workgroups a small tile
/// cap (`--max-tile-bytes`) shrinks them to.
fn tunings() -> Vec<Tuning> {
    let mut out: Vec<Tuning> = Vec::new();
    let from_limits = [
        wgpu::Limits::default(),
        wgpu::Limits::downlevel_defaults(),
        wgpu::Limits::downlevel_webgl2_defaults(),
        // lavapipe-like: 32 KiB of workgroup memory, 1024 invocations.
        wgpu::Limits {
            max_compute_workgroup_storage_size: 32 << 10,
            max_compute_invocations_per_workgroup: 1024,
            max_compute_workgroup_size_x: 1024,
            max_compute_workgroup_size_y: 1024,
            ..wgpu::Limits::default()
        },
        // A tiny device: nothing fits, the engine falls back to the smallest shape.
        wgpu::Limits {
            max_compute_workgroup_storage_size: 1024,
            max_compute_invocations_per_workgroup: 16,
            ..wgpu::Limits::default()
        },
    ]
    .map(|limits| Tuning::for_limits(&limits));
    let explicit = [(16, 16, 16), (8, 8, 16), (4, 4, 8), (4, 4, 16), (4, 4, 4), (2, 2, 16)]
        .map(|(wg_x, wg_y, tile_k)| Tuning { wg_x, wg_y, tile_k, prefetch: false });
    // And with the register prefetch, where it fits (at most two staging items per invocation).
    let prefetched = [(16, 16, 16), (16, 16, 32), (8, 8, 16), (4, 4, 8)].map(|(wg_x, wg_y, tile_k)| Tuning {
        wg_x,
        wg_y,
        tile_k,
        prefetch: true,
    });
    let explicit = explicit.into_iter().chain(prefetched);
    for t in from_limits.into_iter().chain(explicit) {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The override constants the engine passes for one pipeline (`Kernel::constants`, from the
/// metric's definition, whether its terms are weighted, and the tuning), each of which the
/// module must declare.
fn constants(
    kernel: Kernel,
    module: &Module,
    metric: Metric,
    weighted: bool,
    tuning: &Tuning,
) -> naga::back::PipelineConstants {
    let declared: BTreeSet<&str> = module.overrides.iter().filter_map(|(_, o)| o.name.as_deref()).collect();
    let mut c = naga::back::PipelineConstants::default();
    for (name, value) in kernel.constants(metric, weighted, tuning) {
        assert!(declared.contains(name), "{}.wgsl does not declare the override {name}", kernel.name());
        c.insert(name.to_string(), value);
    }
    c
}

fn validate(module: &Module, dtype: Dtype) -> Result<ModuleInfo, Box<naga::WithSpan<naga::valid::ValidationError>>> {
    Validator::new(ValidationFlags::all(), capabilities(dtype)).validate(module).map_err(Box::new)
}

/// Parses and validates a kernel's full source in `dtype`; the error names the kernel, the
/// type and the stage.
fn front_end(kernel: Kernel, dtype: Dtype) -> Result<(String, Module, ModuleInfo), String> {
    let source = kernel.source(dtype);
    let path = format!("{}.wgsl ({dtype})", kernel.name());
    let module = naga::front::wgsl::parse_str(&source)
        .map_err(|e| format!("shader {path}: WGSL parse failed:\n{}", e.emit_to_string_with_path(&source, &path)))?;
    let info = validate(&module, dtype).map_err(|e| {
        format!("shader {path}: naga validation failed:\n{}", e.emit_to_string_with_path(&source, &path))
    })?;
    Ok((source, module, info))
}

#[test]
fn every_epilogue_validates_and_translates_to_every_backend() {
    let mut failures = Vec::new();
    for (epilogue, dtype) in Epilogue::ALL.into_iter().flat_map(|e| DTYPES.map(|t| (e, t))) {
        let source = epilogue.source(dtype);
        let path = format!("{}.wgsl ({dtype})", epilogue.name());
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("shader {path}: {}", e.emit_to_string_with_path(&source, &path)));
        let info = Validator::new(ValidationFlags::all(), epilogue_capabilities(dtype))
            .validate(&module)
            .unwrap_or_else(|e| panic!("shader {path}: {}", e.emit_to_string_with_path(&source, &path)));
        translate_all(&path, &module, &info, ("main", dtype == Dtype::F64), dtype, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_kernel_parses_and_validates() {
    let failures: Vec<String> =
        Kernel::ALL.iter().flat_map(|&k| DTYPES.map(|t| front_end(k, t).err())).flatten().collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_kernel_has_the_metric_overrides_and_one_compute_entry_point() {
    for (kernel, dtype) in Kernel::ALL.into_iter().flat_map(|k| DTYPES.map(|t| (k, t))) {
        let (_, module, _) = front_end(kernel, dtype).unwrap_or_else(|e| panic!("{e}"));
        let name = kernel.name();
        for wanted in ["TERM", "FINALIZE"] {
            assert!(
                module.overrides.iter().any(|(_, o)| o.name.as_deref() == Some(wanted)),
                "shader {name}.wgsl: no `override {wanted}` (is shaders/common/metric.wgsl prepended?)"
            );
        }
        let entries: Vec<_> = module.entry_points.iter().map(|e| (e.name.as_str(), e.stage)).collect();
        assert!(
            !entries.is_empty() && entries.iter().all(|&(_, s)| s == ShaderStage::Compute),
            "shader {name}.wgsl: expected compute entry points only, found {entries:?}"
        );
    }
}

/// Translates one specialised module with every backend that has `dtype` (and 64-bit integers
/// where the module uses them, `int64`: Vulkan and DX12's shader model 6, the backends where
/// wgpu offers SHADER_INT64), pushing a message per failure.
fn translate_all(
    label: &str,
    module: &Module,
    info: &ModuleInfo,
    (entry, int64): (&str, bool),
    dtype: Dtype,
    failures: &mut Vec<String>,
) {
    let mut fail = |backend: &str, err: &dyn std::fmt::Display| {
        failures.push(format!("shader {label}: {backend} translation failed: {err}"));
    };

    // SPIR-V (Vulkan).
    let spv_options = spv::Options { lang_version: (1, 3), ..spv::Options::default() };
    let spv_pipeline = spv::PipelineOptions { shader_stage: ShaderStage::Compute, entry_point: entry.to_string() };
    match spv::write_vec(module, info, &spv_options, Some(&spv_pipeline)) {
        Ok(words) if words.first() == Some(&0x0723_0203) => {}
        Ok(words) => fail("SPIR-V", &format!("output does not start with the SPIR-V magic ({} words)", words.len())),
        Err(e) => fail("SPIR-V", &e),
    }

    // Metal and GLSL ES have no f64.
    let f64 = dtype == Dtype::F64;

    // MSL (Metal).
    let msl_options = msl::Options { lang_version: (2, 0), ..msl::Options::default() };
    let msl_pipeline = msl::PipelineOptions {
        entry_point: Some((ShaderStage::Compute, entry.to_string())),
        ..msl::PipelineOptions::default()
    };
    // (naga's MSL writer panics on f64 rather than returning an error: not called for it.)
    if !f64 {
        match msl::write_string(module, info, &msl_options, &msl_pipeline) {
            Ok((text, _)) if text.contains("kernel") => {}
            Ok(_) => fail("MSL", &"output has no `kernel` function"),
            Err(e) => fail("MSL", &e),
        }
    }

    // HLSL (DX12), FXC's shader model 5.1 and DXC's 6.0 (64-bit integers: 6.0 only).
    let models =
        if int64 { &[hlsl::ShaderModel::V6_0][..] } else { &[hlsl::ShaderModel::V5_1, hlsl::ShaderModel::V6_0] };
    for &shader_model in models {
        let hlsl_options = hlsl::Options { shader_model, ..hlsl::Options::default() };
        let hlsl_pipeline = hlsl::PipelineOptions { entry_point: Some((ShaderStage::Compute, entry.to_string())) };
        let mut text = String::new();
        let mut writer = hlsl::Writer::new(&mut text, &hlsl_options, &hlsl_pipeline);
        match writer.write(module, info, None) {
            Ok(_) if text.contains("numthreads") => {}
            Ok(_) => fail(&format!("HLSL {shader_model:?}"), &"output has no [numthreads]"),
            Err(e) => fail(&format!("HLSL {shader_model:?}"), &e),
        }
    }

    // GLSL (GL / GLES): the compute-capable versions (none for 64-bit integers).
    let versions = if int64 {
        &[][..]
    } else if f64 {
        &[glsl::Version::Desktop(430)][..]
    } else {
        &[glsl::Version::new_gles(310), glsl::Version::Desktop(430)]
    };
    for &version in versions {
        let glsl_options = glsl::Options { version, ..glsl::Options::default() };
        let glsl_pipeline = glsl::PipelineOptions {
            shader_stage: ShaderStage::Compute,
            entry_point: entry.to_string(),
            multiview: None,
        };
        let mut text = String::new();
        let result = glsl::Writer::new(
            &mut text,
            module,
            info,
            &glsl_options,
            &glsl_pipeline,
            naga::proc::BoundsCheckPolicies::default(),
        )
        .and_then(|mut w| w.write());
        match result {
            Ok(_) if text.contains("local_size_x") => {}
            Ok(_) => fail(&format!("GLSL {version}"), &"output has no local_size_x layout"),
            Err(e) => fail(&format!("GLSL {version}"), &e),
        }
    }
}

#[test]
fn every_kernel_translates_to_every_backend_with_every_override_set() {
    let tunings = tunings();
    let mut failures = Vec::new();
    let mut translated = 0;
    for (kernel, dtype) in Kernel::ALL.into_iter().flat_map(|k| DTYPES.map(|t| (k, t))) {
        let (source, module, info) = match front_end(kernel, dtype) {
            Ok(parsed) => parsed,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let uses_tuning = module.overrides.iter().any(|(_, o)| o.name.as_deref() == Some("WG_X"));
        // The f32 tunings as a pipeline in `dtype` takes them (f64: half the TILE_K).
        let typed: Vec<Tuning> = tunings.iter().map(|t| t.for_dtype(dtype)).collect();
        let kernel_tunings: &[Tuning] = if uses_tuning { &typed } else { &typed[..1] };
        // Weighted pipelines: the metrics whose weights multiply the terms in the kernel.
        let pipelines = Metric::KERNELS.into_iter().flat_map(|m| {
            let weighted = matches!(
                m,
                Metric::SqEuclidean
                    | Metric::Euclidean
                    | Metric::Cityblock
                    | Metric::Minkowski { .. }
                    | Metric::Canberra
                    | Metric::Hamming
            );
            [(m, false)].into_iter().chain(weighted.then_some((m, true)))
        });
        for (metric, weighted) in pipelines {
            for tuning in kernel_tunings {
                let constants = constants(kernel, &module, metric, weighted, tuning);
                let mut keys: Vec<_> = constants.iter().map(|(k, v)| format!("{k}={v}")).collect();
                keys.sort();
                let label = format!("{}.wgsl {dtype} [{}]", kernel.name(), keys.join(", "));
                for entry in module.entry_points.iter().map(|e| e.name.clone()) {
                    let specialised = naga::back::pipeline_constants::process_overrides(
                        &module,
                        &info,
                        Some((ShaderStage::Compute, &entry)),
                        &constants,
                    );
                    let (module, info) = match specialised {
                        Ok(pair) => pair,
                        Err(e) => {
                            let detail = match &e {
                                naga::back::pipeline_constants::PipelineConstantError::ValidationError(v) => {
                                    v.emit_to_string_with_path(&source, &label)
                                }
                                other => other.to_string(),
                            };
                            failures.push(format!("shader {label}: process_overrides failed: {detail}"));
                            continue;
                        }
                    };
                    // The specialised module must itself be valid (sizes now concrete).
                    if let Err(e) = validate(&module, dtype) {
                        failures.push(format!(
                            "shader {label}: specialised module does not validate: {}",
                            e.emit_to_string(&source)
                        ));
                        continue;
                    }
                    translate_all(&label, &module, &info, (&entry, false), dtype, &mut failures);
                    translated += 1;
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n\n"));
    assert!(translated >= 2 * Kernel::ALL.len() * Metric::KERNELS.len());
}

fn shader_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders")
}

fn wgsl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "common") && dir == shader_dir() {
                continue; // shared snippets, prepended to kernels
            }
            wgsl_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "wgsl") {
            out.push(path);
        }
    }
}

#[test]
fn every_shader_file_is_a_kernel_and_every_kernel_a_file() {
    let dir = shader_dir();
    let mut files = Vec::new();
    wgsl_files(&dir, &mut files);
    assert!(!files.is_empty(), "no .wgsl files under {}", dir.display());
    for file in &files {
        let rel = file.strip_prefix(&dir).unwrap().with_extension("");
        let text = std::fs::read_to_string(file).unwrap();
        if let Some(epilogue) = Epilogue::ALL.iter().find(|e| Path::new(e.name()) == rel) {
            assert_eq!(epilogue.body().trim(), text.trim(), "{} is not the epilogue the crate builds", file.display());
            continue;
        }
        let kernel = Kernel::ALL.iter().find(|k| Path::new(k.name()) == rel);
        let kernel = kernel.unwrap_or_else(|| {
            panic!(
                "shader {} is neither a Kernel (Kernel::ALL names: {:?}) nor an epilogue: add it to src/gpu/shaders.rs and here so it is built and tested",
                file.display(),
                Kernel::ALL.map(|k| k.name())
            )
        });
        assert!(
            DTYPES.iter().all(|&t| kernel.source(t).contains(text.trim())),
            "Kernel::{kernel:?}.source(..) does not contain {} (wrong include_str! path?)",
            file.display()
        );
    }
    for kernel in Kernel::ALL {
        let path = dir.join(format!("{}.wgsl", kernel.name()));
        assert!(path.is_file(), "Kernel::{kernel:?} has no file {}", path.display());
    }
}

/// The Vulkan extended instruction set (GLSL.std.450) has no 64-bit Log, Exp or Pow, and WGSL
/// defines them for f16 and f32 only: a float64 module that called one, even in a branch its
/// overrides never take, would be invalid SPIR-V that a driver may reject or miscompile. The
/// f64 kernels use common/f64.wgsl's versions instead; this holds them to it.
#[test]
fn float64_kernels_call_no_f64_log_exp_or_pow() {
    use naga::{Expression, MathFunction as Mf, ScalarKind};
    for kernel in Kernel::ALL {
        let (_, module, info) = front_end(kernel, Dtype::F64).unwrap_or_else(|e| panic!("{e}"));
        let functions = module.functions.iter().map(|(h, f)| (f, &info[h]));
        let entries = module.entry_points.iter().enumerate().map(|(i, e)| (&e.function, info.get_entry_point(i)));
        let mut found = Vec::new();
        for (function, function_info) in functions.chain(entries) {
            for (handle, expression) in function.expressions.iter() {
                let Expression::Math { fun, arg, .. } = expression else { continue };
                if !matches!(fun, Mf::Log | Mf::Log2 | Mf::Exp | Mf::Exp2 | Mf::Pow) {
                    continue;
                }
                let scalar = function_info[*arg].ty.inner_with(&module.types).scalar();
                if scalar.is_some_and(|s| s.kind == ScalarKind::Float && s.width == 8) {
                    found.push(format!("{fun:?} in {:?} ({handle:?})", function.name));
                }
            }
        }
        assert!(found.is_empty(), "{}.wgsl in f64 calls {}", kernel.name(), found.join(", "));
        // And the test can see such a call: the f32 module's logarithm is the builtin.
        let (_, module, _) = front_end(kernel, Dtype::F32).unwrap_or_else(|e| panic!("{e}"));
        let calls_log = module
            .functions
            .iter()
            .any(|(_, f)| f.expressions.iter().any(|(_, e)| matches!(e, Expression::Math { fun: Mf::Log, .. })));
        assert!(calls_log, "{}.wgsl in f32 has no log: is the test looking in the right place?", kernel.name());
    }
}

/// Every step of a metric's definition (`Term::ALL`, `Merge::ALL`, `Finalize::ALL`) has its
/// body in the WGSL kernels: `shaders/common/metric.wgsl` names each step's generated constant
/// (a `case` of its `switch`, or a test of it). A step added to the Rust definitions without a
/// WGSL body fails here, not silently as the default case.
#[test]
fn every_step_of_every_definition_has_a_wgsl_body() {
    use pairdist::{Finalize, Merge, Term};
    let source = std::fs::read_to_string(shader_dir().join("common/metric.wgsl")).unwrap();
    let names: Vec<&str> = Term::ALL
        .iter()
        .map(|t| t.wgsl_name())
        .chain(Merge::ALL.iter().filter(|&&m| m != Merge::Sum).map(|m| m.wgsl_name()))
        .chain(Finalize::ALL.iter().map(|f| f.wgsl_name()))
        .collect();
    for name in names {
        assert!(
            source.contains(&format!("case {name}")) || source.contains(&format!("== {name}")),
            "shaders/common/metric.wgsl has no body for {name}"
        );
    }
    // The ids are declared once, from the Rust side, and every kernel sees them.
    for kernel in Kernel::ALL {
        for dtype in DTYPES {
            assert!(kernel.source(dtype).contains(&pairdist::wgsl_ids()));
        }
    }
    assert!(!source.contains("case 1u"), "metric.wgsl names the steps' ids, never their numbers");
}
