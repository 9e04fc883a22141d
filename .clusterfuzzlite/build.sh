#!/bin/bash -eu
# Builds the in-process fuzz targets with the sanitizer ClusterFuzzLite asks for and copies them,
# with their committed seed corpora, to $OUT. The `endpoint` target needs a live target
# (APPMESH_ENDPOINT) and is left to campaigns run by hand.
cd "$SRC/appmesh-conformance/fuzz"
cargo fuzz build -O
release=target/x86_64-unknown-linux-gnu/release
for target in emulator_request validator error_parsing response_check; do
  cp "$release/$target" "$OUT/"
  cp appmesh.dict "$OUT/$target.dict"
  (cd "corpus/$target" && zip -q "$OUT/${target}_seed_corpus.zip" ./*)
done
