//! The shader registry and naga validation of every kernel module (CPU only).
//!
//! `runtime/src/shaders.rs` compiles each `.wgsl` file in with `include_str!`;
//! these tests check that no file on disk is missing from the registry and
//! that every family, prefixed as the engine prefixes it, is valid WGSL at
//! both weight precisions before any GPU sees it.

use std::collections::BTreeSet;
use std::path::Path;

use naga::valid::{Capabilities, ValidationFlags, Validator};
use patchrt::WeightPrecision;
use patchrt::shaders::{self, ShaderFile};

/// `shaders/` at the workspace root.
fn shader_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shaders"))
}

#[test]
fn registry_lists_every_wgsl_file_on_disk() {
    let dir = shader_dir();
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let on_disk: BTreeSet<String> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.extension().is_some_and(|ext| ext == "wgsl"))
        .map(|path| {
            path.file_stem()
                .and_then(|s| s.to_str())
                .expect("UTF-8 shader file name")
                .to_string()
        })
        .collect();
    let registered: BTreeSet<String> = shaders::ALL.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(
        registered.len(),
        shaders::ALL.len(),
        "shaders::ALL names a file twice"
    );
    assert_eq!(
        registered,
        on_disk,
        "shaders::ALL (left) differs from the .wgsl files in {} (right)",
        dir.display()
    );
}

#[test]
fn registered_sources_match_the_files_on_disk() {
    for file in shaders::ALL {
        let path = shader_dir().join(format!("{}.wgsl", file.name));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        assert_eq!(
            file.source, text,
            "{}: compiled-in source differs from the file",
            file.name
        );
    }
}

#[test]
fn families_are_files_with_entry_points() {
    for family in shaders::FAMILIES {
        assert!(
            shaders::ALL.contains(&family),
            "{} is a family but not in shaders::ALL",
            family.name
        );
        assert!(
            family.source.contains("@compute"),
            "{} has no @compute entry point",
            family.name
        );
    }
    for kernel in patchrt::ops::Kernel::ALL {
        let family = kernel.family();
        assert!(
            shaders::FAMILIES.contains(&family),
            "{kernel:?} lives in {}, not a family",
            family.name
        );
        let decl = format!("fn {}(", kernel.entry_point());
        assert!(
            family.source.contains(&decl),
            "{}.wgsl has no `{decl}`",
            family.name
        );
    }
}

/// Parses and validates one family at one precision, panicking with naga's
/// rendered diagnostic (source line and caret) on failure.
fn validate(family: ShaderFile, precision: WeightPrecision) -> naga::Module {
    let source = shaders::module_source(family, precision);
    let what = format!("{} ({precision:?} weights)", family.name);
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{what} does not parse:\n{}", e.emit_to_string(&source)));
    Validator::new(ValidationFlags::all(), Capabilities::all())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{what} does not validate:\n{}", e.emit_to_string(&source)));
    module
}

#[test]
fn every_family_validates_with_f32_weights() {
    for family in shaders::FAMILIES {
        validate(family, WeightPrecision::F32);
    }
}

#[test]
fn every_family_validates_with_f16_weights() {
    for family in shaders::FAMILIES {
        validate(family, WeightPrecision::F16);
    }
}

#[test]
fn every_entry_point_is_a_compute_shader_in_its_family() {
    for kernel in patchrt::ops::Kernel::ALL {
        for precision in [WeightPrecision::F32, WeightPrecision::F16] {
            let module = validate(kernel.family(), precision);
            let entry = module
                .entry_points
                .iter()
                .find(|e| e.name == kernel.entry_point());
            let entry = entry
                .unwrap_or_else(|| panic!("{kernel:?}: no entry point {}", kernel.entry_point()));
            assert_eq!(
                entry.stage,
                naga::ShaderStage::Compute,
                "{kernel:?} is not a compute entry point"
            );
        }
    }
}
