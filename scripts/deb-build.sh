#!/bin/sh
# Build the Debian package from this tree into OUT (make deb).
#   scripts/deb-build.sh OUT
# dpkg-buildpackage writes its results into the parent of the tree it
# builds, so it builds a copy in OUT/src and the .deb, .buildinfo and
# .changes land in OUT, never beside the checkout.  The copy holds the
# files git knows of (tracked, or new and not ignored) as they are now,
# so `make deb` packages the working tree, and a build/ left in the
# checkout cannot leak into the package.
set -eu
out=${1:?usage: $0 OUT}
cd "$(dirname "$0")/.."
rm -rf "$out"
mkdir -p "$out/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf - | tar -xf - -C "$out/src"
else
	tar --exclude=./build -cf - . | tar -xf - -C "$out/src"
fi
# Quiet on success; the log is kept for when it fails.
if ! (cd "$out/src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -40 "$out/build.log" >&2
	echo "deadlined: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
	exit 1
fi
ls "$out"/*.deb
