#!/usr/bin/env bash
# deps.sh checks that this machine has what `make test` needs: the Debian
# packages below and a new enough Go. As root it installs missing packages;
# otherwise it prints the command to run and fails.
set -euo pipefail

# Debian packages the build and the tests need. Later issues add the ones
# their tests start for real: mosquitto, postgresql, socat, chromium, xvfb,
# etc.
PACKAGES=(
	gcc        # cgo, for go test -race
	libc6-dev  # cgo headers
	git        # version stamping, gofmt file list
	ca-certificates
	socat      # pty pairs for the serial driver tests (scanner, ECR, printer)
	mosquitto  # external broker for hub/mqttlink tests (each starts its own on a free port; never the system service on 1883)
	# The counter window (Fyne: cgo OpenGL and X11) and its tests.
	pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
	xvfb xauth libgl1-mesa-dri  # the real window under a virtual X server (Mesa's software GL)
	xdotool                     # simulated keystrokes (a keyboard-wedge scanner) in the window test
	xclip                       # a screenshot put on the X clipboard, pasted into the window
	imagemagick                 # import: screenshots of the window
	fonts-noto-cjk              # Chinese glyphs for the window (Fyne falls back to system fonts)
	libasound2-dev              # ALSA headers: drivers/sound plays the verdict sounds through oto (cgo); its test captures them with ALSA's file plugin
	# The HQ dashboard's end-to-end tests (internal/e2e, chromedp): headless Chromium at /usr/bin/chromium.
	chromium
	fonts-liberation            # Arial/Helvetica/Times metrics for the dashboard's screenshots (Chromium recommends it; CJK comes from fonts-noto-cjk above)
)

# The oldest Go that builds this module (go.mod's go line).
GO_MIN_MAJOR=1
GO_MIN_MINOR=26

fail=0

check_packages() {
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "deps: dpkg-query not found; not a Debian system, so make sure these are installed: ${PACKAGES[*]}" >&2
		return
	fi
	local missing=() pkg status
	for pkg in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		if [[ "$status" != "install ok installed" ]]; then
			missing+=("$pkg")
		fi
	done
	if ((${#missing[@]} == 0)); then
		echo "deps: Debian packages present: ${PACKAGES[*]}"
		return
	fi
	if [[ "$(id -u)" -ne 0 ]]; then
		echo "deps: missing Debian packages: ${missing[*]}" >&2
		echo "deps: install them with:" >&2
		echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
		fail=1
		return
	fi
	echo "deps: installing missing Debian packages: ${missing[*]}"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

check_go() {
	if ! command -v go >/dev/null 2>&1; then
		echo "deps: go is not on PATH; install go${GO_MIN_MAJOR}.${GO_MIN_MINOR} or newer from https://go.dev/dl/ and add its bin directory to PATH" >&2
		fail=1
		return
	fi
	local v major minor
	v=$(go env GOVERSION)
	if [[ ! "$v" =~ ^go([0-9]+)\.([0-9]+) ]]; then
		echo "deps: cannot read the Go version from 'go env GOVERSION' ($v); need go${GO_MIN_MAJOR}.${GO_MIN_MINOR} or newer" >&2
		fail=1
		return
	fi
	major=${BASH_REMATCH[1]}
	minor=${BASH_REMATCH[2]}
	if ((major < GO_MIN_MAJOR || (major == GO_MIN_MAJOR && minor < GO_MIN_MINOR))); then
		echo "deps: $(command -v go) is $v; need go${GO_MIN_MAJOR}.${GO_MIN_MINOR} or newer (https://go.dev/dl/)" >&2
		fail=1
		return
	fi
	echo "deps: $v at $(command -v go)"
}

check_packages
check_go
exit "$fail"
