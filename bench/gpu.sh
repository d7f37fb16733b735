#!/usr/bin/env bash
# The GPU check, one short script for a lent GPU machine (see bench/README.md for recorded results):
# which execution provider opens, fp16/bf16 numerics there against the float64 reference on a tiny
# checkpoint, then the LLaVA-1.5-7B-shaped benchmark on that provider with 16-bit weights.
# Needs node_modules (npm ci) and, for WebGPU on Linux, a Vulkan loader; CUDA needs onnxruntime-node's
# CUDA binaries (ONNXRUNTIME_NODE_INSTALL=cuda12 at install time, which needs the network).
set -uo pipefail
cd "$(dirname "$0")/.."
provider="${1:-auto}"
echo "== provider probe (--provider $provider)"
nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
node bin/fusionscope.mjs info --provider "$provider" --model-cache "${TMPDIR:-/tmp}/fusionscope-gpu-cache" \
  | grep -E '"executionProvider"|fallback|cuda:|webgpu:|dml:|coreml:' || true
echo "== numerics on $provider"
npx tsx bench/gpuNumerics.ts --provider "$provider"
echo "== LLaVA-1.5-7B shape on $provider, fp16"
npx tsx bench/run.ts --shape llava-1.5-7b --provider "$provider" --precision fp16
