//! `response_check`: see `appmesh_conformance::fuzzing::response_check` for what it checks and its input format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| appmesh_conformance::fuzzing::response_check(data));
