//! `error_parsing`: see `appmesh_conformance::fuzzing::error_parsing` for what it checks and its input format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| appmesh_conformance::fuzzing::error_parsing(data));
