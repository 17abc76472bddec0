#!/usr/bin/env bash
# Builds the images kubekit's local node runs, from Debian packages and the project's own
# sources, as docker archives in the image cache. No registry is involved.
#
#   kubekit-testing/images/build-images.sh [OUT_DIR]    (default ~/.cache/kubekit/images)
#
# Images (tagged for what they contain):
#   kubekit.local/pause:<version>        the pod sandbox: pause.c, compiled statically
#   kubekit.local/toolbox:busybox-<ver>  Debian's busybox-static, for exec and log tests
#   kubekit.local/nginx-debian:<ver>     Debian bookworm's nginx-light with curl and bash
# A stamp of the inputs (these files and the package versions) skips work already done.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/kubekit/images}
mkdir -p "$out"
start=$(date +%s)
say() { printf '[kubekit images %4ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

PAUSE_VERSION=kubekit-1
SUITE=bookworm
MIRROR=${KUBEKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}

for tool in gcc python3 mmdebstrap busybox; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing; run scripts/setup.sh (or apt-get install gcc libc6-dev python3 mmdebstrap busybox-static)" >&2; exit 1; }
done
inputs=$(cat "$here/build-images.sh" "$here/image.py" "$here/pause.c" | sha256sum | cut -c1-16)

stamp_ok() { [[ -f $out/$1.tar && -f $out/$1.stamp && $(cat "$out/$1.stamp") == "$2" ]]; }

# pause
if stamp_ok pause "$inputs"; then say "pause: cached"; else
  tmp=$(mktemp -d)
  gcc -static -Os -o "$tmp/pause" "$here/pause.c"
  strip "$tmp/pause"
  python3 "$here/image.py" --out "$out/pause.tar" --ref "kubekit.local/pause:$PAUSE_VERSION" \
    --file "$tmp/pause:/pause:755" --cmd '["/pause"]'
  echo "kubekit.local/pause:$PAUSE_VERSION" > "$out/pause.ref"
  echo "$inputs" > "$out/pause.stamp"; rm -rf "$tmp"; say "pause: built"
fi

# toolbox
bb_version=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || busybox | head -1 | awk '{print $2}')
bb_tag=$(echo "busybox-$bb_version" | tr '+~:' '___')
if stamp_ok toolbox "$inputs $bb_version"; then say "toolbox: cached"; else
  links=()
  for applet in $(busybox --list); do
    [[ $applet == busybox ]] || links+=(--symlink "/bin/busybox:/bin/$applet")
  done
  python3 "$here/image.py" --out "$out/toolbox.tar" --ref "kubekit.local/toolbox:$bb_tag" \
    --file "$(command -v busybox):/bin/busybox:755" "${links[@]}" --cmd '["/bin/sh"]'
  echo "kubekit.local/toolbox:$bb_tag" > "$out/toolbox.ref"
  echo "$inputs $bb_version" > "$out/toolbox.stamp"; say "toolbox: built"
fi

# nginx (with curl and bash, for the walkthrough's `curl localhost` from an exec)
nginx_stamp="$inputs $SUITE"
if stamp_ok nginx "$nginx_stamp"; then say "nginx: cached"; else
  tmp=$(mktemp -d)
  say "nginx: mmdebstrap $SUITE nginx-light curl (downloads from $MIRROR)"
  mmdebstrap --quiet --variant=essential --include=nginx-light,curl,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='chroot "$1" sh -c "ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log"' \
    --customize-hook='chroot "$1" dpkg-query -W -f="\${Version}" nginx-light > "$1/.nginx-version"' \
    --customize-hook='copy-out /.nginx-version '"$tmp" \
    --customize-hook='rm -f "$1/.nginx-version"; rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    "$SUITE" "$tmp/rootfs.tar" "$MIRROR"
  nginx_version=$(cat "$tmp/.nginx-version")
  nginx_tag=$(echo "$nginx_version" | tr '+~:' '___')
  python3 "$here/image.py" --out "$out/nginx.tar" --ref "kubekit.local/nginx-debian:$nginx_tag" \
    --layer "$tmp/rootfs.tar" --cmd '["nginx","-g","daemon off;"]' --stop-signal SIGQUIT
  echo "kubekit.local/nginx-debian:$nginx_tag" > "$out/nginx.ref"
  echo "$nginx_stamp" > "$out/nginx.stamp"; rm -rf "$tmp"; say "nginx: built ($nginx_version)"
fi
say "images in $out: $(cat "$out"/*.ref | tr '\n' ' ')"
