#!/bin/sh
# Every source file with translatable strings (_("...")) is listed in po/POTFILES,
# and every listed file exists.
set -eu
cd "$(dirname "$0")/.."
status=0
for f in $(grep -rlE '[^A-Za-z0-9_]_ ?\("' --include='*.c' svilm-core gst-plugin train tools 2>/dev/null | sort); do
  if ! grep -qx "$f" po/POTFILES; then
    echo "po/POTFILES is missing $f"
    status=1
  fi
done
while read -r f; do
  [ -z "$f" ] && continue
  case "$f" in \#*) continue ;; esac
  if [ ! -f "$f" ]; then
    echo "po/POTFILES lists $f, which does not exist"
    status=1
  fi
done < po/POTFILES
[ $status -eq 0 ] && echo "po/POTFILES is current"
exit $status
