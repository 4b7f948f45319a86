#!/usr/bin/env bash
# Builds the real control plane the conformance run uses (and Kueue's manager, which it runs beside it),
# from Go modules only (the Go module proxy),
# into a cache folder outside the checkout, keyed by the pinned versions. A warm cache returns at once.
#
#   conformance/build-control-plane.sh            build (or reuse) and print the bin folder
#   ML_PLATFORM_CONTROL_PLANE_CACHE=<dir> ...     cache root (default ~/.cache/ml-platform/control-plane)
#
# A cold build on 2 cores took 7 minutes here (the Kubernetes binaries dominate) and about 5 GB of
# module and Go build cache; progress is printed as each component starts and ends.
set -euo pipefail

# The pins: one place. conformance/controlPlane.ts reads them through --versions (never restated).
K8S_VERSION="v1.34.4"      # k8s.io/kubernetes; the stacks' minor is 1.34
ETCD_VERSION="v3.6.16"     # go.etcd.io/etcd/server/v3
KWOK_VERSION="v0.7.0"      # sigs.k8s.io/kwok (go 1.24, no replace directives)
KUEUE_VERSION="v0.17.0"    # sigs.k8s.io/kueue's manager; equals facts/versions.ts kueue.tag (a test holds them equal)

if [[ "${1:-}" == "--versions" ]]; then
  printf 'kubernetes=%s\netcd=%s\nkwok=%s\nkueue=%s\n' "$K8S_VERSION" "$ETCD_VERSION" "$KWOK_VERSION" "$KUEUE_VERSION"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "build-control-plane: Go is required (go 1.24 or newer on PATH) to build kube-apiserver, etcd and kwok; none found" >&2
  exit 3
fi

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
CACHE_ROOT="${ML_PLATFORM_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ml-platform/control-plane}"
KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_$(go env GOOS)-$(go env GOARCH)"
DEST="$CACHE_ROOT/$KEY"
BIN="$DEST/bin"
WORK="$DEST/work"
mkdir -p "$BIN" "$WORK"

start=$(date +%s)
say() { printf '[build-control-plane %4ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

have() { [[ -x "$BIN/$1" && -f "$BIN/$1.ok" ]]; }
# Kueue is not in the cache key (a new pin must not rebuild Kubernetes): its .ok file holds the version built.
have_kueue() { [[ -x "$BIN/kueue" && "$(cat "$BIN/kueue.ok" 2>/dev/null)" == "$KUEUE_VERSION" ]]; }

K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler)

build_kubernetes() {
  local mod="$WORK/kubernetes"
  mkdir -p "$mod"
  say "kubernetes $K8S_VERSION: resolving k8s.io/kubernetes and its staging modules"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f "$gomod" ]] || { echo "build-control-plane: could not download k8s.io/kubernetes@$K8S_VERSION's go.mod" >&2; exit 1; }
  local minor="${K8S_VERSION#v1.}"        # 34.4
  local staging="v0.${minor}"              # v0.34.4
  # Every k8s.io module the tag replaces with ./staging/... is published as k8s.io/<name> v0.<minor>.<patch>.
  local replaces
  replaces=$(awk '/^replace \(/{r=1;next} r&&/^\)/{r=0} r&&$1 ~ /^k8s\.io\// && $3 ~ /^\.\/staging\//{print $1}' "$gomod")
  local godebug
  godebug=$(grep -E '^godebug ' "$gomod" || true)
  {
    echo "module ml-platform.local/control-plane/kubernetes"
    echo
    echo "go 1.24.0"
    echo
    [[ -n "$godebug" ]] && { echo "$godebug"; echo; }
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    for m in $replaces; do echo "	$m => $m $staging"; done
    echo ")"
  } > "$mod/go.mod"
  say "kubernetes: $(echo "$replaces" | wc -w) staging modules replaced with their published $staging"
  ( cd "$mod" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" >/dev/null )
  local major minor_only
  major="${K8S_VERSION#v}"; major="${major%%.*}"
  minor_only="${minor%%.*}"
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor_only -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  say "kubernetes: compiling ${K8S_BINS[*]} (the slow part: about 5 minutes cold on 2 cores)"
  ( cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$BIN/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler )
  for b in "${K8S_BINS[@]}"; do echo "$K8S_VERSION" > "$BIN/$b.ok"; done
  say "kubernetes: done ($("$BIN/kube-apiserver" --version))"
}

build_etcd() {
  local mod="$WORK/etcd"
  mkdir -p "$mod"
  printf 'module ml-platform.local/control-plane/etcd\n\ngo 1.24.0\n' > "$mod/go.mod"
  say "etcd $ETCD_VERSION: resolving"
  ( cd "$mod" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null )
  say "etcd: compiling"
  ( cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3 )
  echo "$ETCD_VERSION" > "$BIN/etcd.ok"
  say "etcd: done ($("$BIN/etcd" --version | head -1))"
}

build_kwok() {
  say "kwok $KWOK_VERSION: compiling (go install, no replace directives)"
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  echo "$KWOK_VERSION" > "$BIN/kwok.ok"
  say "kwok: done"
}

build_kueue() {
  say "kueue $KUEUE_VERSION: compiling the manager (go install; about 6 minutes cold on 2 cores)"
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kueue/cmd/kueue@$KUEUE_VERSION"
  echo "$KUEUE_VERSION" > "$BIN/kueue.ok"
  say "kueue: done"
}

all_ok=1
for b in "${K8S_BINS[@]}" etcd kwok; do have "$b" || all_ok=0; done
have_kueue || all_ok=0
if [[ $all_ok == 1 ]]; then
  say "cached: $BIN"
else
  say "building into $DEST (Go $(go env GOVERSION), module cache $(go env GOMODCACHE))"
  have etcd || build_etcd
  have kwok || build_kwok
  have_kueue || build_kueue
  k8s_ok=1; for b in "${K8S_BINS[@]}"; do have "$b" || k8s_ok=0; done
  [[ $k8s_ok == 1 ]] || build_kubernetes
  say "all built: $BIN"
fi
echo "$BIN"
